"""The drawing the user makes: strokes, and the anti-aliased raster they produce.

Kept apart from Tk so that the GUI, the self-test samples and the tests all
rasterise ink the same way. Ink is white (255) on black (0), as MNIST.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image


def stamp_segment(pixels, p0, p1, width):
    """Draw a round-capped anti-aliased line of `width` px from p0 to p1 into uint8 `pixels`.

    Returns the changed box (x0, y0, x1, y1), ends exclusive, or None if off the raster.
    Coverage is 1 inside the capsule and falls off linearly over one pixel at its
    edge; overlapping ink keeps the brighter value, so joints are seamless. Pixels are
    worked out in float32 whatever the points' type (app.pen.stamp_strokes does the same).
    """
    h, w = pixels.shape
    r = max(width, 1.0) / 2.0
    # Python floats: numpy keeps the float32 pixel arithmetic (a float64 point would make it float64).
    (ax, ay), (bx, by) = (float(v) for v in p0), (float(v) for v in p1)
    x0 = max(int(np.floor(min(ax, bx) - r - 1)), 0)
    y0 = max(int(np.floor(min(ay, by) - r - 1)), 0)
    x1 = min(int(np.ceil(max(ax, bx) + r + 2)), w)
    y1 = min(int(np.ceil(max(ay, by) + r + 2)), h)
    if x0 >= x1 or y0 >= y1:
        return None
    px = np.arange(x0, x1, dtype=np.float32)[None, :] - ax
    py = np.arange(y0, y1, dtype=np.float32)[:, None] - ay
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 > 0:
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
        ex, ey = px - t * dx, py - t * dy
    else:
        ex, ey = px, py
    dist = np.sqrt(ex * ex + ey * ey)
    cover = np.clip(r + 0.5 - dist, 0.0, 1.0)
    patch = pixels[y0:y1, x0:x1]
    np.maximum(patch, (cover * 255.0 + 0.5).astype(np.uint8), out=patch)
    return (x0, y0, x1, y1)


def stamp_polyline(pixels, points, width):
    """Draw a whole stroke; a single point leaves a round dot."""
    if len(points) == 1:
        stamp_segment(pixels, points[0], points[0], width)
    for a, b in zip(points, points[1:]):
        stamp_segment(pixels, a, b, width)


class Drawing:
    """Strokes on a width x height raster, with undo; `pixels` is always up to date.

    `strokes` is a list of (brush width, [(x, y), ...]) in drawing order, in raster pixels;
    `resize` scales them (points and widths) so a drawing keeps its look on a larger canvas.
    """

    def __init__(self, width, height):
        self.size = (width, height)
        self.strokes = []  # list of (brush width, [(x, y), ...])
        self.pixels = np.zeros((height, width), np.uint8)

    @property
    def empty(self):
        return not self.strokes

    def begin(self, x, y, width):
        """Start a stroke with a dot; returns the changed box."""
        self.strokes.append((float(width), [(float(x), float(y))]))
        return stamp_segment(self.pixels, (x, y), (x, y), width)

    def extend(self, x, y):
        """Continue the last stroke to (x, y); returns the changed box or None."""
        width, points = self.strokes[-1]
        last = points[-1]
        if (x, y) == last:
            return None
        points.append((float(x), float(y)))
        return stamp_segment(self.pixels, last, (x, y), width)

    def undo(self):
        """Remove the last stroke; False if there was none."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self._redraw()
        return True

    def clear(self):
        self.strokes.clear()
        self.pixels[:] = 0

    def resize(self, width, height):
        """Become a width x height raster, scaling every stroke by the same factor."""
        width, height = int(width), int(height)
        if (width, height) == self.size:
            return
        factor = min(width / self.size[0], height / self.size[1])
        self.strokes = _scaled(self.strokes, factor)
        self.size = (width, height)
        self.pixels = np.zeros((height, width), np.uint8)
        self._redraw()

    def snapshot(self):
        """An immutable copy of the strokes and the size they were drawn at, for `restore`."""
        return (self.size, tuple((w, tuple(points)) for w, points in self.strokes))

    def restore(self, snapshot):
        """Go back to a `snapshot`, scaled to the current size if the canvas was resized since."""
        size, strokes = snapshot
        factor = min(self.size[0] / size[0], self.size[1] / size[1])
        self.strokes = _scaled(strokes, factor)
        self._redraw()

    def last_stroke_box(self):
        """(x0, y0, x1, y1) of the newest stroke's points, or None."""
        if not self.strokes:
            return None
        xs, ys = zip(*self.strokes[-1][1])
        return (min(xs), min(ys), max(xs), max(ys))

    def save_png(self, path):
        """Write the raster as a PNG (white ink on black) atomically: a temp file, then a rename."""
        path = Path(path)
        temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            self.image().save(temp, format="PNG")
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def image(self):
        """The raster as a Pillow "L" image (a copy)."""
        return Image.fromarray(self.pixels.copy(), "L")

    def _redraw(self):
        self.pixels[:] = 0
        for width, points in self.strokes:
            stamp_polyline(self.pixels, points, width)


def _scaled(strokes, factor):
    """Copies of `strokes` with every point and brush width multiplied by `factor`."""
    if factor == 1:
        return [(w, list(points)) for w, points in strokes]
    return [(w * factor, [(x * factor, y * factor) for x, y in points]) for w, points in strokes]
