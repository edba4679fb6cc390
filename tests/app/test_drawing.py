"""The stroke raster and the built-in samples."""

import numpy as np
import pytest

from app import samples
from app.drawing import Drawing, stamp_segment


def test_strokes_are_anti_aliased_with_round_caps():
    pixels = np.zeros((60, 60), np.uint8)
    box = stamp_segment(pixels, (20, 30), (40, 30), 10)
    assert box[0] <= 14 and box[2] >= 46
    assert pixels[30, 30] == 255 and pixels[30, 16] == 255  # inside the stroke, and in the cap
    assert pixels[22, 30] == 0 and pixels[30, 12] == 0  # beyond the edge
    edge = pixels[24:27, 30]
    assert ((edge > 0) & (edge < 255)).any()  # grey levels at the edge, not a staircase
    dot = np.zeros((20, 20), np.uint8)
    stamp_segment(dot, (10, 10), (10, 10), 8)
    assert dot[10, 6] > 0 and dot[6, 6] == 0  # a round dot, not a square


def test_off_raster_strokes_are_clipped():
    pixels = np.zeros((10, 10), np.uint8)
    assert stamp_segment(pixels, (-50, -50), (-40, -40), 4) is None
    stamp_segment(pixels, (-5, 5), (15, 5), 3)
    assert pixels[5].min() == 255


def test_undo_and_clear():
    drawing = Drawing(100, 80)
    assert drawing.empty
    drawing.begin(10, 10, 6)
    drawing.extend(50, 10)
    first = drawing.pixels.copy()
    drawing.begin(10, 50, 6)
    drawing.extend(50, 60)
    assert drawing.last_stroke_box() == (10, 50, 50, 60)
    assert (drawing.pixels != first).any()
    assert drawing.undo()
    np.testing.assert_array_equal(drawing.pixels, first)
    drawing.clear()
    assert drawing.empty and drawing.pixels.max() == 0
    assert not drawing.undo()
    assert drawing.image().mode == "L" and drawing.image().size == (100, 80)


@pytest.mark.parametrize("digit", range(10))
def test_samples_are_drawn_inside_the_canvas(digit):
    for style in range(len(samples.STYLES)):
        pixels = np.asarray(samples.render(digit, style))
        assert pixels.max() == 255
        assert pixels[0].max() == 0 and pixels[-1].max() == 0  # nothing cut off at the edges
        assert pixels[:, 0].max() == 0 and pixels[:, -1].max() == 0
