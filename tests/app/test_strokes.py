"""Stroke grouping (app.strokes): pure geometry and the dynamic programming, no model.

Also the helpers the recognition tests share: real pen digits from the UNIPEN dev set's
validation writers, placed with app.pen.fit and drawn into a Drawing stroke by stroke.
"""

import gzip
import json
from functools import lru_cache

import numpy as np
import pytest

from app import strokes
from app.drawing import Drawing
from app.pen import bounds, fit, parse_record

from .conftest import ROOT

PEN_DIGITS = ROOT.parent / "shared" / "data" / "unipen" / "digits.jsonl.gz"
CANVAS = (560, 420)  # app.layout.BASE_CANVAS: the window's canvas at scale 1
BRUSH = 28  # app.gui.BRUSH[2]


@lru_cache(maxsize=1)
def pen_digits():
    """PenSamples of every digit in the pen data, file order."""
    if not PEN_DIGITS.is_file():
        pytest.fail(f"pen data not found: {PEN_DIGITS} (see ../shared/data/unipen/README.md)")
    with gzip.open(PEN_DIGITS, "rt", encoding="utf-8") as f:
        records = [parse_record(json.loads(line)) for line in f]
    return [r for r in records if r.label in "0123456789"]


def validation_digits():
    """PenSamples of the held-out writers (training.pen_data.is_val_writer), file order."""
    from training.pen_data import is_val_writer

    return [r for r in pen_digits() if is_val_writer(r.writer)]


def training_digits():
    """PenSamples of the training writers (what app.strokes' priors were fitted on), file order."""
    from training.pen_data import is_val_writer

    return [r for r in pen_digits() if not is_val_writer(r.writer)]


def place(samples, height=120.0, gap=0.3, left=40.0, baseline=300.0):
    """Each sample's strokes fitted to `height` and set on a baseline, left to right, `gap`
    (a share of the height, negative to overlap) between the points of neighbours."""
    placed, x = [], left
    for sample in samples:
        digit = fit(sample.strokes, (0, 0, height, height))
        x0, _, x1, y1 = bounds(digit)
        placed.append(tuple(s - np.array([x0 - x, y1 - baseline]) for s in digit))
        x += x1 - x0 + gap * height
    return placed


def draw(stroke_lists, brush=BRUSH, size=CANVAS):
    """A Drawing holding the strokes in the given order, drawn as the window records a mouse."""
    drawing = Drawing(*size)
    for stroke in stroke_lists:
        points = [(round(float(x)), round(float(y))) for x, y in stroke]
        drawing.begin(*points[0], brush)
        for point in points[1:]:
            drawing.extend(*point)
    return drawing


def segment(x0, y0, x1, y1, n=12):
    return np.linspace((x0, y0), (x1, y1), n)


def plan_of(*stroke_points, width=BRUSH):
    return strokes.plan(tuple(strokes.Stroke(np.asarray(p, float), float(width), i)
                              for i, p in enumerate(stroke_points)))


FIVE_BODY = [(100, 100), (100, 160), (150, 170), (150, 215), (95, 220)]


def test_a_flat_bar_over_a_digit_joins_it_even_drawn_last():
    other = segment(300, 100, 330, 220)  # another digit, drawn in between
    bar = segment(100, 100, 160, 104)  # flat, mostly over the body, drawn last
    plan = plan_of(FIVE_BODY, other, bar)
    assert plan.atoms == ((0, 2), (1,))


def test_a_perfectly_flat_stroke_is_planned_and_read(shipped_model):
    from app.predictor import Predictor
    from app.recognize import read_drawing

    plan = plan_of(segment(100, 200, 300, 200))  # no height at all: the line height must not be 0
    assert plan.atoms == ((0,),) and np.isfinite(plan.priors).all()
    reading = read_drawing(Predictor(shipped_model), draw([segment(100, 200, 300, 200)]))
    assert len(reading.guesses) == 1


def test_a_flat_stroke_beside_a_digit_is_left_to_the_model():
    plan = plan_of(FIVE_BODY, segment(140, 100, 220, 104))  # a bar mostly right of the body
    assert plan.atoms == ((0,), (1,)) and (0, 2) in plan.candidates


