"""Signs among digits: the held-out writers' numbers with a minus sign, a hyphen, a point or a comma.

People write "-12", "555-1234", "3.14" and "3,14". A number of the held-out writers (2-5 digits of one
writer, natural gaps, placed as the pen section's numbers are) gets one more stroke, drawn with the same
brush in the number's time order: a dash a quarter to half the digits' height long, at their middle
height (40-60 % down, tilted up to 5 degrees and wobbling a little), before the first digit or between
two of them, the gap beside it as natural as the digits'; or between two of them a decimal point tapped
with the same brush (a few points, a tap's jitter, on the digits' baseline) or a comma (a short stroke
from the baseline down to the left), written close as people write "3.14" (paper up to 0.3 of the
digits' height besides the sign and the strokes beside it, not spaced like a hyphen). Each is read in
the window (its strokes), as a picture (a scan) and as a phone photo, beside the picture without the
sign (what the digits alone read).
"""
from __future__ import annotations

import numpy as np

from benchmarks.pen_figures import CMD, NUMBERS, SAMPLE_SEED, drawn, one_writers_digits, photo, place_number, prolific
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


def point(left, right, top, bottom, rng):
    """Points of a tap centred between x `left` and `right` on the baseline of digits from `top` to
    `bottom` (a little above or below it): 1-5 points jittered by up to 3 % of the digits' height."""
    height = bottom - top
    centre = np.array([(left + right) / 2, bottom - rng.uniform(-0.03, 0.1) * height])
    return centre + rng.uniform(-0.03, 0.03, (int(rng.integers(1, 6)), 2)) * height


def comma(left, right, top, bottom, rng):
    """Points of a comma centred between x `left` and `right`: a short stroke from a little above the
    baseline of digits from `top` to `bottom` down and to the left, 12-25 % of their height long."""
    height = bottom - top
    start = np.array([(left + right) / 2 + 0.02 * height, bottom - 0.03 * height])
    along = np.linspace(0, 1, 8)[:, None] * rng.uniform(0.12, 0.25) * height
    return start + along * np.array([-0.5, 1.0])


def closed_up(placed, at, rng, brush):
    """`placed` (place_number's strokes per digit) with the digits after slot `at` moved left, so that
    the two digits beside the slot stand as close as a decimal point's neighbours do: room for the
    point and the neighbours' strokes drawn with `brush` (two brush widths between their points), and
    paper up to 0.3 of the digits' height besides; the slot's stroke spans the gap."""
    points = np.concatenate([stroke for k, digit in enumerate(placed) if k != at for stroke in digit])
    height = np.ptp(points[:, 1])
    left = np.concatenate(placed[at - 1])[:, 0].max()
    gap = np.concatenate(placed[at + 1])[:, 0].min() - left
    shift = max(0.0, gap - 2 * brush - rng.uniform(0.0, 0.3) * height)
    slot = [np.array([[left, placed[at][0][0, 1]], [left + gap - shift, placed[at][0][0, 1]]])]
    return placed[:at] + [slot] + [[stroke - (shift, 0) for stroke in digit] for digit in placed[at + 1:]]


def _brush(rng, brush_range, height):
    """A brush from the slider's range, at most a quarter of the digits' `height` (but the thinnest)."""
    return float(rng.uniform(brush_range[0], max(brush_range[0], min(brush_range[1], height / 4))))


KINDS = (("-", 0, "a minus sign before them", "the dash"), ("-", None, "a hyphen between two of their digits", "the dash"),
         (".", None, "a decimal point between two of their digits", "the point"),
         (",", None, "a comma between two of their digits (right: read as a decimal point, or not read)", "the comma"))
MARKS = {"-": dash, ".": point, ",": comma}


def signs(predictor, by_writer, size, brush_range) -> list[Row]:
    """Rows: numbers with a minus sign before them, a hyphen or a decimal point between two of their
    digits, read in the window, as a picture and as a phone photo; beside the picture without the sign."""
    from app.recognize import read, read_drawing

    rng = np.random.default_rng(STREAM)
    writers = prolific(by_writer)
    rows = []
    for sign, where, what, mark_name in KINDS:
        right = np.zeros(4)
        for _ in range(NUMBERS):
            chosen = one_writers_digits(by_writer, writers, rng)
            at = where if where is not None else int(rng.integers(1, len(chosen)))
            placed = place_number(chosen[:at] + [_Dash()] + chosen[at:], rng, size, False)
            digits = [stroke for k, digit in enumerate(placed) if k != at for stroke in digit]
            points = np.concatenate(digits)
            top, bottom = points[:, 1].min(), points[:, 1].max()
            # The point's layout needs the brush first; the dashes draw it after their stroke (as first written).
            if sign in ".,":
                brush = _brush(rng, brush_range, bottom - top)
                placed = closed_up(placed, at, rng, brush)
                digits = [stroke for k, digit in enumerate(placed) if k != at for stroke in digit]
            mark = placed[at][0]
            strokes = [stroke for digit in placed[:at] for stroke in digit] + [
                MARKS[sign](mark[:, 0].min(), mark[:, 0].max(), top, bottom, rng)] + [
                stroke for digit in placed[at + 1:] for stroke in digit]
            if sign == "-":
                brush = _brush(rng, brush_range, bottom - top)
            truth = "".join(s.label for s in chosen[:at]) + sign + "".join(s.label for s in chosen[at:])
            written, bare = drawn(strokes, size, brush), drawn(digits, size, brush)
            # A comma is a decimal separator or not read at all (issue 12), never a digit.
            good = {truth.replace(",", "."), truth.replace(",", "")} if sign == "," else {truth}
            right += [read_drawing(predictor, written).number in good,
                      read(predictor, 255 - written.pixels).number in good,
                      read(predictor, photo(written.pixels, rng)).number in good,
                      read(predictor, 255 - bare.pixels).number == truth.replace(sign, "")]
        rows.append(Row(f"pen numbers (2-5 digits) with {what}, window / picture / phone-photo-like / the picture "
                        f"without {mark_name}: exact", " / ".join(f"{r / NUMBERS:.2%}" for r in right) + f" of {NUMBERS}",
                        "", CMD, SINGLE, None))
    return rows
