"""Connected components and splitting a written number into digits (pure numpy)."""

from collections import deque

import numpy as np
import pytest

from app import samples
from app.components import label
from app.drawing import stamp_polyline
from app.preprocess import to_ink
from app.segment import group_columns, split_digits


def flood_fill(mask):
    """Reference 8-connected labelling, slow and obvious."""
    h, w = mask.shape
    labels = np.zeros((h, w), int)
    count = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and not labels[y, x]:
                count += 1
                labels[y, x] = count
                queue = deque([(y, x)])
                while queue:
                    cy, cx = queue.popleft()
                    for ny in (cy - 1, cy, cy + 1):
                        for nx in (cx - 1, cx, cx + 1):
                            if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                                labels[ny, nx] = count
                                queue.append((ny, nx))
    return labels, count


def test_labels_match_a_flood_fill_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = rng.integers(1, 25, 2)
        mask = rng.random((h, w)) < rng.random()
        found = label(mask)
        expected, count = flood_fill(mask)
        assert found.count == count
        # Same partition: a one-to-one map between the two labellings.
        pairs = set(zip(found.labels[mask], expected[mask]))
        assert len(pairs) == count
        for i in range(count):
            ys, xs = np.nonzero(found.labels == i + 1)
            assert tuple(found.boxes[i]) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert found.mass[i] == len(ys)


def test_diagonal_pixels_touch_and_mass_uses_weights():
    mask = np.eye(4, dtype=bool)
    found = label(mask, np.full((4, 4), 0.5))
    assert found.count == 1 and found.mass[0] == pytest.approx(2.0)
    assert label(np.zeros((3, 3), bool)).count == 0


def write(digits, spacing=130, height=160, size=(600, 260), slant=0.1):
    """Render a number the way a user writes it: digit after digit, left to right."""
    pixels = np.zeros((size[1], size[0]), np.uint8)
    for i, digit in enumerate(digits):
        for path in samples.stroke_paths(digit, (30 + i * spacing, 50, height), slant):
            stamp_polyline(pixels, path, 0.12 * height)
    return pixels


def test_a_number_splits_into_its_digits_left_to_right():
    pixels = write([2, 0, 2, 6])
    pieces = split_digits(to_ink(pixels))
    assert len(pieces) == 4
    lefts = [p.box[0] for p in pieces]
    assert lefts == sorted(lefts)
    for piece in pieces:
        x0, y0, x1, y1 = piece.box
        assert piece.ink.shape == (y1 - y0, x1 - x0)


def test_strokes_of_one_digit_stay_together():
    pixels = np.zeros((300, 300), np.uint8)
    stamp_polyline(pixels, [(150, 40), (90, 40), (85, 130)], 14)  # the 5's bar, lifted pen ...
    stamp_polyline(pixels, [(95, 150), (180, 150), (190, 220), (150, 260), (90, 250)], 14)  # ... and body
    assert len(split_digits(to_ink(pixels))) == 1


def test_neighbouring_ink_is_removed_from_each_piece():
    pixels = np.zeros((260, 260), np.uint8)
    stamp_polyline(pixels, [(100, 40), (180, 40), (120, 200)], 14)  # a 7 ...
    stamp_polyline(pixels, [(110, 120), (70, 230)], 14)  # ... and a 1 leaning into its box
    ink = to_ink(pixels)
    pieces = split_digits(ink)
    assert len(pieces) == 2
    one, seven = pieces
    assert one.box[2] > seven.box[0]  # the boxes overlap ...
    assert sum(p.ink.sum() for p in pieces) == pytest.approx(ink.sum(), rel=1e-3)  # ... the ink does not
    x0, y0 = seven.box[:2]
    assert seven.ink[130 - y0, 105 - x0] == 0  # the 1's ink is not in the 7's piece


def test_specks_do_not_become_digits():
    pixels = write([4])
    pixels[5:8, 500:503] = 255
    pixels[240:242, 10:12] = 255
    assert len(split_digits(to_ink(pixels))) == 1


