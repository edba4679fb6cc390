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