def test_two_tall_strokes_side_by_side_are_separate_atoms_and_ordered_left_to_right():
    right, left = segment(300, 100, 310, 220), segment(100, 100, 110, 220)  # right one drawn first
    plan = plan_of(right, left)
    assert plan.atoms == ((1,), (0,))
    assert (0, 1) in plan.candidates and (1, 2) in plan.candidates


def test_a_run_much_wider_than_the_line_is_no_candidate():
    plan = plan_of(segment(0, 100, 10, 200), segment(400, 100, 410, 200))
    assert (0, 2) not in plan.candidates


def test_choose_takes_the_best_split_and_the_priors_count():
    plan = plan_of(segment(100, 100, 100, 220), segment(130, 100, 130, 220))
    k = {c: i for i, c in enumerate(plan.candidates)}
    scores = np.full(len(plan.candidates), np.log(0.5))
    scores[k[(0, 2)]] = np.log(0.99)
    merged_prior = plan.priors[k[(0, 2)]]
    chosen = strokes.choose(plan, scores)
    expect_merged = np.log(0.99) + merged_prior > 2 * np.log(0.5) + plan.priors[k[(0, 1)]] + plan.priors[k[(1, 2)]]
    assert chosen == ([(0, 2)] if expect_merged else [(0, 1), (1, 2)])
    scores[k[(0, 1)]] = scores[k[(1, 2)]] = 0.0  # both sure alone: never merged
    assert strokes.choose(plan, scores) == [(0, 1), (1, 2)]


def test_worth_scoring_skips_only_merges_that_cannot_win():
    plan = plan_of(segment(100, 100, 100, 220), segment(160, 100, 160, 220))
    k = {c: i for i, c in enumerate(plan.candidates)}
    scores = np.full(len(plan.candidates), -np.inf)
    scores[k[(0, 1)]] = scores[k[(1, 2)]] = 0.0  # both sure: the merge's prior cannot beat that
    assert strokes.worth_scoring(plan, scores) == [] or plan.priors[k[(0, 2)]] > plan.priors[k[(0, 1)]] + plan.priors[k[(1, 2)]]
    scores[k[(0, 1)]] = scores[k[(1, 2)]] = np.log(0.05)  # both doubtful: the merge must be scored
    assert strokes.worth_scoring(plan, scores) == [k[(0, 2)]]


def test_the_merges_left_unscored_change_no_choice():
    """Whatever the model says of the merges, leaving out those worth_scoring skips chooses the same
    runs as scoring every candidate (and it skips some: the read saves work)."""
    rng = np.random.default_rng(5)
    skipped = 0
    for _ in range(300):
        xs = np.cumsum(rng.uniform(30, 90, int(rng.integers(2, 6))))
        plan = plan_of(*[segment(x, 100, x + rng.uniform(-20, 20), 100 + rng.uniform(60, 130)) for x in xs])
        single = strokes.singles(plan)
        scores = np.log(rng.uniform(1e-4, 1.0, len(plan.candidates)))
        worth = set(strokes.worth_scoring(plan, np.where(np.isin(np.arange(len(scores)), single), scores, -np.inf)))
        pruned = np.array([k in single or k in worth for k in range(len(scores))])
        skipped += (~pruned).sum()
        for merged in (scores, np.zeros(len(scores))):  # merges read as surely as a model can
            everything = np.where(np.isin(np.arange(len(scores)), single), scores, merged)
            assert strokes.choose(plan, np.where(pruned, everything, -np.inf)) == strokes.choose(plan, everything)
    assert skipped > 0


def test_a_thin_stroke_touching_a_neighbour_stays_its_own_atom():
    """A 1 written into the edge of the 0 before it lies inside the 0's box: still its own atom."""
    zero = np.stack([200 + 50 * np.cos(np.linspace(0, 2 * np.pi, 40)), 200 + 90 * np.sin(np.linspace(0, 2 * np.pi, 40))], 1)
    one = segment(242, 118, 238, 285)
    assert plan_of(zero, one).atoms == ((0,), (1,))
    slash = segment(175, 280, 225, 120)  # a slash: no thin stroke, wholly inside the 0's box
    assert plan_of(zero, slash).atoms == ((0, 1),)