def test_group_columns():
    boxes = [(100, 0, 150, 10), (0, 0, 40, 10), (30, 20, 60, 30), (110, 20, 140, 30)]
    # 0..40 and 30..60 overlap by 10 of the narrower 30: not enough; 110..140 lies inside 100..150.
    assert group_columns(boxes) == [[1], [2], [0, 3]]
    assert group_columns([]) == []


def test_overlap_boundary_is_half_the_narrower_blob():
    """Blobs sharing half of the narrower one's extent are one digit (a 4's two strokes); a pixel less, two."""
    assert group_columns([(0, 0, 40, 10), (20, 20, 60, 30)]) == [[0, 1]]
    assert group_columns([(0, 0, 40, 10), (21, 20, 61, 30)]) == [[0], [1]]
    assert group_columns([(0, 0, 100, 10), (60, 20, 80, 30)]) == [[0, 1]]  # narrow blob inside a wide one
    assert group_columns([(0, 0, 100, 10), (89, 20, 109, 30)]) == [[0, 1]]  # 11 of 20 px: still one
    assert group_columns([(0, 0, 100, 10), (91, 20, 111, 30)]) == [[0], [1]]  # 9 of 20 px: two digits


def mnist_number(images, scale=3, gap=24):
    """MNIST test digits side by side, scaled up, with gaps: a number the model was never trained on."""
    from PIL import Image

    side = 28 * scale
    strip = np.zeros((side + 2 * gap, len(images) * (side + gap) + gap), np.uint8)
    for i, digit in enumerate(images):
        big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
        x = gap + i * (side + gap)
        strip[gap:gap + side, x:x + side] = np.maximum(strip[gap:gap + side, x:x + side], big)
    return 255 - strip  # dark ink on paper, like a scan


def test_shipped_model_reads_numbers_of_unseen_digits(shipped_model, mnist_test):
    """Segmentation and the real model together, on MNIST test digits (never trained on) written as
    3-digit numbers: most numbers are read exactly (a split or merged digit makes the number wrong)."""
    from app.predictor import Predictor
    from app.recognize import read

    images, labels = mnist_test
    predictor = Predictor(shipped_model)
    exact = []
    for start in range(0, 300, 3):
        want = "".join(str(d) for d in labels[start:start + 3])
        exact.append(read(predictor, mnist_number(images[start:start + 3])).number == want)
    assert np.mean(exact) >= 0.95, np.mean(exact)


# -- dashes: a minus sign, a hyphen --------------------------------------------------


def with_dash(dash, digits=(4, 2), pen=0.12, left=150):
    """`digits` written from x `left`, 160 px tall from y 50, and a dash from (x0, y) to (x1, y + rise),
    every stroke `pen` of the height wide."""
    pixels = write(digits, height=160, size=(800, 260))
    pixels = np.roll(pixels, left - 30, axis=1)
    (x0, y0), (x1, y1) = dash
    stamp_polyline(pixels, [(x0, y0), (x1, y1)], pen * 160)
    return split_digits(to_ink(pixels))


def test_a_flat_mark_at_the_middle_height_before_digits_is_a_minus_sign():
    assert [p.kind for p in with_dash(((60, 130), (110, 133)))] == ["dash", "digit", "digit"]


def test_a_thick_pen_does_not_make_a_dash_a_blob():
    """Its ink is 110 x 40 px, flatter than a third only along the pen's path."""
    assert [p.kind for p in with_dash(((50, 130), (110, 130)), pen=0.25)] == ["dash", "digit", "digit"]


def test_a_flat_mark_between_digits_is_a_hyphen():
    pixels = write([4, 2, 7], spacing=200, height=160, size=(700, 260))
    stamp_polyline(pixels, [(200, 130), (240, 132)], 0.12 * 160)
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "dash", "digit", "digit"]


