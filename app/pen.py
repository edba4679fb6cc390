"""Pen strokes: the records the canvas and the UNIPEN dev set share, and how strokes become ink.

A record is {"writer": str, "label": str, "strokes": [[[x, y], ...], ...]}: pen-down strokes in
the order written, y growing downwards. Two ways to turn strokes into ink, both drawn with the
canvas' own brush (app.drawing.stamp_segment: `stamp_strokes` lays every segment at once, pixel for
pixel the same), so training, benchmarks and the window see the same:
- `render`: as the window shows them, at a given brush width (what a picture of them looks like);
- `normalised_ink`: what the network reads for a drawn digit: the strokes scaled to a fixed box
  and drawn with a width proportional to it, so a thick brush on a small digit is no blob and a
  thin brush on a big one no hairline.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.preprocess import center_digit

MAX_COORD = 1e6  # tablets and canvases stay far below; beyond it is a corrupt record
NORM_SIDE = 80.0  # longer side of a digit's strokes when normalised, in raster pixels
NORM_WIDTH = 0.125  # stroke width as a share of NORM_SIDE: MNIST's ~2.5 px in its 20-px box
NORM_MARGIN = 8  # empty pixels around the normalised ink, so the pen's round caps fit
BATCH_PIXELS = 1 << 18  # pixels worked out at once when stamping (a few MB of float32)


class BadStrokes(ValueError):
    """A stroke record that cannot be drawn (no points, NaN or absurd coordinates, wrong shape)."""


@dataclass(frozen=True)
class PenSample:
    """One written character: who wrote it, what it is, and its strokes (float64 arrays (n, 2))."""

    writer: str
    label: str
    strokes: tuple


def check_strokes(strokes):
    """Strokes as a tuple of float64 (n, 2) arrays; empty strokes dropped; BadStrokes if unusable."""
    if not isinstance(strokes, (list, tuple)):
        raise BadStrokes(f"strokes must be a list of strokes, got {type(strokes).__name__}")
    kept = []
    for i, stroke in enumerate(strokes):
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError):
            raise BadStrokes(f"stroke {i + 1} is not a list of [x, y] points") from None
        if points.size == 0:
            continue
        if points.ndim != 2 or points.shape[1] != 2:
            raise BadStrokes(f"stroke {i + 1} is not a list of [x, y] points (shape {points.shape})")
        if not np.isfinite(points).all():
            raise BadStrokes(f"stroke {i + 1} has a coordinate that is not a finite number")
        if np.abs(points).max() > MAX_COORD:
            raise BadStrokes(f"stroke {i + 1} has a coordinate beyond {MAX_COORD:g}")
        kept.append(points)
    if not kept:
        raise BadStrokes("no points: every stroke is empty")
    return tuple(kept)


def parse_record(record):
    """PenSample from one decoded JSON record; BadStrokes says what is wrong with it."""
    if not isinstance(record, dict):
        raise BadStrokes(f"a record must be a JSON object, got {type(record).__name__}")
    label, writer = record.get("label"), record.get("writer", "")
    if not isinstance(label, str) or not label:
        raise BadStrokes("record has no label")
    if not isinstance(writer, str):
        raise BadStrokes("record's writer is not a string")
    return PenSample(writer, label, check_strokes(record.get("strokes")))


def bounds(strokes):
    """(x0, y0, x1, y1) of all points."""
    points = np.concatenate(strokes)
    return (*points.min(axis=0), *points.max(axis=0))


def fit(strokes, box):
    """Strokes scaled uniformly (aspect kept) and centred to fill `box` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = bounds(strokes)
    bx0, by0, bx1, by1 = box
    extent = max(x1 - x0, y1 - y0)
    scale = min(bx1 - bx0, by1 - by0) / extent if extent > 0 else 1.0
    shift = np.array([(bx0 + bx1) / 2 - scale * (x0 + x1) / 2, (by0 + by1) / 2 - scale * (y0 + y1) / 2])
    return tuple(s * scale + shift for s in strokes)


def render(strokes, size, width):
    """The strokes drawn as the canvas draws them: uint8 (height, width), white ink on black."""
    pixels = np.zeros((size[1], size[0]), np.uint8)
    stamp_strokes(pixels, strokes, width)
    return pixels


