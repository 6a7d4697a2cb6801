#!/usr/bin/env python3
"""Keeps the shared debug build directory from filling the disk: every change
leaves a new copy of each changed crate and test binary beside the old ones,
and CI clones reuse the directory. Of the files cargo names `<crate>-<hash>`,
keeps the newest of each crate and removes older ones not touched for
MAX_AGE_HOURS (default 6), so nothing the current build uses goes away."""
import collections
import os
import re
import shutil
import sys
import time

target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/voice-console/target"))
max_age = float(os.environ.get("MAX_AGE_HOURS", "6")) * 3600
named = re.compile(r"^(.*)-([0-9a-f]{16})(\..*)?$")
freed = 0
for sub in ("deps", "examples", "build", ".fingerprint"):
    folder = os.path.join(target, "debug", sub)
    if not os.path.isdir(folder):
        continue
    groups = collections.defaultdict(list)
    for name in os.listdir(folder):
        match = named.match(name)
        if match:
            path = os.path.join(folder, name)
            groups[(match.group(1), match.group(3) or "")].append((os.lstat(path).st_mtime, path))
    now = time.time()
    for versions in groups.values():
        versions.sort(reverse=True)
        for mtime, path in versions[1:]:
            if now - mtime < max_age:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                freed += sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
                shutil.rmtree(path, ignore_errors=True)
            else:
                freed += os.lstat(path).st_size
                os.remove(path)
print(f"pruned {freed / 1e9:.1f} GB of old build files from {target}/debug", file=sys.stderr)