def test_a_short_hyphen_a_little_below_the_middle_is_no_point():
    """Small and low enough for a decimal point (its centre 0.6 of the way down), but flat at the
    digits' middle height: a hyphen (held-out writers' "47-39" read "47.39")."""
    pixels = write([4, 2, 7], spacing=200, height=160, size=(700, 260))
    stamp_polyline(pixels, [(175, 146), (210, 147)], 0.12 * 160)
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "dash", "digit", "digit"]


def test_a_point_at_the_foot_of_the_digits_stays_a_point():
    pixels = write([4, 2, 7], spacing=200, height=160, size=(700, 260))
    stamp_polyline(pixels, [(170, 200), (177, 201)], 0.12 * 160)
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "separator", "digit", "digit"]


@pytest.mark.parametrize("dash,left", [
    (((60, 62), (110, 62)), 150),  # high beside the digits
    (((60, 200), (110, 200)), 150),  # low
    (((60, 160), (90, 120)), 150),  # steep
    (((60, 148), (115, 120)), 150),  # tilted: flat only as ink, not along the pen's path
    (((20, 130), (250, 130)), 300),  # longer than a digit is tall
], ids=["high", "low", "steep", "tilted", "long"])
def test_a_flat_mark_elsewhere_is_no_dash(dash, left):
    assert "dash" not in [p.kind for p in with_dash(dash, left=left)]


def test_a_flat_mark_after_the_last_digit_is_no_dash():
    assert "dash" not in [p.kind for p in with_dash(((450, 130), (500, 130)))]


def test_a_number_with_a_minus_sign_reads_it(shipped_model):
    from app.predictor import Predictor
    from app.recognize import read

    pixels = write([4, 2], height=160, size=(700, 260))
    pixels = np.roll(pixels, 120, axis=1)
    stamp_polyline(pixels, [(60, 130), (110, 132)], 0.12 * 160)
    assert read(Predictor(shipped_model), pixels).number == "-42"


def test_a_flat_mark_low_beside_the_digit_before_it_is_no_dash():
    """At the middle of the digit after it, but at the foot of a tall mark before it: no hyphen."""
    pixels = write([4, 2], height=160, size=(800, 260))
    pixels = np.roll(pixels, 170, axis=1)
    stamp_polyline(pixels, [(60, 20), (60, 170)], 19)
    stamp_polyline(pixels, [(100, 160), (165, 161)], 19)
    assert "dash" not in [p.kind for p in split_digits(to_ink(pixels))]


def test_a_minus_sign_whose_ink_runs_into_the_digit_is_cut_from_it():
    pixels = write([4, 2], height=160, size=(800, 260))
    pixels = np.roll(pixels, 120, axis=1)
    stamp_polyline(pixels, [(60, 130), (175, 131)], 0.12 * 160)  # into the 4's stroke
    ink = to_ink(pixels)
    assert label(ink > 0.1).count == 2  # the minus and the 4 are one blob
    dash, four, two = split_digits(ink)
    assert (dash.kind, four.kind, two.kind) == ("dash", "digit", "digit")
    assert dash.box[2] == four.box[0] and dash.box[3] - dash.box[1] < 0.2 * (four.box[3] - four.box[1])
    assert four.ink.shape == (four.box[3] - four.box[1], four.box[2] - four.box[0])


@pytest.mark.parametrize("length, drop", [(55, 16), (55, 24), (70, 24)])
def test_a_minus_sign_run_into_a_4s_corner_below_it_is_cut_from_it(length, drop):
    """A minus sign written close to a 4 with a thick pen meets its corner, where the slanted stroke comes
    down to the bar lower: the columns from the dash's end to the corner are one pen thick, but lower than
    the dash, and taken with it they made a dash too tall for one (training writers' "-45" read "45")."""
    pixels, pen = np.zeros((260, 400), np.uint8), 28
    stamp_polyline(pixels, [(118 - length, 130), (118, 131), (128, 131 + drop)], pen)  # down into the corner
    stamp_polyline(pixels, [(190, 40), (130, 150), (240, 150)], pen)  # the 4's slanted stroke and bar
    stamp_polyline(pixels, [(205, 60), (205, 230)], pen)  # its stem
    ink = to_ink(pixels)
    assert label(ink > 0.1).count == 1
    assert [p.kind for p in split_digits(ink)] == ["dash", "digit"]


