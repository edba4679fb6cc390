"""Marks drawn round a number (app.marks): a ring or a line under it is erased from a picture and set
aside from the canvas's strokes; a slashed zero, two touching 0s, a 2's base and a fraction's bar are not."""

import numpy as np
import pytest

from app import components, strokes
from app.marks import marking_strokes, remove_marks
from app.predictor import Predictor
from app.preprocess import INK_THRESHOLD, ink_and_blobs
from app.recognize import read, read_drawing

from .test_strokes import draw, place, validation_digits


@pytest.fixture(scope="module")
def predictor(shipped_model):
    return Predictor(shipped_model)


def ring_round(points, margin=0.1, turns=1.06):
    """A ring drawn round `points`: the ellipse through the corners of their box grown by `margin` of
    their height (at 0 it touches what reaches those corners), a little over a turn."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    pad = margin * (y1 - y0)
    t = 0.7 + np.linspace(0, 2 * np.pi * turns, 120)
    return np.stack([(x0 + x1) / 2 + ((x1 - x0) / 2 + pad) * np.sqrt(2) * np.cos(t),
                     (y0 + y1) / 2 + ((y1 - y0) / 2 + pad) * np.sqrt(2) * np.sin(t)], axis=1)


def line_under(points, gap=0.1):
    """A line drawn under `points`, `gap` of their height below them, a little longer than they are wide."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    x = np.linspace(x0 - 0.1 * (y1 - y0), x1 + 0.1 * (y1 - y0), 40)
    return np.stack([x, y1 + gap * (y1 - y0) + 0.02 * (x - x0)], axis=1)


def number(samples, height=90.0):
    """Strokes of `samples` written as a number in the middle of the canvas."""
    return [s for digit in place(samples, height=height, left=120.0, baseline=250.0) for s in digit]


def inked(stroke_lists, brush=8.0):
    """A picture (dark on white) of the strokes drawn at `brush`."""
    return 255 - draw(stroke_lists, brush=brush).pixels


def held_out_numbers(start, count=12, digits=3):
    samples = validation_digits()[start::41][: count * digits]
    return [samples[k : k + digits] for k in range(0, len(samples), digits)]


def blobs_of(picture):
    ink = 1.0 - picture.astype(np.float32) / 255.0
    return ink, components.label(ink > INK_THRESHOLD, ink)


@pytest.mark.parametrize("mark", [ring_round, line_under], ids=["circled", "underlined"])
def test_a_marked_number_reads_as_without_the_mark(predictor, mark):
    # Before app.marks a circled number read "0" (the ring swallowed it) and a line joined the digits on it.
    same = 0
    for samples in held_out_numbers(5):
        writing = number(samples)
        marked = inked(writing + [mark(np.concatenate(writing))])
        same += read(predictor, marked).number == read(predictor, inked(writing)).number
    assert same >= 11, f"{same} of 12 numbers read as without the mark"


def test_a_ring_touching_the_digits_is_erased_and_they_are_kept(predictor):
    same = touched = 0
    for samples in held_out_numbers(9):
        writing = number(samples)
        tight = inked(writing + [ring_round(np.concatenate(writing), margin=0.0)], brush=10.0)
        bare = inked(writing, brush=10.0)
        touched += blobs_of(tight)[1].count < blobs_of(bare)[1].count + 1
        same += read(predictor, tight).number == read(predictor, bare).number
    assert touched >= 6
    assert same >= 10, f"{same} of 12 numbers in a ring touching them read as without it"


