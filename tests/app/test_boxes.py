"""A form's printing (app.boxes): a row of boxes, a box around a digit and a line to write on (with or
without ticks) are erased, writing is not."""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app import components
from app.boxes import remove_boxes
from app.predictor import Predictor
from app.preprocess import INK_THRESHOLD, ink_and_blobs
from app.recognize import read
from tests.app.pictures import ring, seven

from .test_strokes import draw, validation_digits


def comb(ink, x0, y0, cell, cells, width=2, tilt=0.0):
    """`ink` (uint8 white on black) with a row of `cells` printed boxes `cell` px wide drawn over it."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    t = math.tan(math.radians(tilt))
    y, x = yy - xx * t - y0, xx + yy * t - x0  # the tilt undone
    inside = (x > -width) & (x < cells * cell + width) & (y > -width) & (y < cell + width)
    level = (np.abs(y) < width / 2 + 0.5) | (np.abs(y - cell) < width / 2 + 0.5)
    upright = np.min([np.abs(x - k * cell) for k in range(cells + 1)], axis=0) < width / 2 + 0.5
    return np.where(inside & (level | upright), 255, ink).astype(np.uint8)


def write_on_line(ink, x0, x1, y, width=2, ticks=0, cell=100):
    """`ink` with a printed line from x0 to x1 at row y, `ticks` px tall every `cell` px from x0."""
    out = ink.copy()
    out[y : y + width, x0:x1] = 255
    if ticks:
        for x in range(x0, x1, cell):
            out[y - ticks : y, x : x + width] = 255
        out[y - ticks : y, x1 - width : x1] = 255
    return out


def blobs(ink):
    return components.label(ink > INK_THRESHOLD, ink)


def ink_of(picture):
    return picture.astype(np.float32) / 255.0


def three_rings():
    """Three small rings side by side in a 420x200 picture, 100 px apart (each inside a cell of 100)."""
    out = np.zeros((200, 420), np.uint8)
    for k in range(3):
        out = np.maximum(out, ring((420, 200), (40 + 100 * k, 60, 90 + 100 * k, 140), width=6))
    return out


def test_a_row_of_boxes_is_erased_and_what_is_in_them_kept():
    rings = three_rings()
    ink = ink_of(comb(rings, 15, 50, 100, 3))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3  # the three rings, nothing of the boxes
    assert np.array_equal(out > INK_THRESHOLD, rings > 255 * INK_THRESHOLD)


@pytest.mark.parametrize("tilt", [-2.0, 0.4, 1.5])
def test_tilted_boxes_leave_no_bits(tilt):
    rings = three_rings()
    picture = Image.fromarray(comb(rings, 15, 50, 100, 3)).rotate(tilt, resample=Image.Resampling.BILINEAR)
    ink = ink_of(np.asarray(picture))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3
    sides = found.boxes[:, 2:] - found.boxes[:, :2]
    assert (sides >= 40).all()  # three rings, each whole


def test_a_thick_1_from_side_to_side_is_writing_not_a_line():
    rings = three_rings()
    one = np.zeros_like(rings)
    one[50:151, 158:172] = 255  # a thick pen's 1 in the middle box, touching its top and bottom
    rings[:, 140:200] = one[:, 140:200]
    ink = ink_of(comb(rings, 15, 50, 100, 3))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3 and (found.boxes[:, 2] - found.boxes[:, 0]).max() < 60  # two rings and the 1
    assert (out[55:146, 158:172] > INK_THRESHOLD).all()


def test_a_thin_1_from_side_to_side_is_writing_not_a_divider():
    rings = three_rings()
    rings[:, 140:200] = 0
    rings[50:151, 145:148] = 255  # a pen's 1 as thin as the lines, touching top and bottom, off the divisions
    ink = ink_of(comb(rings, 15, 50, 100, 3))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3 and (out[55:146, 145:148] > INK_THRESHOLD).all()


def test_a_stroke_across_a_side_keeps_its_ink():
    seven_ink = seven((280, 280), at=(60, 40), height=200, width=8)  # its stem runs out through the bottom
    ink = ink_of(comb(seven_ink, 30, 30, 180, 1))
    out, _ = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert np.all(out[seven_ink > 128] > INK_THRESHOLD)


@pytest.mark.parametrize("what", ["an empty box", "a 0 drawn as a rectangle", "a 7", "a ring"])
def test_what_holds_no_writing_stays(what):
    picture = {
        "an empty box": comb(np.zeros((200, 300), np.uint8), 50, 40, 100, 1),
        "a 0 drawn as a rectangle": comb(np.zeros((200, 300), np.uint8), 50, 40, 100, 1, width=10),
        "a 7": seven(),
        "a ring": ring(),
    }[what]
    ink = ink_of(picture)
    found = blobs(ink)
    assert remove_boxes(ink, found, INK_THRESHOLD) == (ink, found)


@pytest.mark.parametrize("ticks", [0, 30], ids=["a line", "a line with ticks"])
def test_a_line_to_write_on_is_erased_and_what_stands_on_it_kept(ticks):
    rings = three_rings()  # the rings reach down to row 140: they stand on the line
    ink = ink_of(write_on_line(rings, 15, 316, 139, ticks=ticks))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3 and ((found.boxes[:, 2:] - found.boxes[:, :2]) >= 40).all()
    assert (out[rings > 128] > INK_THRESHOLD).mean() > 0.97  # but where they sat on it


@pytest.mark.parametrize("ones", [((113, 70), (253, 70), (313, 70)), ((113, 70), (213, 80), (313, 62)),
                                  ((113, 70), (163, 70), (213, 70))],
                         ids=["one height, uneven", "even, heights of their own", "even, one height, none at an end"])
def test_ones_standing_on_a_line_are_no_ticks(ones):
    picture = np.zeros((200, 420), np.uint8)
    for x, top in ones:  # thin 1s (the last at the line's end, but in the last case)
        picture[top:140, x : x + 3] = 255
    ink = ink_of(write_on_line(picture, 15, 316, 139))
    out, found = remove_boxes(ink, blobs(ink), INK_THRESHOLD)
    assert found.count == 3 and (out[picture > 0] > INK_THRESHOLD).mean() > 0.95


@pytest.mark.parametrize("what", ["a 2's base", "a line alone", "a 1 written flat"])
def test_what_is_no_line_to_write_on_stays(what):
    picture = np.zeros((200, 300), np.uint8)
    if what == "a 2's base":  # a 2 drawn with a straight base as long as it is tall
        image = Image.new("L", (300, 200), 0)
        pen = ImageDraw.Draw(image)
        pen.arc((100, 40, 200, 110), 180, 30, fill=255, width=2)
        pen.line([(195, 90), (100, 140), (200, 140)], fill=255, width=2)
        picture = np.asarray(image)
    elif what == "a line alone":
        picture[150:152, 20:280] = 255
    else:  # one straight pen stroke with a hook at its start (a held-out writer's 1 is written so)
        image = Image.new("L", (300, 200), 0)
        ImageDraw.Draw(image).line([(30, 120), (20, 150), (280, 150)], fill=255, width=4)
        picture = np.asarray(image)
    ink = ink_of(picture)
    found = blobs(ink)
    assert remove_boxes(ink, found, INK_THRESHOLD) == (ink, found)


def test_a_hand_drawn_box_is_no_printed_one():
    rings = three_rings()
    boxed = comb(rings, 15, 50, 100, 3)
    wobbly = np.zeros_like(boxed)
    for y in range(boxed.shape[0]):  # each row, then each column shifted by up to 4 px, as a hand wanders
        wobbly[y] = np.roll(boxed[y], int(round(4 * math.sin(y / 9))))
    for x in range(boxed.shape[1]):
        wobbly[:, x] = np.roll(wobbly[:, x], int(round(4 * math.sin(x / 13))))
    ink = ink_of(np.maximum(wobbly, rings))
    found = blobs(ink)
    assert remove_boxes(ink, found, INK_THRESHOLD) == (ink, found)


@pytest.fixture(scope="module")
def predictor(shipped_model):
    return Predictor(shipped_model)


def boxed_number(samples, cell=110, brush=6.0):
    """A white-paper picture of `samples` written one per printed box, and the same without the boxes."""
    from app.pen import fit

    strokes = []
    for k, sample in enumerate(samples):
        m = 0.18 * cell
        strokes += fit(sample.strokes, (40 + k * cell + m, 150 + m, 40 + (k + 1) * cell - m, 150 + cell - m))
    bare = draw(strokes, brush=brush).pixels
    return 255 - comb(bare, 40, 150, cell, len(samples), width=3), 255 - bare


def test_numbers_written_in_a_forms_boxes_read_as_without_them(predictor):
    # Numbers of four held-out digits each, in file order: the boxes must not change what is read
    # (before app.boxes, their sides read as 1s: "97265" in five boxes read "1911216151").
    digits = validation_digits()[::37][:48]
    same = 0
    for k in range(0, len(digits), 4):
        boxed, bare = boxed_number(digits[k : k + 4])
        same += read(predictor, boxed).number == read(predictor, bare).number
    assert same >= 11, f"{same} of 12 numbers read as without their boxes"


def test_a_digit_in_a_box_reads_as_without_it(predictor):
    digits = validation_digits()[7::61][:20]
    same = sum(read(predictor, boxed).number == read(predictor, bare).number
               for boxed, bare in (boxed_number([d], cell=200, brush=10.0) for d in digits))
    assert same >= 19, f"{same} of 20 digits read as without their box"


@pytest.mark.parametrize("ticks", [0, 0.3], ids=["on a line", "on a line with ticks"])
def test_numbers_written_on_a_forms_line_read_as_without_it(predictor, ticks):
    digits = validation_digits()[11::37][:48]
    same = 0
    for k in range(0, len(digits), 4):
        _, bare = boxed_number(digits[k : k + 4])
        ink = write_on_line(255 - bare, 40, 40 + 4 * 110, 150 + int(110 * 0.82) + 2, 3, int(110 * ticks), 110)
        same += read(predictor, 255 - ink).number == read(predictor, bare).number
    assert same >= 11, f"{same} of 12 numbers read as without the line"


def test_the_read_path_erases_boxes(predictor):
    boxed, _ = boxed_number(validation_digits()[:3])
    ink, found = ink_and_blobs(boxed)
    assert found.count <= 6  # three digits, perhaps in two strokes each; no box sides
