import numpy as np

from benchmarks.pen_figures import by_writer_row


def test_by_writer_row_counts_each_writer_once():
    # One prolific writer (8 digits, half right) and two others (1 digit each, right).
    writers = ["big"] * 8 + ["a", "b"]
    right = np.array([True, False] * 4 + [True, True])
    row = by_writer_row("pen digits, window", writers, right)
    # Per writer 50 %, 100 %, 100 %: mean 83.33 %, not the 60 % of all digits.
    assert row.value.startswith("83.33% over 3 writers")
    assert "the largest, big, wrote 8 of 10 digits and 50.00% of them" in row.value
    assert row.passed is None and "averaged over writers" in row.metric


def _digit(label, strokes):
    from types import SimpleNamespace
    return SimpleNamespace(label=label, strokes=[np.asarray(s, float) for s in strokes])


def test_a_placed_number_runs_left_to_right_as_tall_as_its_line():
    from benchmarks.pen_figures import place_number

    one = _digit("1", [[(0, 0), (0, 50)]])
    zero = _digit("0", [[(0, 0), (30, 0), (30, 40), (0, 40), (0, 0)]])
    for seed in range(20):
        for touching in (False, True):
            placed = place_number([one, zero, one], np.random.default_rng(seed), (560, 420), touching)
            assert len(placed) == 3
            boxes = [(np.concatenate(d)[:, 0].min(), np.concatenate(d)[:, 0].max(),
                      np.ptp(np.concatenate(d)[:, 1])) for d in placed]
            # Every digit as tall as the line, drawn first (three small digits need no shrinking).
            line = np.random.default_rng(seed).uniform(80, 200)
            assert all(abs(h - line) < 1e-6 for _, _, h in boxes)
            assert all(0 <= x0 and x1 <= 560 for x0, x1, _ in boxes)
            steps = [b[0] - a[1] for a, b in zip(boxes, boxes[1:])]
            if touching:  # neighbours overlap by up to 0.12 of the line
                assert all(-0.12 * line - 1e-9 <= g <= 0 for g in steps)
            else:  # apart by 8-40 % of it
                assert all(0.08 * line - 1e-9 <= g <= 0.4 * line + 1e-9 for g in steps)


def test_share_among_counts_only_numbers_whose_digits_read_alone():
    from benchmarks.pen_figures import _share_among

    pairs = [(True, True), (True, False), (False, False), (True, True)]
    assert _share_among(pairs) == "66.67% of 3 (1 of 4 hold a digit misread alone)"
    assert _share_among([(False, True)]).startswith("none of 1")