def box_hugging(points, pen):
    """A box drawn by hand (rounded corners) whose top and bottom run along the writing's top and
    bottom, a pen apart (their inks meet): every digit as tall as the number touches it."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    t = 0.7 + np.linspace(0, 2 * np.pi * 1.04, 160)
    c, s = np.cos(t), np.sin(t)
    rx, ry = (x1 - x0) / 2 + 0.2 * (y1 - y0), (y1 - y0) / 2 + 0.9 * pen
    return np.stack([(x0 + x1) / 2 + rx * np.sign(c) * np.abs(c) ** 0.5,
                     (y0 + y1) / 2 + ry * np.sign(s) * np.abs(s) ** 0.5], axis=1)


def test_a_hand_drawn_ring_hugging_the_digits_leaves_them_whole(predictor):
    # Rings drawn as the benchmark draws them (a wobbling superellipse, 0.15-0.4 of the height clear of the
    # writing's box, so it touches the digits that reach out). The band was cut at 1.25 times the local
    # median of the rays' runs, which a digit lying along the ring raised: it went with the ring
    # (43 of these 72 read as without the ring; now 55).
    from benchmarks.mark_figures import ring

    same = 0
    for brush in (16.0, 24.0):
        rng = np.random.default_rng(0)
        for start in (21, 33, 37):
            for samples in held_out_numbers(start):
                writing = number(samples)
                points = np.concatenate(writing)
                box = (*points.min(axis=0), *points.max(axis=0))
                marked = inked(writing + [ring(box, box[3] - box[1], rng)], brush=brush)
                same += read(predictor, marked).number == read(predictor, inked(writing, brush=brush)).number
    assert same >= 51, f"{same} of 72 circled numbers read as without the ring"


def test_a_ring_every_digit_touches_is_erased(predictor):
    # Nothing it holds stands apart from it: before, a number boxed this tightly read "0" or "00".
    # The crumbs its erasing leaves where it ran along a digit are no decimal points.
    same = every = points = 0
    for samples in held_out_numbers(29):
        writing = number(samples)
        boxed = inked(writing + [box_hugging(np.concatenate(writing), pen=12.0)], brush=12.0)
        bare = inked(writing, brush=12.0)
        every += blobs_of(boxed)[1].count == 1
        got = read(predictor, boxed).number
        same += got == read(predictor, bare).number
        points += "." in got
    assert every >= 9
    assert points == 0
    assert same >= 5, f"{same} of 12 numbers boxed tightly read as without the box"  # before: 1


def ring_past_its_start(points):
    return ring_round(points, turns=1.2)


@pytest.mark.parametrize("mark", [ring_round, ring_past_its_start, line_under],
                         ids=["circled", "circled on past its start", "underlined"])
def test_the_window_sets_a_mark_aside(predictor, mark):
    same = 0
    for samples in held_out_numbers(13):
        writing = number(samples)
        marked = draw(writing + [mark(np.concatenate(writing))])
        assert marking_strokes(strokes.from_drawing(marked.strokes)) == {len(writing)}
        same += read_drawing(predictor, marked).number == read_drawing(predictor, draw(writing)).number
    assert same >= 11, f"{same} of 12 numbers read in the window as without the mark"


def ellipse(cx, cy, rx, ry, turns=1.04):
    t = np.linspace(0, 2 * np.pi * turns, 100)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def tilted(cx, cy, rx, ry, degrees, turns=1.04):
    """An ellipse turned by `degrees`."""
    t, a = np.linspace(0, 2 * np.pi * turns, 100), np.radians(degrees)
    x, y = rx * np.cos(t), ry * np.sin(t)
    return np.stack([cx + x * np.cos(a) - y * np.sin(a), cy + x * np.sin(a) + y * np.cos(a)], axis=1)


def segment(x0, y0, x1, y1, n=20):
    return np.linspace((x0, y0), (x1, y1), n)


SLASHED_ZERO = [ellipse(280, 200, 45, 75), segment(250, 265, 305, 140)]  # the slash reaches the ring
TWO_ZEROS = [ellipse(230, 200, 55, 80), ellipse(325, 205, 42, 72),  # the second's side inside the first,
             segment(305, 255, 345, 150)]  # and it slashed
TWO_BODY = np.array([(240, 150), (270, 125), (305, 140), (300, 185), (240, 270)])
TWO = [np.concatenate([TWO_BODY, segment(240, 270, 390, 272)])]
TWO_UNDER_NINE = [np.concatenate([TWO_BODY, segment(240, 270, 430, 272)]), ellipse(380, 180, 30, 35),
                  segment(410, 180, 405, 268)]  # the 2's base runs on under the 9 standing on it
TWO_BASE_APART = [TWO_BODY, segment(238, 283, 380, 285)]
FRACTION = [segment(260, 60, 260, 160), segment(160, 200, 420, 200), ellipse(280, 280, 35, 50)]
ONE_IN_A_ZEROS_BOX = [ellipse(280, 200, 45, 75), segment(323, 127, 323, 273)]
WIDE_SLASHED_ZERO = [tilted(280, 200, 136, 56, -30), segment(176, 270, 384, 150)]  # lying down, a training
# writer's "0" in "-10996": one convex shape wider than tall, and the slash is a good share of its ink


@pytest.mark.parametrize("writing", [SLASHED_ZERO, TWO_ZEROS, TWO, TWO_UNDER_NINE, TWO_BASE_APART, FRACTION,
                                     ONE_IN_A_ZEROS_BOX, WIDE_SLASHED_ZERO],
                         ids=["slashed zero", "two touching 0s", "a 2's long base", "a 2's base under a 9",
                              "a 2's base drawn apart", "a fraction's bar", "a 1 overlapping a 0",
                              "a wide slashed zero"])
def test_writing_is_no_mark(writing):
    ink, found = blobs_of(inked(writing, brush=10.0))
    assert remove_marks(ink, found, INK_THRESHOLD) == (ink, found)
    assert marking_strokes(strokes.from_drawing(draw(writing, brush=8.0).strokes)) == set()


def test_a_slash_apart_from_its_zero_reaching_it_in_the_window_is_no_ring():
    writing = [ellipse(280, 200, 45, 75), segment(255, 258, 292, 170)]  # one end within two pens of the ring
    assert marking_strokes(strokes.from_drawing(draw(writing, brush=8.0).strokes)) == set()


def test_a_circled_one_keeps_clear_of_its_ring(predictor):
    writing = [segment(280, 140, 280, 260), ellipse(280, 200, 45, 95)]
    assert read(predictor, inked(writing, brush=10.0)).number == "1"
    assert read_drawing(predictor, draw(writing, brush=10.0)).number == "1"


def test_touching_digits_are_no_ring():
    # A touching number's outline goes round the rest of its ink, and a 0 among its neighbours holds them in its box.
    for samples in held_out_numbers(17, count=12, digits=4):
        writing = [s for digit in place(samples, height=90.0, gap=-0.08, left=100.0, baseline=250.0) for s in digit]
        ink, found = blobs_of(inked(writing, brush=28.0))
        assert remove_marks(ink, found, INK_THRESHOLD) == (ink, found)
        assert marking_strokes(strokes.from_drawing(draw(writing, brush=28.0).strokes)) == set()


def test_the_read_path_erases_a_ring():
    writing = number(validation_digits()[:3])
    ink, found = ink_and_blobs(inked(writing + [ring_round(np.concatenate(writing))]))
    tallest = (found.boxes[:, 3] - found.boxes[:, 1]).max()
    assert tallest < 100  # the digits, 90 px tall; the ring was 150


def test_a_line_the_digits_rest_on_is_erased_and_their_feet_kept(predictor):
    same = touched = 0
    for samples in held_out_numbers(21):
        writing = number(samples)
        line = line_under(np.concatenate(writing), gap=0.0)
        marked, bare = inked(writing + [line], brush=16.0), inked(writing, brush=16.0)
        touched += blobs_of(marked)[1].count < blobs_of(bare)[1].count + 1
        same += read(predictor, marked).number == read(predictor, bare).number
    assert touched >= 10
    assert same >= 9, f"{same} of 12 numbers resting on a line read as without it"


def test_a_thick_pens_line_is_erased_from_under_the_digits_resting_on_it(predictor):
    # Kept whole where they touch it, the line read as their feet (a 0 as a 6, a 7 as a 2).
    same = 0
    for start in (21, 33, 37):
        for samples in held_out_numbers(start):
            writing = number(samples)
            marked = inked(writing + [line_under(np.concatenate(writing), gap=0.05)], brush=24.0)
            same += read(predictor, marked).number == read(predictor, inked(writing, brush=24.0)).number
    assert same >= 19, f"{same} of 36 numbers on a thick line read as without it"  # before: 16


def line_from_left_edge(points):
    """A line under `points`, touching them, from their left edge (no lead-in, as a hand often draws it)
    to a little past their right."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    x = np.linspace(x0, x1 + 0.1 * (y1 - y0), 40)
    return np.stack([x, np.full_like(x, y1 + 0.02 * (y1 - y0))], axis=1)