def test_a_hyphen_after_a_5_whose_bar_is_drawn_apart_is_a_hyphen(shipped_model):
    """The 5's bar, lifted and reaching right, is a column of its own, flat and high: taken for the digit
    before the hyphen, the hyphen was not at its middle height, and the flat mark was read as a point
    ("15.1" for "15-1"). The digit before it is the 5's body."""
    from app.predictor import Predictor
    from app.recognize import read

    pixels = np.zeros((260, 600), np.uint8)
    stamp_polyline(pixels, [(60, 50), (60, 210)], 12)  # a 1
    stamp_polyline(pixels, [(150, 55), (145, 120), (200, 115), (215, 165), (190, 205), (140, 200)], 12)
    stamp_polyline(pixels, [(205, 50), (265, 48)], 12)  # the 5's bar, drawn apart
    stamp_polyline(pixels, [(300, 130), (350, 131)], 12)  # the hyphen
    stamp_polyline(pixels, [(400, 50), (400, 210)], 12)  # a 1
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "digit", "digit", "dash", "digit"]
    assert read(Predictor(shipped_model), pixels).number == "15-1"


def test_a_hyphen_whose_ink_runs_into_the_digit_after_it_is_cut_from_it():
    pixels = write([4, 0, 7], spacing=200, height=160, size=(700, 260))
    stamp_polyline(pixels, [(175, 130), (245, 131)], 0.12 * 160)  # into the 0's left side
    ink = to_ink(pixels)
    assert label(ink > 0.1).count == 3
    pieces = split_digits(ink)
    assert [p.kind for p in pieces] == ["digit", "dash", "digit", "digit"]
    assert pieces[1].box[2] == pieces[2].box[0]


def test_a_hyphen_whose_ink_runs_into_the_digit_before_it_is_cut_from_it():
    pixels = write([0, 4, 7], spacing=200, height=160, size=(700, 260))
    stamp_polyline(pixels, [(125, 130), (190, 131)], 0.12 * 160)  # out of the 0's right side
    ink = to_ink(pixels)
    assert label(ink > 0.1).count == 3
    zero, dash, four, seven = split_digits(ink)
    assert [p.kind for p in (zero, dash, four, seven)] == ["digit", "dash", "digit", "digit"]
    assert zero.box[2] == dash.box[0] < dash.box[2] < four.box[0]
    assert zero.ink.shape == (zero.box[3] - zero.box[1], zero.box[2] - zero.box[0])
    assert dash.ink.shape == (dash.box[3] - dash.box[1], dash.box[2] - dash.box[0])


def test_a_flat_stroke_run_into_a_digit_low_beside_the_digit_before_it_is_no_hyphen():
    """At the middle of the 4 it runs into, but at the foot of the tall mark before it."""
    pixels = write([4, 2], height=160, size=(800, 260))
    pixels = np.roll(pixels, 170, axis=1)
    stamp_polyline(pixels, [(60, 20), (60, 170)], 19)
    stamp_polyline(pixels, [(100, 150), (215, 151)], 19)
    assert label(to_ink(pixels) > 0.1).count == 3
    assert "dash" not in [p.kind for p in split_digits(to_ink(pixels))]


def test_a_bar_reaching_out_of_a_4_through_its_stem_is_no_hyphen():
    """Flat, at the middle height, as long as a hyphen beyond the stem: but it crosses the stem."""
    pixels = np.zeros((260, 700), np.uint8)
    stamp_polyline(pixels, [(120, 50), (40, 150), (200, 150)], 19)
    stamp_polyline(pixels, [(130, 50), (130, 210)], 19)
    stamp_polyline(pixels, [(260, 50), (260, 210)], 19)  # a 1 after it
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "digit"]


