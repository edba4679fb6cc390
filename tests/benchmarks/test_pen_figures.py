import numpy as np

from benchmarks.pen_figures import by_writer_row, writer_interval


def test_by_writer_row_counts_each_writer_once():
    # One prolific writer (8 digits, half right) and two others (1 digit each, right).
    writers = ["big"] * 8 + ["a", "b"]
    right = np.array([True, False] * 4 + [True, True])
    row = by_writer_row("pen digits, window", writers, right)
    # Per writer 50 %, 100 %, 100 %: mean 83.33 %, not the 60 % of all digits.
    assert row.value.startswith("83.33% over 3 writers")
    assert "the largest, big, wrote 8 of 10 digits and 50.00% of them" in row.value
    assert row.passed is None and "averaged over writers" in row.metric
    assert row.value.endswith(" (95 %)") and "other writers like these drawn in their place: " in row.value


def test_the_writer_interval_moves_with_the_writers_not_the_digits():
    # All right: nothing to move. One writer whose digits are all wrong among right ones: the interval
    # reaches from every draw without them to draws holding them several times.
    assert writer_interval(["a", "a", "b"], np.array([True, True, True])) == (1.0, 1.0)
    writers = np.repeat([f"w{i}" for i in range(20)], 50)
    right = np.ones(1000, bool)
    right[:50] = False  # w0 reads wrong throughout: 95 % of all digits right
    low, high = writer_interval(writers, right)
    assert low < 0.95 < high and high == 1.0 and low <= 0.9
    # Misreads spread evenly, two of each writer's 50: the writers alike, nothing for a draw to move.
    spread = np.ones(1000, bool)
    spread[(np.arange(20) * 50)[:, None] + [0, 1]] = False
    assert writer_interval(writers, spread) == (0.96, 0.96)
    assert writer_interval(writers, right) == writer_interval(writers, right)  # seeded: the same every run


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


def test_height_row_splits_numbers_at_the_small_line():
    from benchmarks.pen_figures import SMALL_LINE, height_row

    heights = [(SMALL_LINE - 1, False), (SMALL_LINE - 30, True), (SMALL_LINE, True), (SMALL_LINE + 50, True)]
    row = height_row("pen numbers, picture", 28.0, heights)
    assert row.value == f"under {SMALL_LINE} px 50.00% of 2, taller 100.00% of 2"
    assert "the default 28 px brush" in row.metric and row.passed is None
    assert height_row("x", 28.0, [(SMALL_LINE, False)]).value == f"under {SMALL_LINE} px none, taller 0.00% of 1"


def test_share_among_counts_only_numbers_whose_digits_read_alone():
    from benchmarks.pen_figures import _share_among

    pairs = [(True, True), (True, False), (False, False), (True, True)]
    assert _share_among(pairs) == "66.67% of 3 (1 of 4 hold a digit misread alone)"
    assert _share_among([(False, True)]).startswith("none of 1")


def test_the_sure_line_refitted_on_half_the_writers_is_judged_on_the_other_half():
    from benchmarks.pen_figures import SPLITS, halves_text, sure_line_halves

    # 20 writers of 50 digits; digits right unless unsure (0.5), except writer "w0": sure (0.99) and wrong.
    writers = np.repeat([f"w{i}" for i in range(20)], 50)
    confidence = np.where(np.arange(1000) % 10 == 0, 0.5, 0.99)
    right = confidence > 0.9
    right[:45] = False  # 40 of w0's 45 sure digits are wrong
    halves = sure_line_halves(writers, confidence, right)
    assert len(halves) == 2 * SPLITS
    called, sure_right = np.array(halves).T
    # A half without w0 places the line at 0.99: the other half, with w0, is 40 wrong in 450 sure.
    assert np.isclose(np.nanmin(sure_right), 410 / 450) and (sure_right < 0.995).sum() == SPLITS
    # A half with w0 finds no line that is right 99.5 % of the time (1.0): nothing of the other half is sure.
    assert np.isnan(sure_right).sum() == SPLITS and (called == 0).sum() == SPLITS
    assert halves_text(halves).startswith(f"median {np.nanmedian(sure_right):.2%}, lowest 91.11%, below 99.5 % in 6 of 12")


def test_mistakes_text_tells_splits_from_misreads():
    from types import SimpleNamespace

    from benchmarks.pen_figures import mistakes_text

    def reading(number, pieces):
        return SimpleNamespace(number=number, guesses=(None,) * pieces)

    readings = [reading("7", 1), reading("41", 2), reading("1", 2), reading("", 1), reading("", 0),
                reading("3", 1), reading("0", 1)]
    # A 4 read as "41" and a 4 whose L was not a digit ("1" of two pieces) are splits, not misreads.
    assert mistakes_text(readings, ["1", "4", "4", "9", "2", "3", "0"]) == (
        "5 misread: 2 split into several digits, 2 read as no digit, 1 as another digit")


def test_a_photographed_thumb_is_a_grey_blob_cut_off_by_one_side():
    from benchmarks.pen_figures import photo

    blank = np.zeros((210, 280), np.uint8)
    sides = set()
    for seed in range(12):
        grey = np.asarray(photo(blank, np.random.default_rng(seed), thumb=True).convert("L"), float)
        blob = grey < 130  # paper is lit 130-270 before noise; the thumb 80-110
        edges = [blob[0].any(), blob[-1].any(), blob[:, 0].any(), blob[:, -1].any()]
        assert sum(edges) == 1
        side = edges.index(True)
        sides.add(side)
        along = blob[0] if side == 0 else blob[-1] if side == 1 else blob[:, 0] if side == 2 else blob[:, -1]
        assert 0.15 * 280 < along.sum() < 0.3 * 280
        assert not (np.asarray(photo(blank, np.random.default_rng(seed)).convert("L"), float) < 130).any()
    assert len(sides) >= 3
