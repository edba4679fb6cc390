"""app.strip: a piece of ink as the number reader's strip, and greedy CTC decoding of its frames."""

import numpy as np

from app.strip import (BLANK, CLASSES, HEIGHT, INK_ROWS, MAX_COLUMNS, NOT_A_DIGIT, STRIDE, Strip, batch, decode,
                       stroke_width, strip_input)


def bars(width=300, height=120, at=(40, 150, 260), pen=6, top=10, tall=100):
    """White upright bars (pen columns wide) on black, their left edges at `at`."""
    ink = np.zeros((height, width), np.float32)
    for x in at:
        ink[top : top + tall, x : x + pen] = 1.0
    return ink


def ink_of(strip):
    return strip.pixels[:, :, 0]


def test_blank_ink_makes_no_strip():
    assert strip_input(np.zeros((50, 80), np.float32)) is None
    assert strip_input(np.full((50, 80), 0.05, np.float32)) is None  # faint below INK_THRESHOLD


def test_ink_far_wider_than_a_row_of_digits_makes_no_strip():
    # 20 rows tall: scaled by 1, so the strip is the ink's width plus the margins (2 x 8 columns).
    def line(columns):
        ink = np.zeros((30, columns + 20), np.float32)
        ink[5:25, 10 : 10 + columns] = 1.0
        return ink

    assert strip_input(line(MAX_COLUMNS - 10)) is None  # 646 strip columns
    assert strip_input(line(MAX_COLUMNS - 20)).pixels.shape[1] == MAX_COLUMNS - 4  # 636: still read


def test_strip_shape_height_and_columns():
    strip = strip_input(bars())
    h, w, c = strip.pixels.shape
    assert (h, c) == (HEIGHT, 1)
    assert w % STRIDE == 0 and w <= MAX_COLUMNS and strip.frames == w // STRIDE
    rows = np.flatnonzero((ink_of(strip) > 0.1).any(axis=1))
    assert abs(len(rows) - INK_ROWS) <= 1  # the ink is scaled to MNIST's 20-pixel box
    assert strip.pixels.dtype == np.float32 and 0.0 <= strip.pixels.min() and strip.pixels.max() == 1.0


def test_columns_are_a_multiple_of_the_stride_for_every_width():
    for width in range(10, 60):
        ink = np.zeros((40, 80), np.float32)
        ink[5:35, 5 : 5 + width] = 1.0
        ink[5:35, 12 : 5 + width - 4] = 0.0  # hollow, so that it is not thinned to nothing
        strip = strip_input(ink)
        assert strip.pixels.shape[1] % STRIDE == 0, width


def test_thick_strokes_are_thinned_to_a_fifth_of_a_wide_pieces_height():
    # 20 ink rows: a fifth is 4 strip columns. Unthinned, a 30-px pen on 100-px bars would be 6 columns wide;
    # thinned to the window's pen (an eighth, 2.5 columns), touching digits lose too much of their shape.
    for pen in (30, 40):
        width = stroke_width(ink_of(strip_input(bars(pen=pen))) > 0.5)
        assert 3.5 < width < 4.7, (pen, width)
    assert stroke_width(ink_of(strip_input(bars(pen=6))) > 0.5) < 1.5  # a thin pen is left as it is


def test_a_piece_as_narrow_as_one_digit_is_thinned_to_the_window_pen():
    # One thick bar (a 1): no neighbour to keep apart, so it is thinned as the digit model's input is, to an
    # eighth of its height (2.5 strip columns).
    width = stroke_width(ink_of(strip_input(bars(width=120, at=(40,), pen=30))) > 0.5)
    assert 2.0 < width < 3.2, width


def test_ink_columns_map_frames_back_to_the_ink():
    at = (40, 150, 260)
    ink = bars(at=at)
    strip = strip_input(ink)
    assert strip.x0 == at[0]
    profile = ink_of(strip).sum(axis=0)
    frame_ink = profile[: strip.frames * STRIDE].reshape(-1, STRIDE).sum(axis=1)
    inked = np.flatnonzero(frame_ink > 0)
    # Each bar's frames, mapped back, cover the bar's ink columns within a strip column or two.
    groups = np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1)
    assert len(groups) == len(at)
    tolerance = 2 / strip.scale
    for x, frames in zip(at, groups):
        start, end = strip.ink_columns(frames[0], frames[-1])
        assert start - tolerance <= x and x + 6 <= end + tolerance, (x, start, end)
        assert end - start <= (len(frames) * STRIDE) / strip.scale + 1e-6
        assert start >= x - STRIDE / strip.scale - tolerance and end <= x + 6 + STRIDE / strip.scale + tolerance


def test_batch_pads_narrow_strips_with_paper():
    a = Strip(np.ones((HEIGHT, 8, 1), np.float32), 0, 1.0)
    b = Strip(np.full((HEIGHT, 16, 1), 0.5, np.float32), 0, 1.0)
    out = batch([a, b])
    assert out.shape == (2, HEIGHT, 16, 1) and out.dtype == np.float32
    assert (out[0, :, :8] == 1).all() and (out[0, :, 8:] == 0).all() and (out[1] == 0.5).all()


def frames_of(classes, sure=0.9):
    """(T, CLASSES) frames whose best class per frame is `classes[t]`."""
    out = np.full((len(classes), CLASSES), (1 - sure) / (CLASSES - 1), np.float32)
    out[np.arange(len(classes)), classes] = sure
    return out


def test_decode_merges_repeats_and_drops_blanks():
    d7, d4 = 1 + 7, 1 + 4
    frames = frames_of([BLANK, d7, d7, d7, BLANK, BLANK, d4, BLANK])
    frames[2, d7] = 0.95  # the surest frame of the 7 is its middle one
    chars = decode(frames)
    assert [c.label for c in chars] == ["7", "4"]
    assert (chars[0].first, chars[0].last, chars[1].first, chars[1].last) == (1, 3, 6, 6)
    assert chars[0].confidence == np.float32(0.95) and np.array_equal(chars[0].probabilities, frames[2])


def test_decode_a_repeated_digit_needs_a_blank_between():
    d1 = 1 + 1
    assert [c.label for c in decode(frames_of([d1, BLANK, d1]))] == ["1", "1"]
    assert [c.label for c in decode(frames_of([d1, d1, d1]))] == ["1"]


def test_decode_reads_not_a_digit_and_nothing():
    chars = decode(frames_of([BLANK, NOT_A_DIGIT, BLANK, 1 + 0]))
    assert [c.index for c in chars] == [NOT_A_DIGIT, 1]
    assert [c.label for c in chars] == ["not a digit", "0"]
    assert decode(frames_of([BLANK] * 5)) == []
    assert decode(np.zeros((0, CLASSES), np.float32)) == []
