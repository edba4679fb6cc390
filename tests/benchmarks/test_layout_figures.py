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


def test_a_decimal_point_is_a_tap_on_the_baseline_between_digits_written_close():
    from benchmarks.pen_figures import place_number
    from benchmarks.sign_figures import _Dash, closed_up, point

    for seed in range(20):
        rng = np.random.default_rng(seed)
        brush = float(rng.uniform(4, 30))
        placed = closed_up(place_number([ONE, _Dash(), ZERO, ONE], rng, (560, 420), False), 1, rng, brush)
        before, after = np.concatenate(placed[0]), np.concatenate(placed[2])
        digits = np.concatenate(placed[0] + placed[2] + placed[3])
        height = np.ptp(digits[:, 1])
        gap = after[:, 0].min() - before[:, 0].max()
        assert 2 * brush - 1e-6 <= gap <= 2 * brush + 0.3 * height + 1e-6
        assert placed[3][0][:, 0].min() > after[:, 0].max()  # the digits after the point moved together
        slot = placed[1][0]
        tap = point(slot[:, 0].min(), slot[:, 0].max(), digits[:, 1].min(), digits[:, 1].max(), rng)
        assert 1 <= len(tap) <= 5
        assert before[:, 0].max() < tap[:, 0].min() and tap[:, 0].max() < after[:, 0].min()
        assert digits[:, 1].max() - 0.13 * height <= tap[:, 1].mean() <= digits[:, 1].max() + 0.06 * height


def test_a_comma_runs_from_the_baseline_down_to_the_left_centred_on_its_place():
    from benchmarks.sign_figures import comma

    for seed in range(20):
        points = comma(100, 160, 50, 250, np.random.default_rng(seed))
        assert abs(points[0, 0] - (130 + 0.02 * 200)) < 1e-6 and abs(points[0, 1] - (250 - 0.03 * 200)) < 1e-6
        assert 0.12 * 200 - 1e-6 <= np.ptp(points[:, 1]) <= 0.25 * 200 + 1e-6
        assert points[-1, 0] < points[0, 0] and points[-1, 1] > 250  # down to the left, below the baseline
