"""Draw Grapevine's app icons (PNG) with nothing but the standard library.

    python tools/make_icons.py   # writes web/icons/*.png

A cluster of grapes on the brand purple. The maskable icon keeps the cluster inside the
central 80% safe zone, as launchers crop to circles and squircles.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PURPLE = (75, 46, 131)
GRAPE = (196, 170, 240)
GRAPE_EDGE = (150, 118, 212)
LEAF = (134, 199, 120)
OUT = Path(__file__).resolve().parent.parent / "web" / "icons"

# Grapes as (x, y, r) in a unit square, top row widest; a leaf above.
GRAPES = [
    (0.34, 0.40, 0.095),
    (0.50, 0.40, 0.095),
    (0.66, 0.40, 0.095),
    (0.42, 0.55, 0.095),
    (0.58, 0.55, 0.095),
    (0.50, 0.70, 0.095),
]
LEAF_SHAPE = (0.58, 0.22, 0.13, 0.06)  # ellipse: x, y, rx, ry


def draw(size: int, scale: float, rounded: bool) -> bytes:
    rows = []
    radius = size * 0.22 if rounded else 0
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            # 4x supersampling for smooth edges
            acc = [0, 0, 0, 0]
            for sy in (0.25, 0.75):
                for sx in (0.25, 0.75):
                    color = pixel((px + sx) / size, (py + sy) / size, scale, size, radius)
                    for i in range(4):
                        acc[i] += color[i]
            row.extend(int(c / 4) for c in acc)
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def pixel(x: float, y: float, scale: float, size: int, radius: float) -> tuple[int, ...]:
    if radius and outside_rounded(x * size, y * size, size, radius):
        return (0, 0, 0, 0)
    # map into the drawing's own unit square, shrunk around the centre by `scale`
    u, v = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
    lx, ly, rx, ry = LEAF_SHAPE
    if ((u - lx) / rx) ** 2 + ((v - ly) / ry) ** 2 <= 1:
        return (*LEAF, 255)
    if abs(u - 0.5) < 0.012 and 0.2 < v < 0.33:  # stem
        return (*LEAF, 255)
    for gx, gy, r in GRAPES:
        d = ((u - gx) ** 2 + (v - gy) ** 2) ** 0.5
        if d <= r:
            return (*(GRAPE_EDGE if d > r * 0.82 else GRAPE), 255)
    return (*PURPLE, 255)


def outside_rounded(x: float, y: float, size: int, r: float) -> bool:
    cx = min(max(x, r), size - r)
    cy = min(max(y, r), size - r)
    return (x - cx) ** 2 + (y - cy) ** 2 > r * r


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(draw(192, 1.0, rounded=True))
    (OUT / "icon-512.png").write_bytes(draw(512, 1.0, rounded=True))
    (OUT / "maskable-512.png").write_bytes(draw(512, 0.72, rounded=False))
    (OUT / "apple-touch-icon.png").write_bytes(draw(180, 0.9, rounded=False))


if __name__ == "__main__":
    main()
