"""The app's icon, drawn by code (no binary in the repository): a hand-drawn 7 on a blue tile.

`python -m app.icon OUT.png|OUT.ico` writes it for a desktop entry or an executable's resources.
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from app.drawing import stamp_polyline

TILE = (42, 122, 226)  # the window's accent colour
SIZES = (16, 24, 32, 48, 64, 128, 256)
# The 7 as a pen would draw it, in a unit square: the bar, then the slanted stem, then a cross-bar.
STROKES = (
    ((0.27, 0.27), (0.73, 0.27), (0.66, 0.40), (0.50, 0.76)),
    ((0.49, 0.53), (0.72, 0.53)),
)


def draw_icon(size):
    """An RGBA Pillow image `size` x `size` pixels; small sizes get a relatively thicker pen."""
    big = size * 4  # drawn large and reduced: smooth edges at every size
    tile = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    margin = big // 16
    ImageDraw.Draw(tile).rounded_rectangle(
        (margin, margin, big - margin - 1, big - margin - 1), radius=big // 5, fill=TILE + (255,))
    ink = np.zeros((big, big), np.uint8)
    width = big * (0.10 if size >= 48 else 0.14)
    for stroke in STROKES:
        stamp_polyline(ink, [(x * big, y * big) for x, y in stroke], width)
    white = Image.new("RGBA", (big, big), (255, 255, 255, 255))
    tile.paste(white, (0, 0), Image.fromarray(ink, "L"))
    return tile.resize((size, size), Image.Resampling.LANCZOS)


def write_icon(path):
    """Write the icon to `path`: .ico holds every size in SIZES, anything else one 256-px image."""
    path = Path(path)
    if path.suffix.lower() == ".ico":
        draw_icon(max(SIZES)).save(path, sizes=[(s, s) for s in SIZES])
    else:
        draw_icon(max(SIZES)).save(path)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m app.icon OUT.png|OUT.ico", file=sys.stderr)
        return 2
    try:
        write_icon(args[0])
    except (OSError, ValueError) as exc:
        print(f"error: cannot write {args[0]}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
