"""app.pen: stroke records, the canvas rasteriser on strokes, and the width-normalised ink the window reads."""
import math

import numpy as np
import pytest

from app.pen import (NORM_SIDE, NORM_WIDTH, BadStrokes, check_strokes, fit, normalised_ink, parse_record,
                     render)

SEVEN = [[[0, 0], [40, 0], [15, 60]]]


def test_good_record_parses():
    sample = parse_record({"writer": "w/1", "label": "7", "strokes": SEVEN})
    assert sample.label == "7" and sample.writer == "w/1"
    assert len(sample.strokes) == 1 and sample.strokes[0].shape == (3, 2)


@pytest.mark.parametrize("strokes, message", [
    ([], "no points"),
    ([[], []], "no points"),
    ([[[0, 0], [float("nan"), 3]]], "not a finite number"),
    ([[[0, 0], [float("inf"), 3]]], "not a finite number"),
    ([[[0, 0], [1e9, 3]]], "beyond"),
    ([[[0, 0, 0]]], "not a list of [x, y] points"),
    ([[["a", "b"]]], "not a list of [x, y] points"),
    ("strokes", "must be a list"),
])
def test_bad_strokes_are_refused_with_a_reason(strokes, message):
    with pytest.raises(BadStrokes, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_strokes(strokes)


def test_empty_strokes_between_real_ones_are_dropped():
    assert len(check_strokes([[], [[1, 2], [3, 4]], []])) == 1


def test_record_without_label_is_refused():
    with pytest.raises(BadStrokes, match="label"):
        parse_record({"writer": "w", "strokes": SEVEN})


def test_one_point_renders_a_round_dot_of_the_brush_width():
    pixels = render(check_strokes([[[50, 50]]]), (100, 100), 20)
    ys, xs = np.nonzero(pixels > 127)
    assert ys.max() - ys.min() + 1 == pytest.approx(20, abs=1)
    assert xs.max() - xs.min() + 1 == pytest.approx(20, abs=1)
    assert (pixels > 127).sum() == pytest.approx(math.pi * 10 ** 2, rel=0.1)


def test_fit_fills_the_box_keeping_aspect():
    placed = fit(check_strokes(SEVEN), (100, 100, 300, 300))
    points = np.concatenate(placed)
    assert points[:, 1].min() == pytest.approx(100) and points[:, 1].max() == pytest.approx(300)
    assert np.ptp(points[:, 0]) == pytest.approx(200 * 40 / 60)


def test_normalised_ink_does_not_depend_on_the_digit_size():
    small = normalised_ink(check_strokes(SEVEN))
    big = normalised_ink(check_strokes([[[10 * x, 10 * y] for x, y in SEVEN[0]]]))
    assert small.shape == big.shape
    np.testing.assert_allclose(small, big, atol=2 / 255)


def test_normalised_stroke_width_is_a_fixed_share_of_the_digit():
    # A long horizontal bar: its thickness is the normalised width whatever the input scale.
    ink = normalised_ink(check_strokes([[[0, 0], [5, 0]]]))
    thickness = (ink[:, ink.shape[1] // 2] > 0.5).sum()
    assert thickness == pytest.approx(NORM_WIDTH * NORM_SIDE, abs=1.5)


def test_a_jittered_tap_stays_a_dot_with_min_extent():
    tap = check_strokes([[[100, 100], [101.5, 100.5]]])
    line = normalised_ink(tap)  # blown up to the full side: a bar
    dot = normalised_ink(tap, min_extent=28)
    ys, xs = np.nonzero(dot > 0.5)
    assert np.ptp(xs) <= NORM_WIDTH * NORM_SIDE + 8 and abs(np.ptp(xs) - np.ptp(ys)) <= 6
    assert np.ptp(np.nonzero(line > 0.5)[1]) >= NORM_SIDE