def merged_prior(plan):
    return plan.priors[plan.candidates.index((0, len(plan.atoms)))]


L_OF_A_FOUR = [(250, 100), (200, 200), (185, 235), (290, 232)]


def test_a_stroke_over_the_others_middle_joins_it_more_readily_than_one_at_its_edge():
    crossing = plan_of(L_OF_A_FOUR, segment(255, 160, 252, 300))  # a 4's bar
    beside = plan_of(L_OF_A_FOUR, segment(300, 100, 297, 300))  # a 1 just right of it
    assert merged_prior(crossing) > merged_prior(beside) + 1.0


def test_strokes_drawn_one_after_the_other_join_more_readily():
    bar, far = segment(255, 160, 252, 300), segment(500, 100, 500, 300)
    consecutive = plan_of(L_OF_A_FOUR, bar, far)
    interrupted = plan_of(L_OF_A_FOUR, far, bar)  # another digit's stroke drawn in between
    assert consecutive.atoms == ((0,), (1,), (2,)) and interrupted.atoms == ((0,), (2,), (1,))
    assert consecutive.priors[consecutive.candidates.index((0, 2))] > interrupted.priors[interrupted.candidates.index((0, 2))] + 0.5


CIRCLE = np.stack([45 * np.cos(np.linspace(0, 2 * np.pi, 40)), 45 * np.sin(np.linspace(0, 2 * np.pi, 40))], 1)


def test_loops_one_above_the_other_join_more_readily_than_side_by_side_overlapping():
    # Sharing under half their width across: left to the model and the priors.
    stacked = plan_of(CIRCLE + (240, 150), CIRCLE + (290, 240))  # a leaning 8's loops
    overlapping = plan_of(CIRCLE + (240, 150), CIRCLE + (290, 170))  # the same loops sharing most of their height
    assert merged_prior(stacked) > merged_prior(overlapping) + 0.5


@pytest.mark.parametrize("lower, one", [
    ((240, 240), True),    # an 8's loops, right above each other
    ((270, 250), True),    # leaning, sharing 2/3 of their width, a tenth of their height
    ((300, 240), False),   # sharing a third of their width: the model decides
    ((240, 190), False),   # sharing more than half their height: side by side, overlapping
])
def test_loops_right_above_each_other_are_one_atom(lower, one):
    plan = plan_of(CIRCLE + (240, 150), CIRCLE + lower)
    assert (plan.atoms == ((0, 1),)) == one


def test_a_flat_base_under_the_next_digit_is_no_loop_above_it():
    """A 1 whose long base runs under the next digit: the base is flat, so the loop rule leaves it."""
    one, base = segment(100, 100, 100, 220), segment(80, 222, 260, 224)
    two = [(170, 110), (210, 100), (230, 130), (180, 190), (235, 195)]
    plan = plan_of(one, base, two)
    assert (2,) in plan.atoms and not any(2 in atom and len(atom) > 1 for atom in plan.atoms)


def test_a_tap_on_the_baseline_between_digits_is_a_decimal_point():
    three, one = segment(100, 100, 140, 220), segment(200, 100, 200, 220)
    dot = [(165, 218), (166, 219)]
    plan = plan_of(three, dot, one)
    assert plan.taps == (1,)
    groups = strokes.arrange(plan, [(0, 1), (1, 2)])
    assert [g.kind for g in groups] == ["digit", "point", "digit"]


@pytest.mark.parametrize("where", [(165, 110), (60, 218)], ids=["high between digits", "before the first digit"])
def test_a_tap_elsewhere_is_dropped(where):
    plan = plan_of(segment(100, 100, 140, 220), [where], segment(200, 100, 200, 220))
    assert [g.kind for g in strokes.arrange(plan, [(0, 1), (1, 2)])] == ["digit", "digit"]


