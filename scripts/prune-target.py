#!/usr/bin/env python3
"""Keeps the shared debug build directory from filling the disk: every change
leaves a new copy of each changed workspace crate and test binary beside the
old ones, and CI clones reuse the directory. Of the files cargo names
`<crate>-<hash>`, keeps the newest of each workspace crate, test, example and
binary, and removes older ones not touched for MAX_AGE_HOURS (default 6), so
nothing the current build uses goes away.

Dependencies are left alone. One name there often has several live builds
(two versions of a crate, or one crate with two feature sets for build
scripts and for the code), and cargo does not touch a build it reuses, so
"older than the newest" said nothing about use: pruning them made every CI
run rebuild 30 to 400 dependencies. They change only with Cargo.lock."""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time

target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/voice-console/target"))
max_age = float(os.environ.get("MAX_AGE_HOURS", "6")) * 3600
dry_run = "--dry-run" in sys.argv
named = re.compile(r"^(.*)-([0-9a-f]{16})(\..*)?$")


def workspace_names():
    """The names cargo gives the workspace's own files: packages and targets,
    as written and with `-` as `_`."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
        capture_output=True, text=True, check=True).stdout)
    names = set()
    for package in meta["packages"]:
        for name in [package["name"]] + [t["name"] for t in package["targets"]]:
            names.update((name, name.replace("-", "_")))
    return names


def is_ours(name, ours):
    return name in ours or (name.startswith("lib") and name[3:] in ours)


ours = workspace_names()
freed = 0
for sub in ("deps", "examples", "build", ".fingerprint"):
    folder = os.path.join(target, "debug", sub)
    if not os.path.isdir(folder):
        continue
    groups = collections.defaultdict(list)
    for name in os.listdir(folder):
        match = named.match(name)
        if match and is_ours(match.group(1), ours):
            path = os.path.join(folder, name)
            groups[(match.group(1), match.group(3) or "")].append((os.lstat(path).st_mtime, path))
    now = time.time()
    for versions in groups.values():
        versions.sort(reverse=True)
        for mtime, path in versions[1:]:
            if now - mtime < max_age:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
                if not dry_run:
                    shutil.rmtree(path, ignore_errors=True)
            else:
                size = os.lstat(path).st_size
                if not dry_run:
                    os.remove(path)
            freed += size
            if dry_run:
                print(path)
verb = "would prune" if dry_run else "pruned"
print(f"{verb} {freed / 1e9:.1f} GB of old workspace build files from {target}/debug",
      file=sys.stderr)
