"""Writes a PNG for every ordered pair of the named colours, its left half one and its right half
the other, 32x32 RGB with the standard library alone, and list.tsv ("a-b.png<TAB>a and b" lines)
for rwkv-image-data; the command-line tests' image data.
    two_colour_pngs.py COLOUR...   (of red, green, blue, white)
"""
import struct
import sys
import zlib

COLOURS = {"red": (230, 20, 20), "green": (20, 200, 40), "blue": (30, 40, 220), "white": (255, 255, 255)}


def png(path, left, right):
    rows = b"".join(b"\0" + bytes(left) * 16 + bytes(right) * 16 for _ in range(32))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main(names):
    unknown = [n for n in names if n not in COLOURS]
    if not names or unknown:
        sys.exit(f"two_colour_pngs.py: name colours of {', '.join(COLOURS)}; unknown: {', '.join(unknown)}")
    with open("list.tsv", "w") as tsv:
        for a in names:
            for b in names:
                png(f"{a}-{b}.png", COLOURS[a], COLOURS[b])
                tsv.write(f"{a}-{b}.png\t{a} and {b}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