def test_a_dot_is_a_tap_by_its_size_next_to_the_tallest_stroke():
    """A dot drawn as a tiny loop, bigger than a click's jitter but small beside the digits
    (TAP_SHARE of the tallest stroke), is a tap; the same mark beside digits as small is not."""
    dot = [(165, 211), (173, 213), (171, 219), (165, 217)]  # 8 x 8 px
    tall = plan_of(segment(100, 100, 140, 220), dot, segment(200, 100, 200, 220))
    assert tall.taps == (1,) and len(tall.atoms) == 2
    small = plan_of(segment(100, 200, 104, 220), dot, segment(200, 200, 200, 220))  # 20 px digits
    assert small.taps == () and len(small.atoms) == 3


def test_a_tap_alone_is_no_candidate():
    plan = plan_of([(200, 200), (201, 201)])
    assert plan.candidates == () and plan.taps == (0,)


def test_planning_stays_near_linear_in_the_number_of_strokes():
    """A long scribbled line of 1s: the plan's candidates grow linearly, not quadratically."""
    ones = [segment(40 + 30 * i, 100, 40 + 30 * i, 200) for i in range(300)]
    plan = plan_of(*ones)
    assert len(plan.atoms) == 300
    assert len(plan.candidates) <= strokes.MAX_RUN * 300


# -- dashes: a minus sign, a hyphen --------------------------------------------------

ONE, OTHER = segment(100, 100, 104, 220), segment(200, 100, 204, 220)  # two digits 120 px tall


def kinds(plan):
    """The kinds of the plan's pieces left to right, every atom read as a digit of its own."""
    return [g.kind for g in strokes.arrange(plan, [(k, k + 1) for k in range(len(plan.atoms))])]


def test_a_flat_stroke_at_the_middle_height_before_digits_is_a_minus_sign():
    plan = plan_of(segment(40, 160, 80, 162), ONE, OTHER)
    assert plan.dashes == (0,) and plan.atoms == ((1,), (2,))
    assert kinds(plan) == ["dash", "digit", "digit"]


def test_a_flat_stroke_at_the_middle_height_between_digits_is_a_hyphen():
    plan = plan_of(ONE, segment(130, 158, 170, 165), OTHER)  # a little tilted, drawn in between
    assert plan.dashes == (1,)
    assert kinds(plan) == ["digit", "dash", "digit"]
    assert all(1 not in atom for atom in plan.atoms) and all(1 not in plan.atoms[s:e][0] for s, e in plan.candidates)


def test_a_minus_sign_before_a_digit_drawn_in_two_strokes_is_found_by_the_whole_digit():
    """A 4's L alone sits high: the dash's middle height is judged on the digit beside it, all its strokes."""
    corner, stem = [(130, 100), (110, 170), (165, 170)], segment(150, 100, 150, 220)
    plan = plan_of(segment(40, 182, 85, 184), corner, stem)
    assert plan.dashes == (0,)


@pytest.mark.parametrize("dash", [
    segment(40, 108, 80, 110),  # high beside the digits: a bar
    segment(40, 208, 80, 210),  # low: a base, an underline's stub
    segment(40, 150, 80, 180),  # steep: a stroke of a digit
    segment(40, 160, 56, 161),  # short for the line: a speck, no tap
    segment(-110, 160, 80, 162),  # longer than a digit is tall
    segment(90, 160, 130, 162),  # over the first digit's span
], ids=["high", "low", "steep", "short", "long", "over a digit"])
def test_a_flat_stroke_elsewhere_is_no_dash(dash):
    assert plan_of(dash, ONE, OTHER).dashes == ()


def test_a_flat_stroke_after_the_last_digit_is_no_dash():
    assert plan_of(ONE, OTHER, segment(230, 160, 270, 162)).dashes == ()


def test_a_flat_stroke_far_before_the_digits_is_no_dash():
    """More than a line's height from the digit after it: a stray mark, not its sign."""
    assert plan_of(segment(-80, 160, -40, 162), ONE, OTHER).dashes == ()


def test_a_flat_stroke_low_beside_the_digit_before_it_is_no_dash():
    """At the middle of the digit after it, but at the foot of a tall one before it: a base, no hyphen."""
    tall = segment(60, 0, 64, 200)
    assert plan_of(tall, segment(75, 178, 95, 180), segment(110, 130, 114, 210)).dashes == ()


