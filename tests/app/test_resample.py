"""app.resample.lanczos against Pillow's own LANCZOS resize of float images: no display, no model."""

import numpy as np
import pytest
from PIL import Image

from app import resample
from app.resample import lanczos

ULP = 2.0 ** -23  # float32's relative rounding step at 1.0


def pillow(a, size):
    return np.asarray(Image.fromarray(a, "F").resize(size, Image.Resampling.LANCZOS))


def random_ink(rng, h, w):
    return (rng.random((h, w)) * (rng.random((h, w)) < 0.3)).astype(np.float32)


def test_matches_pillow_within_float_rounding_down_and_up():
    rng = np.random.default_rng(3)
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 140, 2))
        factor = float(rng.uniform(0.05, 3.0))
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        a = random_ink(rng, h, w)
        got, want = lanczos(a, size), pillow(a, size)
        assert got.dtype == np.float32 and got.shape == want.shape == (size[1], size[0])
        # Pillow adds in double in its own order; a matrix product in another: one float32 step apart.
        np.testing.assert_allclose(got, want, rtol=0, atol=2 * ULP)


def test_a_window_digit_gives_the_network_the_same_input_as_pillow_did(monkeypatch):
    """The window's 20 px box from its 106x69 normalised ink: what center_digit feeds the network."""
    from app import pen, preprocess

    stroke = np.array([[10.0, 10.0], [40.0, 12.0], [20.0, 50.0], [22.0, 90.0]])
    ink = pen.normalised_ink((stroke,))
    ours = preprocess.center_digit(ink)
    monkeypatch.setattr(preprocess, "lanczos", pillow)
    np.testing.assert_allclose(ours, preprocess.center_digit(ink), rtol=0, atol=2 * ULP)


def test_a_size_that_does_not_change_is_left_as_it_is():
    a = random_ink(np.random.default_rng(1), 30, 17)
    same = lanczos(a, (17, 30))
    assert np.array_equal(same, a) and same is not a  # a copy: callers write into what they get


@pytest.mark.parametrize("shape, size", [((600, 900), (450, 300)), ((64, 3000), (2000, 43))])
def test_large_outputs_go_to_pillow_and_agree(monkeypatch, shape, size):
    """A resize whose dense weights would be big goes to Pillow (a wide strip of digits, a huge picture)."""
    a = random_ink(np.random.default_rng(2), *shape)
    assert np.array_equal(lanczos(a, size), pillow(a, size))
    monkeypatch.setattr(resample, "_weights", lambda *_: pytest.fail("dense weights for a large resize"))
    lanczos(a, size)