def test_a_flat_stroke_meeting_the_digit_high_is_no_minus_sign():
    """A 7's bar drawn low at its left: flat and beside the stem's middle, but it meets the stem high."""
    pixels = np.zeros((300, 400), np.uint8)
    stamp_polyline(pixels, [(60, 130), (160, 100)], 19)
    stamp_polyline(pixels, [(165, 60), (150, 290)], 19)
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit"]


def test_a_digit_beginning_with_a_flat_stroke_at_its_top_or_foot_is_no_minus_sign():
    pixels = np.zeros((300, 400), np.uint8)
    stamp_polyline(pixels, [(60, 60), (160, 60), (120, 290)], 19)  # a 7
    stamp_polyline(pixels, [(210, 60), (250, 60), (250, 290), (300, 290)], 19)  # a bar, a stem, a base
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "digit"]


def test_a_flat_stroke_into_a_small_mark_before_the_digits_is_no_minus_sign():
    """An arrow drawn to the number: its shaft is flat and at the middle height of its head, but the
    head is no digit beside the number's."""
    pixels = write([4, 2], height=160, size=(800, 260))
    pixels = np.roll(pixels, 150, axis=1)
    stamp_polyline(pixels, [(70, 130), (130, 130)], 19)
    stamp_polyline(pixels, [(120, 108), (140, 130), (120, 152)], 19)
    assert [p.kind for p in split_digits(to_ink(pixels))][0] == "digit"


@pytest.mark.parametrize("stroke, left", [
    ([(50, 150), (140, 132)], 130),  # rising into it: an 8's or a 9's lead-in stroke
    ([(97, 128), (132, 128)], 130),  # short for the digit
    ([(60, 175), (130, 175)], 130),  # into it well below its middle: a 2's base drawn on to the left
    ([(20, 130), (335, 130)], 330),  # longer than the digit is tall: a line, no sign
], ids=["rising", "short", "low", "long"])
def test_a_stroke_led_into_the_first_digit_is_no_minus_sign(stroke, left):
    pixels = write([0], height=160, size=(600, 260))
    pixels = np.roll(pixels, left - 30, axis=1)  # the 0 from x `left`
    stamp_polyline(pixels, stroke, 19)
    ink = to_ink(pixels)
    assert label(ink > 0.1).count == 1
    assert [p.kind for p in split_digits(ink)] == ["digit"]


def seven_point_one(pen, dot_x, dot_y=205, dot_len=1):
    """A 7 whose bar reaches over a point written close to it, then a 1: ink from stamp_polyline."""
    pixels = np.zeros((260, 300), np.uint8)
    stamp_polyline(pixels, [(30, 50), (150, 50), (70, 210)], pen)
    stamp_polyline(pixels, [(205, 50), (205, 210)], pen)
    stamp_polyline(pixels, [(dot_x, dot_y), (dot_x + dot_len, dot_y)], pen)
    return split_digits(to_ink(pixels))


@pytest.mark.parametrize("pen,dot_len", [(16, 1), (4, 5)], ids=["thick pen", "thin pen"])
def test_a_point_under_a_neighbours_overhang_is_a_point(pen, dot_len):
    """A speck (light beside the digits) whose box lies across the 7's (training writers' "5.3",
    "3345.1" read without the point)."""
    pieces = seven_point_one(pen, 140, dot_len=dot_len)
    assert [p.kind for p in pieces] == ["digit", "separator", "digit"]
    assert pieces[1].box[0] <= 140 <= pieces[1].box[2]
    assert pieces[0].ink.shape[1] == pieces[0].box[2] - pieces[0].box[0]


