#!/usr/bin/env python3
"""Draws the console's icon (five voice bars on the accent colour) as
public/favicon.svg, icon-192.png, icon-512.png and favicon.ico. Pure Python so
that no image tool is needed: rerun after changing the shapes below."""
import struct
import zlib
from pathlib import Path

ACCENT = (0x1F, 0x5F, 0xBF)
WHITE = (0xFF, 0xFF, 0xFF)
# On a 64-unit square: the tile, then the bars (x, y, width, height), all round-ended.
TILE = (0, 0, 64, 64, 14)
BARS = [(11, 26, 6, 12), (20, 19, 6, 26), (29, 12, 6, 40), (38, 19, 6, 26), (47, 26, 6, 12)]
PUBLIC = Path(__file__).resolve().parent.parent / "public"


def svg():
    bars = "".join(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{w / 2:g}"/>' for x, y, w, h in BARS
    )
    x, y, w, h, r = TILE
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{r}" fill="#1f5fbf"/>'
        f'<g fill="#fff">{bars}</g></svg>\n'
    )


def inside(px, py, x, y, w, h, r):
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return x <= px <= x + w and y <= py <= y + h and (px - cx) ** 2 + (py - cy) ** 2 <= r * r


def pixels(size, samples=4):
    rows = []
    for j in range(size):
        row = bytearray([0])  # PNG filter: none
        for i in range(size):
            acc = [0, 0, 0, 0]
            for sj in range(samples):
                for si in range(samples):
                    px = (i + (si + 0.5) / samples) * 64 / size
                    py = (j + (sj + 0.5) / samples) * 64 / size
                    if not inside(px, py, *TILE):
                        continue
                    bar = any(inside(px, py, x, y, w, h, w / 2) for x, y, w, h in BARS)
                    colour = WHITE if bar else ACCENT
                    for k in range(3):
                        acc[k] += colour[k]
                    acc[3] += 255
            n = samples * samples
            covered = acc[3] // 255
            rgb = [c // covered if covered else 0 for c in acc[:3]]
            row += bytes(rgb + [acc[3] // n])
        rows.append(bytes(row))
    return b"".join(rows)


def png(size):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels(size), 9))
        + chunk(b"IEND", b"")
    )


def ico(sizes):
    images = [png(s) for s in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for s, image in zip(sizes, images):
        out += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return out + b"".join(images)


if __name__ == "__main__":
    (PUBLIC / "favicon.svg").write_text(svg())
    (PUBLIC / "icon-192.png").write_bytes(png(192))
    (PUBLIC / "icon-512.png").write_bytes(png(512))
    (PUBLIC / "favicon.ico").write_bytes(ico([16, 32]))