def test_a_line_from_the_writings_left_edge_is_erased(predictor):
    # It meets the first digit where it begins, as a 2's base does; with several digits standing on it
    # and LONG times as long as they are tall it is a line under them. Kept as a 2's base, it joined
    # them into one blob: 22 of these 36 lines were erased and 20 numbers read as without it (now 35, 24).
    same = erased = 0
    for start in (21, 33, 37):
        for samples in held_out_numbers(start):
            writing = number(samples)
            marked = inked(writing + [line_from_left_edge(np.concatenate(writing))], brush=16.0)
            ink, found = blobs_of(marked)
            erased += remove_marks(ink, found, INK_THRESHOLD)[0] is not ink
            same += read(predictor, marked).number == read(predictor, inked(writing, brush=16.0)).number
    assert erased >= 32, f"{erased} of 36 lines erased"
    assert same >= 23, f"{same} of 36 numbers on such a line read as without it"


def test_a_2_on_its_own_long_base_keeps_it(predictor, mnist_test):
    """Two MNIST test 2s whose base runs far right, re-drawn as the robustness benchmark draws them: the
    base is taken for a line under the 2, but under one digit alone the band stays whole (erasing its
    lower half there read 9 of these 80 as 3, 7 or 0)."""
    from benchmarks.app_figures import redraw

    images, labels = mnist_test
    read_as = [read(predictor, redraw(images[i], np.random.default_rng(seed), True)).number
               for i in (1345, 8198) for seed in range(40)]
    assert labels[1345] == labels[8198] == 2
    assert read_as.count("2") >= 78, read_as


def test_a_ring_whose_end_runs_inside_its_start_leaves_no_bits(predictor):
    # The pen comes round a little inside where it started: the ring is thicker there than its band.
    same = 0
    for samples in held_out_numbers(25):
        writing = number(samples)
        ring = ring_round(np.concatenate(writing), turns=1.15)
        centre = ring[:100].mean(axis=0)
        ring[100:] = centre + (ring[100:] - centre) * np.linspace(1.0, 0.93, 20)[:, None]
        same += read(predictor, inked(writing + [ring], brush=10.0)).number == read(
            predictor, inked(writing, brush=10.0)).number
    assert same >= 11, f"{same} of 12 numbers read as without their ring"
