"""Marks drawn round a number: the held-out writers' numbers circled, boxed or underlined by hand.

On paper people mark what matters: they circle or box an answer and underline a total, with the pen
they wrote it with. Read as ink, a ring swallows what it holds and a line joins the digits touching
it. Each number (2-5 digits of one writer, natural gaps, placed as the pen section's numbers are, at
two thirds of their size so a ring fits) gets one more stroke, drawn with the same brush: a ring
(from an ellipse to a box drawn by hand: a superellipse, wobbling, from just short of one turn to a
little more) or a line under it (from just before the number to just past it, a gap of 3-25 % of its
height below it, so a thick pen often touches it; tilted and bowed a little). Each is read in the
window (its strokes), as a picture (a scan) and as a phone photo, beside the picture without the mark.
"""
from __future__ import annotations

import numpy as np

from benchmarks.pen_figures import CMD, NUMBERS, SAMPLE_SEED, drawn, one_writers_digits, photo, place_number, prolific
from benchmarks.stats import SINGLE, Row

STREAM = SAMPLE_SEED + 10  # a random stream of its own: the other pen figures stay as they were
SHRINK = 2 / 3  # the number's size, about the canvas's centre, against the pen section's numbers


def ring(box, height, rng):
    """Points of a ring drawn round `box` (x0, y0, x1, y1) of writing `height` px tall."""
    x0, y0, x1, y1 = box
    rx = (x1 - x0) / 2 + rng.uniform(0.15, 0.4) * height
    ry = (y1 - y0) / 2 + rng.uniform(0.15, 0.4) * height
    square = rng.uniform(2.0, 6.0)  # 2: an ellipse; more: a box with rounded corners
    t = rng.uniform(0, 2 * np.pi) + np.linspace(0, 2 * np.pi * rng.uniform(0.97, 1.12), 160)
    wobble = 1 + 0.03 * np.sin(3 * t + rng.uniform(0, 2 * np.pi))
    c, s = np.cos(t), np.sin(t)
    x = (x0 + x1) / 2 + rx * wobble * np.sign(c) * np.abs(c) ** (2 / square)
    y = (y0 + y1) / 2 + ry * wobble * np.sign(s) * np.abs(s) ** (2 / square)
    return np.stack([x, y], axis=1)


def underline(box, height, rng):
    """Points of a line drawn under `box` (x0, y0, x1, y1) of writing `height` px tall."""
    x0, y0, x1, y1 = box
    x = np.linspace(x0 - rng.uniform(0, 0.25) * height, x1 + rng.uniform(0, 0.25) * height, 60)
    along = (x - x[0]) / (x[-1] - x[0])
    y = (y1 + rng.uniform(0.03, 0.25) * height + np.tan(np.radians(rng.uniform(-2, 2))) * (x - x[0])
         + rng.uniform(-0.05, 0.05) * height * 4 * along * (1 - along))
    return np.stack([x, y], axis=1)


def marks(predictor, by_writer, size, brush_range) -> list[Row]:
    """Rows: numbers circled or boxed by hand, and underlined by hand, read in the window, as a picture
    and as a phone photo; beside the picture without the mark."""
    from app.recognize import read, read_drawing

    rng = np.random.default_rng(STREAM)
    writers = prolific(by_writer)
    centre = np.array(size, np.float64) / 2
    rows = []
    for draw_mark, what in ((ring, "circled or boxed by hand"), (underline, "underlined by hand")):
        right = np.zeros(4)
        for _ in range(NUMBERS):
            chosen = one_writers_digits(by_writer, writers, rng)
            truth = "".join(s.label for s in chosen)
            strokes = [(stroke - centre) * SHRINK + centre
                       for digit in place_number(chosen, rng, size, False) for stroke in digit]
            points = np.concatenate(strokes)
            box = (*points.min(axis=0), *points.max(axis=0))
            height = box[3] - box[1]
            brush = float(rng.uniform(brush_range[0], max(brush_range[0], min(brush_range[1], height / 4))))
            marked = drawn(strokes + [draw_mark(box, height, rng)], size, brush)
            bare = drawn(strokes, size, brush)
            right += [read_drawing(predictor, marked).number == truth,
                      read(predictor, 255 - marked.pixels).number == truth,
                      read(predictor, photo(marked.pixels, rng)).number == truth,
                      read(predictor, 255 - bare.pixels).number == truth]
        rows.append(Row(f"pen numbers (2-5 digits) {what}, window / picture / phone-photo-like / the picture without "
                        "the mark: exact", " / ".join(f"{r / NUMBERS:.2%}" for r in right) + f" of {NUMBERS}",
                        "", CMD, SINGLE, None))
    return rows
