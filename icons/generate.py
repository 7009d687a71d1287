#!/usr/bin/env python3
"""Draws Rolecall's app and tray icons as PNG, ICO and ICNS with the standard library only.

The mark is a key on a rounded badge; the badge colour tells the tray state.
Run it from anywhere: `python3 icons/generate.py`. The outputs are committed.
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

STATES = {
    # name: (badge colour, key colour)
    "icon": ((35, 99, 235), (255, 255, 255)),
    "tray-valid": ((35, 99, 235), (255, 255, 255)),
    "tray-signed-out": ((120, 128, 140), (255, 255, 255)),
    "tray-expiring": ((217, 119, 6), (255, 255, 255)),
    "tray-expired": ((200, 40, 40), (255, 255, 255)),
    "tray-working": ((90, 110, 200), (220, 230, 255)),
}


def inside_rounded_square(x, y, r):
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def inside_key(x, y):
    # Ring of the key's bow.
    d = math.hypot(x - 0.36, y - 0.42)
    if 0.075 <= d <= 0.16:
        return True
    # Shaft.
    if 0.46 <= x <= 0.80 and 0.395 <= y <= 0.455:
        return True
    # Two teeth.
    if 0.66 <= x <= 0.71 and 0.455 <= y <= 0.56:
        return True
    if 0.74 <= x <= 0.79 and 0.455 <= y <= 0.53:
        return True
    # A small person-like dot row under the key: "roles".
    for cx in (0.35, 0.5, 0.65):
        if math.hypot(x - cx, y - 0.72) <= 0.055:
            return True
    return False


def render(size, badge, key, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) / size
                    y = (py + (sy + 0.5) / samples) / size
                    if not inside_rounded_square(x, y, 0.22):
                        continue
                    colour = key if inside_key(x, y) else badge
                    acc[0] += colour[0]
                    acc[1] += colour[1]
                    acc[2] += colour[2]
                    acc[3] += 255
            n = samples * samples
            alpha = acc[3] / n
            if alpha > 0:
                scale = 255 / acc[3]
                row += bytes([round(acc[0] * scale), round(acc[1] * scale), round(acc[2] * scale), round(alpha)])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(pngs):
    # ICO entries may hold PNG data directly (Windows Vista and later).
    out = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    body = b""
    for size, data in pngs:
        dim = 0 if size >= 256 else size
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(body))
        body += data
    return out + body


def icns(pngs):
    kinds = {32: b"ic11", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b""
    for size, data in pngs:
        if size in kinds:
            body += kinds[size] + struct.pack(">I", len(data) + 8) + data
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    badge, key = STATES["icon"]
    sizes = {size: render(size, badge, key) for size in (32, 64, 128, 256, 512)}
    write("32x32.png", sizes[32])
    write("64x64.png", sizes[64])
    write("128x128.png", sizes[128])
    write("128x128@2x.png", sizes[256])
    write("icon.png", sizes[512])
    write("icon.ico", ico([(s, sizes[s]) for s in (32, 64, 128, 256)]))
    write("icon.icns", icns([(s, sizes[s]) for s in (32, 128, 256, 512)]))
    for name, (badge, key) in STATES.items():
        if name.startswith("tray-"):
            write(f"{name}.png", render(64, badge, key))


if __name__ == "__main__":
    main()