@pytest.mark.parametrize("pen,dot_len", [(16, 6), (4, 5)], ids=["thick pen", "thin pen: a speck"])
def test_a_small_mark_within_a_digits_own_ink_is_no_point(pen, dot_len):
    """Between the 7's stem and its own bar's end at its height: part of the 7 (a broken stroke)."""
    pieces = seven_point_one(pen, 100, dot_y=120, dot_len=dot_len)
    assert [p.kind for p in pieces] == ["digit", "digit"]


@pytest.mark.parametrize("pen,dot_len", [(16, 1), (4, 5)], ids=["thick pen", "thin pen"])
def test_a_small_mark_low_inside_a_digit_is_no_point(pen, dot_len):
    """Its nearest ink on both sides is the 0's own: a broken stroke, not a point written close."""
    pixels = np.zeros((260, 300), np.uint8)
    stamp_polyline(pixels, [(90, 50), (150, 90), (150, 170), (90, 210), (30, 170), (30, 90), (90, 50)], pen)
    stamp_polyline(pixels, [(205, 50), (205, 210)], pen)
    stamp_polyline(pixels, [(90, 160), (90 + dot_len, 160)], pen)
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "digit"]


def thin_number_with_mark(mark):
    """"4", "1" written with a 4 px pen, 130 px tall, `mark` (a uint8 patch) on the baseline between them."""
    pixels = np.zeros((220, 300), np.uint8)
    stamp_polyline(pixels, [(90, 40), (40, 130), (120, 130)], 4)
    stamp_polyline(pixels, [(100, 80), (100, 170)], 4)
    stamp_polyline(pixels, [(190, 40), (190, 170)], 4)
    h, w = mark.shape
    pixels[166:166 + h, 145:145 + w] = mark
    return [p.kind for p in split_digits(to_ink(pixels))]


def test_a_thin_pens_tap_is_a_point_though_tiny():
    """A tap as wide as a 4 px pen, under 5 % of the digits' height (a training writer's "80.3" read "803")."""
    tap = np.zeros((8, 8), np.uint8)
    stamp_polyline(tap, [(4, 4), (4.5, 4)], 4)
    assert thin_number_with_mark(tap) == ["digit", "separator", "digit"]


@pytest.mark.parametrize("mark", [np.full((3, 3), 255, np.uint8), np.eye(6, dtype=np.uint8) * 255],
                         ids=["narrower than the pen", "a hair, not a solid dot"])
def test_a_speck_smaller_than_5_percent_that_is_no_tap_is_no_point(mark):
    assert thin_number_with_mark(mark) == ["digit", "digit"]


@pytest.mark.parametrize("brush", [20, 28])
def test_a_2s_base_rising_into_the_gap_is_no_hyphen(brush):
    """A training writer's 2 ends in a base that rises into the gap and meets the 2 low (0.68 of the
    way down): it read "2-9" ("6139291" read "61392-91"); a hyphen run out of the digit before it
    meets it at its middle."""
    from .test_strokes import draw, pen_digits, place

    two, nine = (next(d for d in pen_digits() if d.writer == "apa/apa14/app1449" and d.label == label)
                 for label in "29")
    left, right = place([two, nine], height=120, gap=0.35)
    pieces = split_digits(to_ink(draw([*left, *right], brush=brush).pixels))
    assert [p.kind for p in pieces] == ["digit", "digit"]


def test_a_faint_mark_reaching_into_a_neighbours_span_is_no_point():
    """A stub of a squared paper's line left low between digits is no solid dot (held-out writers'
    numbers photographed on squared paper read "19.5" for "195")."""
    pixels = np.zeros((260, 300), np.uint8)
    stamp_polyline(pixels, [(30, 50), (150, 50), (70, 210)], 4)
    stamp_polyline(pixels, [(205, 50), (205, 210)], 4)
    pixels[200:211, 140:151] = np.maximum(np.eye(11), np.eye(11)[::-1]).astype(np.uint8) * 255  # an x of hair
    assert [p.kind for p in split_digits(to_ink(pixels))] == ["digit", "digit"]