def stamp_strokes(pixels, strokes, width):
    """Draw float64 (n, 2) strokes into uint8 `pixels` as app.drawing.stamp_polyline draws each.

    The same arithmetic on every segment's box at once instead of one numpy call chain per segment
    (about 25 us each, the bulk of a live read). Boxes are padded to a common size per batch and
    clamped to the raster: a pixel too far from a segment gets no ink from it wherever it is
    computed, and a clamped one gets its own coverage again. A digit's stroke costs more in numpy
    calls than in pixels (a stroke of 2 segments 60 us, of 38 about 180 us): few calls, in place.
    """
    h, w = pixels.shape
    r = max(width, 1.0) / 2.0
    if len(strokes) == 1:
        a, b = (strokes[0][:-1], strokes[0][1:]) if len(strokes[0]) > 1 else (strokes[0], strokes[0])
    else:
        a = np.concatenate([s[:-1] if len(s) > 1 else s for s in strokes])
        b = np.concatenate([s[1:] if len(s) > 1 else s for s in strokes])
    # stamp_segment's box reaches r + 1 (r + 2) past the ends; a pixel gets ink (coverage
    # rounding to at least 1/255) only within r + 0.5 - 1/510 of the segment: box those.
    reach = r + 0.5 - 1 / 512
    low = np.ceil(np.minimum(a, b) - reach)
    np.maximum(low, 0, out=low)
    size = np.floor(np.maximum(a, b) + reach)
    size += 1
    np.minimum(size, (w, h), out=size)
    size -= low  # (columns, rows)
    low, size = low.astype(np.intp), size.astype(np.intp)
    if size.min() <= 0:  # boxes wholly off the raster
        kept = np.flatnonzero(size.min(axis=1) > 0)
        if not len(kept):
            return
        a, b, low, size = a[kept], b[kept], low[kept], size[kept]
    # Batches of boxes within twice each other's size, so one long segment does not pad all the
    # short ones, and of at most BATCH_PIXELS pixels, so a huge raster never needs a huge array.
    span = size.max(axis=1)
    shortest = span.min()
    if span.max() < 2 * shortest:
        batches = [slice(None)]
    else:
        level = np.log2(span / shortest).astype(int)
        batches = [np.flatnonzero(level == lv) for lv in np.unique(level)]
    out = pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)
    flat = out.reshape(-1)  # a view, written in place
    for k in batches:
        low_k, size_k, a_k, b_k = low[k], size[k], a[k], b[k]
        columns, rows = size_k.max(axis=0)
        step = max(1, BATCH_PIXELS // (columns * rows))
        for i in range(0, len(low_k), step):
            part = slice(i, i + step)
            xs = np.minimum(low_k[part, 0, None] + np.arange(columns), w - 1)  # (m, columns)
            ys = np.minimum(low_k[part, 1, None] + np.arange(rows), h - 1)  # (m, rows)
            ink = _coverage(a_k[part], b_k[part], xs, ys, r)
            index = (ys * w)[:, :, None] + xs[:, None, :]
            np.maximum.at(flat, index.reshape(-1), ink.reshape(-1))
    if out is not pixels:
        pixels[...] = out


def _coverage(a, b, xs, ys, r):
    """uint8 (m, rows, columns) ink of segments a -> b at pixel columns `xs` and rows `ys`:
    app.drawing.stamp_segment's arithmetic, step for step, so the same float32 roundings. float32
    halves the work of float64, the bulk of a live read's rasterising."""
    f32 = np.float32
    start = a.astype(f32)
    # stamp_segment works out the direction and its squared length in double precision; numpy then
    # rounds each to float32 where it meets the float32 pixels.
    d = b - a
    line = np.empty((len(a), 3), f32)  # dx, dy, squared length
    line[:, :2] = d
    line[:, 2] = (d * d).sum(axis=1)  # dx * dx + dy * dy: one addition, as stamp_segment's
    # A dot (no length): t = 0 exactly, so the distance is to its point, as stamp_segment's.
    np.copyto(line[:, 2], f32(1.0), where=line[:, 2] <= 0)
    dx, dy, length2 = (line[:, j, None, None] for j in range(3))
    px = xs.astype(f32)[:, None, :]
    px -= start[:, 0, None, None]
    py = ys.astype(f32)[:, :, None]
    py -= start[:, 1, None, None]
    t = px * dx + py * dy
    t /= length2
    _clip01(t)
    ex = t * dx
    np.subtract(px, ex, out=ex)
    ey = t
    ey *= dy
    np.subtract(py, ey, out=ey)
    ex *= ex
    ey *= ey
    ex += ey
    dist = np.sqrt(ex, out=ex)
    cover = np.subtract(f32(r + 0.5), dist, out=dist)
    _clip01(cover)
    cover *= f32(255.0)
    cover += f32(0.5)
    return cover.astype(np.uint8)


def _clip01(x):
    """float32 `x` clipped to [0, 1] in place: np.clip's values, without its Python wrapper's 6 us."""
    np.minimum(np.maximum(x, np.float32(0.0), out=x), np.float32(1.0), out=x)


def normalised_ink(strokes, width_share=NORM_WIDTH, min_extent=0.0):
    """Float32 ink map in [0, 1] of one digit's strokes at a width proportional to its size.

    The longer side of the points becomes NORM_SIDE, unless it is below `min_extent` (pass about the
    brush width): then it is scaled as if it were that long, so a tap with a pixel of jitter stays a
    dot instead of being blown up into a line. Strokes of no extent come out as one round dot.
    """
    x0, y0, x1, y1 = bounds(strokes)
    extent = max(x1 - x0, y1 - y0, min_extent)
    scale = NORM_SIDE / extent if extent > 0 else 0.0
    width = width_share * NORM_SIDE
    pad = NORM_MARGIN + width / 2
    w = int(math.ceil((x1 - x0) * scale + 2 * pad))
    h = int(math.ceil((y1 - y0) * scale + 2 * pad))
    origin = np.array([x0, y0])
    placed = tuple((s - origin) * scale + pad for s in strokes)
    return render(placed, (w, h), width).astype(np.float32) / 255.0


def model_input(strokes, width_share=NORM_WIDTH, min_extent=0.0):
    """What the network reads for one digit's strokes: normalised_ink, centred as MNIST (or None)."""
    return center_digit(normalised_ink(strokes, width_share, min_extent))