def test_two_flat_strokes_one_above_the_other_are_no_dash():
    """An equals sign, or a 5's bar over its body's top: neither stroke stands apart from the other."""
    assert plan_of(segment(40, 150, 80, 151), segment(40, 170, 80, 171), ONE, OTHER).dashes == ()


def test_a_number_with_a_minus_sign_and_a_hyphen_reads_them(shipped_model):
    from app.predictor import Predictor
    from app.recognize import read_drawing

    samples = [next(s for s in training_digits() if s.label == d) for d in "3715"]
    placed = place(samples)
    tops = [min(float(s[:, 1].min()) for s in digit) for digit in placed]
    middle = (min(tops) + 300.0) / 2
    lefts = [min(float(s[:, 0].min()) for s in digit) for digit in placed]
    rights = [max(float(s[:, 0].max()) for s in digit) for digit in placed]
    minus = segment(lefts[0] - 50, middle, lefts[0] - 15, middle + 1)
    shift = np.array([70.0, 0.0])  # room for the hyphen after the second digit
    later = [tuple(s + shift for s in digit) for digit in placed[2:]]
    hyphen = segment(rights[1] + 20, middle, rights[1] + 55, middle + 2)
    drawing = draw([minus, *placed[0], *placed[1], hyphen, *[s for digit in later for s in digit]])
    assert read_drawing(Predictor(shipped_model), drawing).number == "-37-15"


# -- rows of writing --------------------------------------------------------------------


def test_digits_written_in_two_rows_are_planned_row_by_row():
    """"12" over "34": each row's digits stand side by side, so the rows are lines of their own (the
    digits one above the other are not one digit's loops) and no candidate joins two rows."""
    one, two = segment(100, 40, 104, 140), segment(200, 40, 204, 140)
    three, four = segment(100, 200, 104, 300), segment(200, 200, 204, 300)
    plan = plan_of(three, one, four, two)  # drawn in any order
    assert plan.atoms == ((1,), (3,), (0,), (2,))
    assert plan.lines == (1, 0, 1, 0)
    assert (1, 3) not in plan.candidates and (0, 2) in plan.candidates and (2, 4) in plan.candidates
    assert [g.line for g in strokes.arrange(plan, [(k, k + 1) for k in range(4)])] == [0, 0, 1, 1]


def test_two_loops_alone_one_above_the_other_are_one_digit_even_apart():
    """An 8 whose loops a writer left apart (a third of a loop between them): no rows without
    strokes side by side."""
    top = [(150, 100), (120, 130), (150, 160), (180, 130), (150, 100)]
    bottom = [(150, 180), (115, 215), (150, 250), (185, 215), (150, 180)]
    plan = plan_of(top, bottom)
    assert plan.atoms == ((0, 1),) and plan.lines == (0, 0)


def test_a_decimal_point_belongs_to_the_row_it_is_written_in():
    one, five = segment(100, 40, 104, 140), segment(200, 40, 204, 140)
    two, three = [(120, 200), (170, 200), (120, 300), (170, 300)], segment(220, 200, 224, 300)
    dot = [(150, 138), (151, 139)]  # at the foot of the first row, over the second row's 2
    plan = plan_of(one, dot, five, two, three)
    groups = strokes.arrange(plan, [(k, k + 1) for k in range(len(plan.atoms))])
    assert [(g.kind, g.line) for g in groups] == [("digit", 0), ("point", 0), ("digit", 0), ("digit", 1), ("digit", 1)]


def test_numbers_of_training_writers_written_in_two_rows_read_row_by_row(shipped_model):
    from app.predictor import Predictor
    from app.recognize import read_drawing

    predictor, digits = Predictor(shipped_model), training_digits()
    right = 0
    for k in range(10):
        chosen = digits[40 * k: 40 * k + 4]
        rows = [place(chosen[:2], height=110, baseline=170), place(chosen[2:], height=110, baseline=340)]
        drawing = draw([s for row in rows for digit in row for s in digit])
        right += read_drawing(predictor, drawing).number == "".join(s.label for s in chosen)
    assert right >= 9


