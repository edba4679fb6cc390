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


# -- the batched rasteriser against the canvas' own, one segment at a time ---------------------


def reference_stamp(pixels, strokes, width):
    """The straightforward rasteriser: app.drawing.stamp_polyline on each stroke, point by point."""
    from app.drawing import stamp_polyline

    for stroke in strokes:
        stamp_polyline(pixels, [tuple(p) for p in stroke], width)


def random_strokes(rng, size):
    """1-3 random walks: taps, repeated points, short and long jumps, some leaving the raster."""
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(1, 30))
        steps = rng.normal(0, rng.choice([0.3, 3.0, 25.0]), (n, 2))
        points = np.cumsum(steps, axis=0) + rng.uniform(-0.2, 1.2, 2) * size
        if n > 2 and rng.random() < 0.3:
            points[1] = points[0]  # a segment of no length
        strokes.append(points)
    return strokes


@pytest.mark.parametrize("batch_pixels", [None, 64], ids=["default batches", "tiny batches"])
def test_stamping_all_segments_at_once_matches_the_canvas_rasteriser_pixel_for_pixel(monkeypatch, batch_pixels):
    from app import pen

    if batch_pixels:
        monkeypatch.setattr(pen, "BATCH_PIXELS", batch_pixels)
    rng = np.random.default_rng(7)
    for _ in range(300):
        size = int(rng.integers(8, 160)), int(rng.integers(8, 160))
        strokes = random_strokes(rng, np.array(size))
        width = float(rng.choice([0.4, 1.0, 2.5, 7.0, 10.0, 28.0, 41.3]))
        want = np.zeros((size[1], size[0]), np.uint8)
        reference_stamp(want, strokes, width)
        got = np.zeros_like(want)
        pen.stamp_strokes(got, strokes, width)
        assert np.array_equal(got, want), (size, width, [s.tolist() for s in strokes])


def test_stamping_keeps_the_ink_already_there_and_draws_into_views():
    from app.pen import stamp_strokes

    pixels = np.zeros((40, 40), np.uint8)
    pixels[5, 5] = 200  # brighter than the new ink's edge, far from it
    pixels[20, 20] = 3  # under the new ink
    stroke = np.array([[18.0, 20.0], [22.0, 20.0]])
    stamp_strokes(pixels, [stroke], 6.0)
    assert pixels[5, 5] == 200 and pixels[20, 20] == 255
    wide = np.zeros((40, 80), np.uint8)
    stamp_strokes(wide[:, ::2], [stroke], 6.0)  # every other column: not one block of memory
    assert np.array_equal(wide[:, ::2], pixels * (pixels != 200)) and not wide[:, 1::2].any()


def test_held_out_pen_digits_give_the_network_the_same_inputs_and_answers(monkeypatch, shipped_model):
    """model_input (what the window and training feed the network) through the batched rasteriser
    equals it through the canvas rasteriser, on real digits of held-out writers at their own size
    and at canvas size; so the shipped model answers the same."""
    from app import pen
    from app.predictor import Predictor

    from .test_strokes import validation_digits

    samples = validation_digits()[::40][:120]
    rng = np.random.default_rng(3)
    digits = [s.strokes for s in samples] + [fit(s.strokes, (0, 0, rng.uniform(30, 400), 400)) for s in samples]
    widths = [float(rng.uniform(6, 40)) for _ in digits]
    fast = [pen.model_input(d, min_extent=w) for d, w in zip(digits, widths)]
    monkeypatch.setattr(pen, "stamp_strokes", reference_stamp)
    slow = [pen.model_input(d, min_extent=w) for d, w in zip(digits, widths)]
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow))
    predictor = Predictor(shipped_model)
    assert np.array_equal(predictor.predict(np.stack(fast)).argmax(1), predictor.predict(np.stack(slow)).argmax(1))
