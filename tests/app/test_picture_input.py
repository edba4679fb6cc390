"""The picture read path feeds the network what training's picture view made (one preprocessing)."""

import numpy as np
import pytest

from app.pen import render
from app.predictor import Predictor
from app.preprocess import THICK_SHARE, stroke_share, to_ink, to_model_input
from app.recognize import read

_T = np.linspace(0, 2 * np.pi, 60)
LOOP = np.stack([0.5 + 0.35 * np.cos(_T), 0.5 + 0.5 * np.sin(_T)], axis=1)


def loop_picture(size, width):
    """A 0 drawn with a round pen `width` px wide, filling a size x size canvas."""
    return render((LOOP * (size - 2 * width) + width,), (size, size), width)


@pytest.mark.parametrize("width", [8, 45])  # a thin pen, and one thicker than nearly all of MNIST's
def test_a_picture_is_read_as_training_sees_it(shipped_model, width):
    """`predict` on a picture gives the network the image to_model_input makes (training's picture view)."""
    picture = loop_picture(230, width)
    assert (stroke_share(to_ink(picture) > 0.5) > THICK_SHARE) == (width == 45)
    for single in (True, False):
        reading = read(Predictor(shipped_model), picture, single=single)
        assert len(reading.guesses) == 1
        np.testing.assert_allclose(reading.guesses[0].image, to_model_input(picture), atol=1e-6)