def test_a_second_row_written_smaller_is_a_row_of_its_own():
    """"12" over "34" written less than half as tall: still two rows (it joined the first row's digits
    over it, a 1 with the 3 under it, as a 5's bar joins its digit); one short stroke under a row, apart
    from it, is no row."""
    one, two = segment(100, 40, 104, 180), segment(200, 40, 204, 180)
    three, four = segment(100, 250, 103, 310), segment(200, 250, 203, 310)
    plan = plan_of(one, two, three, four)
    assert plan.lines == (0, 0, 1, 1)
    assert (0, 2) in plan.candidates and (2, 4) in plan.candidates and (1, 3) not in plan.candidates
    assert plan_of(one, two, three).lines == (0, 0, 0)


def test_a_minus_sign_may_begin_the_second_row():
    one, two = segment(100, 40, 104, 140), segment(200, 40, 204, 140)
    minus, three, four = segment(40, 250, 80, 251), segment(100, 200, 104, 300), segment(200, 200, 204, 300)
    plan = plan_of(one, two, minus, three, four)
    assert plan.dashes == (2,)
    groups = strokes.arrange(plan, [(k, k + 1) for k in range(len(plan.atoms))])
    assert [(g.kind, g.line) for g in groups] == [("digit", 0), ("digit", 0), ("dash", 1), ("digit", 1), ("digit", 1)]


def test_a_number_written_steeply_uphill_is_one_line_not_rows():
    """Its left half lies below its right half, apart: bands side by side, not one under the other."""
    low = segment(100, 150, 104, 250), segment(150, 150, 154, 250)
    high = segment(300, 10, 304, 110), segment(350, 10, 354, 110)
    plan = plan_of(*high, *low)
    assert set(plan.lines) == {0}
    assert plan.atoms == ((2,), (3,), (0,), (1,))


def test_a_ones_flag_drawn_apart_is_no_minus_sign():
    """A long flag drawn after the stem, left of it: flat, but at the top of its digit, whatever the
    digits after it (written uphill, they reach as high)."""
    flag, stem = segment(10, 101, 58, 117), segment(58, 95, 58, 191)
    two = [(97, 100), (140, 81), (166, 110), (97, 178), (166, 178)]
    zero = [(220, 67), (180, 110), (220, 160), (260, 110), (220, 67)]
    assert plan_of(stem, flag, two, zero).dashes == ()


def test_a_flat_stroke_reaching_well_over_a_wide_digit_is_no_dash():
    zero = [(140, 100), (100, 160), (140, 220), (170, 160), (140, 100)]
    assert plan_of(segment(60, 160, 120, 162), zero, OTHER).dashes == ()


def test_a_bar_reaching_over_the_strokes_on_both_sides_is_no_hyphen():
    """An H: its bar joins its two stems; a hyphen stands clear of one digit at least."""
    left, right = segment(100, 100, 104, 220), segment(150, 100, 154, 220)
    assert plan_of(left, segment(102, 160, 152, 162), right).dashes == ()
    assert plan_of(left, segment(102, 160, 140, 162), right).dashes == (1,)


COMMA = segment(155, 212, 145, 240, 6)  # 28 px, down and to the left from the digits' baseline (220)


def test_a_comma_between_digits_is_a_decimal_point_never_a_digit():
    """A short stroke low between digits, too long for a tap (a held-out-style "991,7" read "99117")."""
    plan = plan_of(ONE, COMMA, OTHER)
    assert plan.taps == (1,) and plan.atoms == ((0,), (2,))
    assert kinds(plan) == ["digit", "point", "digit"]


def test_a_comma_after_the_last_digit_waits_as_a_point():
    assert kinds(plan_of(ONE, COMMA)) == ["digit", "point"]


@pytest.mark.parametrize("stroke", [segment(60, 212, 50, 240, 6), segment(155, 120, 145, 148, 6),
                                    segment(150, 180, 150, 240, 8), segment(132, 205, 127, 235, 6)],
                         ids=["before the first digit", "high between digits", "longer than a comma",
                              "under the digit: part of it"])
def test_a_short_stroke_elsewhere_is_no_comma(stroke):
    plan = plan_of(segment(100, 100, 140, 220), stroke, OTHER)
    assert 1 not in plan.taps and any(1 in atom for atom in plan.atoms)
