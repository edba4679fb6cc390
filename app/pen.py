"""Pen strokes: the records the canvas and the UNIPEN dev set share, and how strokes become ink.

A record is {"writer": str, "label": str, "strokes": [[[x, y], ...], ...]}: pen-down strokes in
the order written, y growing downwards. Two ways to turn strokes into ink, both on the canvas'
own rasteriser (app.drawing.stamp_polyline), so training, benchmarks and the window see the same:
- `render`: as the window shows them, at a given brush width (what a picture of them looks like);
- `normalised_ink`: what the network reads for a drawn digit: the strokes scaled to a fixed box
  and drawn with a width proportional to it, so a thick brush on a small digit is no blob and a
  thin brush on a big one no hairline.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.drawing import stamp_polyline
from app.preprocess import center_digit

MAX_COORD = 1e6  # tablets and canvases stay far below; beyond it is a corrupt record
NORM_SIDE = 80.0  # longer side of a digit's strokes when normalised, in raster pixels
NORM_WIDTH = 0.125  # stroke width as a share of NORM_SIDE: MNIST's ~2.5 px in its 20-px box
NORM_MARGIN = 8  # empty pixels around the normalised ink, so the pen's round caps fit


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
    for stroke in strokes:
        stamp_polyline(pixels, [tuple(p) for p in stroke], width)
    return pixels


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
