"""Dashes among digits: the held-out writers' numbers with a minus sign before them or a hyphen inside.

People write "-12" and "555-1234". A number of the held-out writers (2-5 digits of one writer, natural
gaps, placed as the pen section's numbers are) gets one more stroke, drawn with the same brush in the
number's time order: a dash a quarter to half the digits' height long, at their middle height (40-60 %
down, tilted up to 5 degrees and wobbling a little), before the first digit or between two of them, the
gap beside it as natural as the digits'. Each is read in the window (its strokes), as a picture (a scan)
and as a phone photo, beside the picture without the dash (what the digits alone read).
"""
from __future__ import annotations

import numpy as np

from benchmarks.pen_figures import CMD, NUMBERS, SAMPLE_SEED, drawn, photo, place_number
from benchmarks.stats import SINGLE, Row

STREAM = SAMPLE_SEED + 12  # a random stream of its own: the other pen figures stay as they were


class _Dash:
    """A stand-in for a PenSample that place_number lays out as a flat mark: one perfectly flat stroke."""

    label = "-"
    strokes = [np.array([[0.0, 0.0], [1.0, 0.0]])]


def dash(left, right, top, bottom, rng):
    """Points of a dash centred between x `left` and `right` (its place in the row) on digits from
    `top` to `bottom`: a quarter to half their height long, at their middle height."""
    height = bottom - top
    middle, length = (left + right) / 2, rng.uniform(0.25, 0.5) * height
    x = np.linspace(middle - length / 2, middle + length / 2, 24)
    y = (top + rng.uniform(0.4, 0.6) * height + np.tan(np.radians(rng.uniform(-5, 5))) * (x - middle)
         + rng.normal(0, 0.01 * height, len(x)))
    return np.stack([x, y], axis=1)


def signs(predictor, by_writer, size, brush_range) -> list[Row]:
    """Rows: numbers with a minus sign before them, and with a hyphen between two of their digits, read
    in the window, as a picture and as a phone photo; beside the picture without the dash."""
    from app.recognize import read, read_drawing

    rng = np.random.default_rng(STREAM)
    writers = [w for w, s in by_writer.items() if len(s) >= 5]
    rows = []
    for where, what in ((0, "a minus sign before them"), (None, "a hyphen between two of their digits")):
        right = np.zeros(4)
        for _ in range(NUMBERS):
            samples = by_writer[writers[rng.integers(len(writers))]]
            chosen = [samples[i] for i in rng.choice(len(samples), int(rng.integers(2, 6)), replace=False)]
            at = where if where is not None else int(rng.integers(1, len(chosen)))
            placed = place_number(chosen[:at] + [_Dash()] + chosen[at:], rng, size, False)
            digits = [stroke for k, digit in enumerate(placed) if k != at for stroke in digit]
            points = np.concatenate(digits)
            top, bottom = points[:, 1].min(), points[:, 1].max()
            mark = placed[at][0]
            strokes = [stroke for digit in placed[:at] for stroke in digit] + [
                dash(mark[:, 0].min(), mark[:, 0].max(), top, bottom, rng)] + [
                stroke for digit in placed[at + 1:] for stroke in digit]
            brush = float(rng.uniform(brush_range[0], max(brush_range[0], min(brush_range[1], (bottom - top) / 4))))
            truth = "".join(s.label for s in chosen[:at] + [_Dash()] + chosen[at:])
            written, bare = drawn(strokes, size, brush), drawn(digits, size, brush)
            right += [read_drawing(predictor, written).number == truth,
                      read(predictor, 255 - written.pixels).number == truth,
                      read(predictor, photo(written.pixels, rng)).number == truth,
                      read(predictor, 255 - bare.pixels).number == truth.replace("-", "")]
        rows.append(Row(f"pen numbers (2-5 digits) with {what}, window / picture / phone-photo-like / the picture "
                        "without the dash: exact", " / ".join(f"{r / NUMBERS:.2%}" for r in right) + f" of {NUMBERS}",
                        "", CMD, SINGLE, None))
    return rows
