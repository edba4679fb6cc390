"""Hand-written-looking digits, rendered from a small table of pen paths.

Used by `--self-test` (which must work with no files besides the model) and by
the tests. Paths are in a box 0.6 wide and 1 tall, y down, drawn in pen order.
"""

import math

import numpy as np
from PIL import Image

from app.drawing import stamp_polyline


def _arc(cx, cy, rx, ry, start, stop, steps=24):
    """Points on an ellipse from angle `start` to `stop` in degrees (0 = right, 90 = down)."""
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(start, stop, steps)
    ]


STROKES = {
    0: [_arc(0.3, 0.5, 0.27, 0.48, -100, 265, 40)],
    1: [[(0.36, 0.0), (0.33, 0.35), (0.29, 0.7), (0.26, 1.0)]],
    2: [_arc(0.3, 0.27, 0.26, 0.25, 190, 380, 20) + [(0.3, 0.62), (0.03, 0.98), (0.32, 0.97), (0.6, 0.96)]],
    3: [_arc(0.29, 0.25, 0.25, 0.24, 200, 450, 20) + _arc(0.29, 0.74, 0.29, 0.25, -90, 160, 20)[1:]],
    4: [[(0.4, 0.0), (0.2, 0.4), (0.02, 0.66), (0.6, 0.64)], [(0.47, 0.3), (0.46, 0.65), (0.45, 1.0)]],
    5: [[(0.56, 0.02), (0.12, 0.02), (0.07, 0.44)] + _arc(0.29, 0.7, 0.28, 0.29, -125, 150, 22)],
    6: [_arc(0.62, 0.62, 0.56, 0.62, -100, -180, 12) + _arc(0.32, 0.73, 0.26, 0.26, 180, -180, 28)[1:]],
    7: [[(0.0, 0.02), (0.6, 0.0), (0.43, 0.4), (0.24, 1.0)]],
    8: [
        _arc(0.3, 0.25, 0.22, 0.24, 90, 450, 28),
        _arc(0.3, 0.74, 0.28, 0.25, -90, 270, 28),
    ],
    9: [_arc(0.3, 0.27, 0.26, 0.27, 10, 370, 28) + [(0.54, 0.55), (0.5, 1.0)]],
}

# (stroke width as a share of the digit's height, slant, width factor); the
# spread covers thin and thick pens, upright and leaning writing.
STYLES = [(0.12, 0.0, 1.0), (0.08, 0.18, 0.9), (0.16, -0.08, 1.1)]


def stroke_paths(digit, box, slant=0.0, squeeze=1.0):
    """Pen paths of `digit` fitted to `box` = (x, y, height) in pixels."""
    x, y, height = box
    paths = []
    for stroke in STROKES[digit]:
        paths.append(
            [(x + (px * squeeze + slant * (1.0 - py)) * height, y + py * height) for px, py in stroke]
        )
    return paths


def render(digit, style=0, size=(280, 280), height=200, at=None):
    """A Pillow "L" image of `digit`, white ink on black."""
    stroke, slant, squeeze = STYLES[style]
    if at is None:
        at = ((size[0] - 0.6 * height) / 2, (size[1] - height) / 2)
    pixels = np.zeros((size[1], size[0]), np.uint8)
    for path in stroke_paths(digit, (at[0], at[1], height), slant, squeeze):
        stamp_polyline(pixels, path, stroke * height)
    return Image.fromarray(pixels, "L")


def all_samples():
    """[(digit, image)] for every digit in every style."""
    return [(d, render(d, s)) for s in range(len(STYLES)) for d in range(10)]
