"""Numbers written in two rows: the held-out writers' digits continued on a second line.

Out of room, people go on below: a number of 4-6 digits of one writer written as two rows of 2-3
digits, each row placed as the pen section's numbers are (natural gaps) in its half of the canvas, the
second row below the first by 20-80 % of a row's height, both begun near the same left edge. Read in
the window (its strokes), as a picture (a scan) and as a phone photo, top row first.
"""
from __future__ import annotations

import numpy as np

from benchmarks.pen_figures import CMD, NUMBERS, SAMPLE_SEED, drawn, one_writers_digits, photo, place_number, prolific
from benchmarks.stats import SINGLE, Row

STREAM = SAMPLE_SEED + 14  # a random stream of its own: the other pen figures stay as they were


def two_rows(first, second, rng, size):
    """Strokes of the digits `first` above those of `second` (PenSamples of one writer) on a canvas of
    `size`: each row as tall as a third of the canvas at most, the gap between them 20-80 % of it."""
    w, h = size
    rows = [place_number(row, rng, (w, h // 2), False) for row in (first, second)]
    points = [np.concatenate([s for digit in row for s in digit]) for row in rows]
    height = max(np.ptp(p[:, 1]) for p in points)
    scale = min(1.0, h / (height * (2 + 0.8) + 20))
    top = (h - scale * height * (2 + rng.uniform(0.2, 0.8))) / 2
    strokes = []
    for k, (row, p) in enumerate(zip(rows, points)):
        origin = np.array([p[:, 0].min(), p[:, 1].min()])
        at = np.array([20 + rng.uniform(0, 0.1) * w, top + k * (h - 2 * top - scale * np.ptp(p[:, 1]))])
        strokes += [(s - origin) * scale + at for digit in row for s in digit]
    return strokes


def two_row_numbers(predictor, by_writer, size, brush_range) -> list[Row]:
    """One row: numbers written in two rows, read in the window, as a picture and as a phone photo."""
    from app.recognize import read, read_drawing

    rng = np.random.default_rng(STREAM)
    writers = prolific(by_writer, 6)
    right = np.zeros(3)
    for _ in range(NUMBERS):
        chosen = one_writers_digits(by_writer, writers, rng, count=(4, 7))
        split = len(chosen) // 2
        strokes = two_rows(chosen[:split], chosen[split:], rng, size)
        height = np.ptp(np.concatenate(strokes)[:, 1]) / 2
        brush = float(rng.uniform(brush_range[0], max(brush_range[0], min(brush_range[1], height / 5))))
        written = drawn(strokes, size, brush)
        truth = "".join(s.label for s in chosen)
        right += [read_drawing(predictor, written).number == truth,
                  read(predictor, 255 - written.pixels).number == truth,
                  read(predictor, photo(written.pixels, rng)).number == truth]
    return [Row("pen numbers (4-6 digits) written in two rows, window / picture / phone-photo-like: exact",
                " / ".join(f"{r / NUMBERS:.2%}" for r in right) + f" of {NUMBERS}", "", CMD, SINGLE, None)]
