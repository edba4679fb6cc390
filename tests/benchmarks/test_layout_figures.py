"""The benchmark's numbers with a dash and in two rows are laid out as their docstrings say."""
import numpy as np

from benchmarks.row_figures import two_rows
from benchmarks.sign_figures import dash

from .test_pen_figures import _digit

ONE = _digit("1", [[(0, 0), (0, 50)]])
ZERO = _digit("0", [[(0, 0), (30, 0), (30, 40), (0, 40), (0, 0)]])


def test_a_dash_lies_at_the_middle_height_centred_on_its_place():
    for seed in range(20):
        points = dash(100, 160, 50, 250, np.random.default_rng(seed))
        assert abs((points[:, 0].min() + points[:, 0].max()) / 2 - 130) < 1e-6
        assert 0.25 * 200 - 1e-6 <= np.ptp(points[:, 0]) <= 0.5 * 200 + 1e-6
        assert 50 + 0.35 * 200 <= points[:, 1].mean() <= 50 + 0.65 * 200


def test_two_rows_stand_one_below_the_other_within_the_canvas():
    for seed in range(20):
        strokes = two_rows([ONE, ZERO], [ZERO, ONE, ZERO], np.random.default_rng(seed), (560, 420))
        first, second = np.concatenate(strokes[:2]), np.concatenate(strokes[2:])
        assert first[:, 1].max() < second[:, 1].min()  # a gap between the rows
        everything = np.concatenate(strokes)
        assert everything.min() >= 0 and everything[:, 0].max() <= 560 and everything[:, 1].max() <= 420
