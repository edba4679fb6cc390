"""The window's read path (recognize.read_drawing) on real pen digits of held-out writers, with the
shipped model; and the Reading contract (not a digit, decimal points, JSON) with stand-in models."""

import numpy as np
import pytest

from app import recognize
from app import strokes as pen_strokes
from app.predictor import NOT_A_DIGIT, Predictor

from .test_strokes import draw, place, segment, training_digits, validation_digits


@pytest.fixture(scope="module")
def predictor(shipped_model):
    return Predictor(shipped_model)


@pytest.fixture(scope="module")
def pick(shipped_model):
    """pick(label, strokes=None, skip=0): see first_read_right."""
    chosen = {}

    def pick(label, strokes=None, skip=0):
        if (label, strokes, skip) not in chosen:
            chosen[label, strokes, skip] = first_read_right(shipped_model, label, strokes, skip)
        return chosen[label, strokes, skip]

    return pick


def first_read_right(model_path, label, strokes=None, skip=0):
    """The `skip`-th validation-writer sample of `label` that the model at `model_path` reads
    right on its own (for tests that judge the grouping, not the model)."""
    predictor = Predictor(model_path)
    found = (s for s in validation_digits()
             if s.label == label and (strokes is None or len(s.strokes) == strokes)
             and recognize.read_drawing(predictor, draw(place([s])[0])).number == label)
    for _ in range(skip):
        next(found)
    return next(found)


class Counting:
    """A predictor that counts its predict calls and images."""

    def __init__(self, inner):
        self.inner, self.calls, self.images = inner, 0, 0
        self.labels = inner.labels

    def predict(self, batch):
        self.calls += 1
        self.images += len(batch)
        return self.inner.predict(batch)


def strokes_of(placed):
    return [s for digit in placed for s in digit]


def test_a_five_whose_bar_is_drawn_after_the_next_digit(predictor, pick):
    five, three = place([pick("5", strokes=2), pick("3")])
    bar = min(range(2), key=lambda i: np.ptp(five[i][:, 1]))  # the flatter stroke
    order = [five[1 - bar], *three, five[bar]]
    assert recognize.read_drawing(predictor, draw(order)).number == "53"


@pytest.mark.parametrize("digits", ["4", "7", "47", "74"])
def test_fours_and_sevens_in_two_strokes(predictor, pick, digits):
    placed = place([pick(d, strokes=2) for d in digits], gap=0.25)
    reading = recognize.read_drawing(predictor, draw(strokes_of(placed)))
    assert reading.number == digits


def test_2026_drawn_touching_stroke_by_stroke(predictor, pick):
    placed = place([pick("2"), pick("0"), pick("2", skip=1), pick("6")], gap=-0.04)
    drawing = draw(strokes_of(placed))
    reading = recognize.read_drawing(predictor, drawing)
    assert reading.number == "2026"
    assert [g.box[0] for g in reading.guesses] == sorted(g.box[0] for g in reading.guesses)
    # Touching: the ink of neighbours meets (the brush is wider than the gap).
    assert reading.guesses[0].box[2] > reading.guesses[1].box[0]


def test_77_overlapping(predictor, pick):
    placed = place([pick("7", strokes=1), pick("7", strokes=1, skip=1)], gap=-0.12)
    reading = recognize.read_drawing(predictor, draw(strokes_of(placed)))
    assert reading.number == "77"


def test_3_point_14_with_a_tapped_dot(predictor, pick):
    three, one, four = place([pick("3"), pick("1"), pick("4")], gap=0.45)
    right = max(p[:, 0].max() for p in three)
    left = min(p[:, 0].min() for p in one)
    x, y = (right + left) / 2, 300 - 4  # on the baseline, between the 3 and the 1
    tap = np.array([(x, y), (x + 1, y + 1)])
    reading = recognize.read_drawing(predictor, draw([*three, tap, *one, *four]))
    assert reading.number == "3.14"
    point = reading.guesses[1]
    assert point.label == "." and point.box[0] <= x <= point.box[2]


def test_3_comma_14_reads_a_decimal_point_not_a_1(predictor, pick):
    """A comma is a short stroke, too long for a tap: read alone it was a "1" ("3,14" read "3114")."""
    three, one, four = place([pick("3"), pick("1"), pick("4")], gap=0.45)
    right = max(p[:, 0].max() for p in three)
    left = min(p[:, 0].min() for p in one)
    x = (right + left) / 2
    comma = np.linspace((x + 4, 300 - 6), (x - 6, 300 + 22), 8)  # from the baseline down to the left
    reading = recognize.read_drawing(predictor, draw([*three, comma, *one, *four]))
    assert reading.number == "3.14"


def test_digits_drawn_out_of_order_read_left_to_right(predictor, pick):
    two, zero, two2, six = place([pick("2"), pick("0"), pick("2", skip=1), pick("6")], gap=0.3)
    reading = recognize.read_drawing(predictor, draw([*six, *zero, *two, *two2]))
    assert reading.number == "2026"


def test_a_single_tap_is_never_a_sure_digit(predictor):
    for tap in ([(280, 210)], [(280, 210), (281, 211)], [(280, 210), (282, 209), (281, 211)]):
        reading = recognize.read_drawing(predictor, draw([np.array(tap, float)]))
        assert reading.number == "" and not reading.sure
        assert reading.summary() in ("no digit", "not a digit")


def test_one_model_run_for_a_clear_number_and_at_most_two_ever(predictor, pick):
    counting = Counting(predictor)
    placed = place([pick("2"), pick("0"), pick("6")], gap=0.4)
    assert recognize.read_drawing(counting, draw(strokes_of(placed))).number == "206"
    assert counting.calls == 1 and counting.images == 3
    touching = place([pick("4", strokes=2), pick("1"), pick("7", strokes=2)], gap=0.0)
    counting.calls = 0
    recognize.read_drawing(counting, draw(strokes_of(touching)))
    assert 1 <= counting.calls <= 2


def test_a_live_re_read_runs_the_model_only_on_what_the_newest_stroke_changed(predictor, pick):
    """The window re-reads the growing drawing every few dozen ms: the groups it has read before
    keep their answers, only the newest stroke's are run, and the reading is the same."""
    placed = place([pick("2"), pick("0"), pick("6")], gap=0.4)
    strokes = strokes_of(placed)
    counting = Counting(predictor)
    assert recognize.read_drawing(counting, draw(strokes[:-1])).number == "20"
    counting.calls = counting.images = 0
    again = recognize.read_drawing(counting, draw(strokes[:-1]))
    assert (counting.calls, counting.images) == (0, 0) and again.number == "20"
    grown = recognize.read_drawing(counting, draw(strokes))
    # The 6 alone, and at most its merge with the 0 (read anew, all three would be 3 or more).
    assert counting.calls <= 2 and 1 <= counting.images <= 2 and grown.number == "206"
    fresh = recognize.read_drawing(Counting(predictor), draw(strokes))
    for kept, new in zip(grown.guesses, fresh.guesses):
        np.testing.assert_allclose(kept.probabilities, new.probabilities, atol=1e-6)


def arc(cx, cy, rx, ry, start, stop, n=40):
    """Points on an ellipse from angle `start` to `stop` in degrees (0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], 1)


def moved(strokes, dx):
    return [s + np.array([dx, 0.0]) for s in strokes]


# Digits people write in two strokes, whose parts the model also reads as digits or as "not a digit".
FOUR_OF_AN_L_AND_A_BAR = [np.array([(250, 100), (200, 200), (185, 235), (290, 232)], float),
                          segment(262, 160, 258, 300)]
EIGHT_OF_TWO_LOOPS = [arc(240, 150, 45, 45, 90, 450), arc(270, 240, 45, 45, -90, 270)]  # the lower one offset
SLASHED_ZERO = [arc(240, 200, 50, 90, -90, 270, 60), segment(228, 300, 256, 95)]


@pytest.mark.parametrize("strokes, digit", [(FOUR_OF_AN_L_AND_A_BAR, "4"), (EIGHT_OF_TWO_LOOPS, "8"),
                                            (SLASHED_ZERO, "0")], ids=["4 of an L and a bar", "8 of two loops",
                                                                       "slashed 0"])
def test_a_digit_in_two_strokes_is_one_digit(predictor, strokes, digit):
    assert recognize.read_drawing(predictor, draw(strokes)).number == digit


def test_digits_in_two_strokes_beside_others(predictor):
    four, eight, zero = FOUR_OF_AN_L_AND_A_BAR, EIGHT_OF_TWO_LOOPS, SLASHED_ZERO
    assert recognize.read_drawing(predictor, draw(four + moved(eight, 170))).number == "48"
    assert recognize.read_drawing(predictor, draw(four + moved(zero, 170))).number == "40"
    assert recognize.read_drawing(predictor, draw(moved(zero, -120) + moved(four, 70))).number == "04"


def test_two_stroke_eights_of_training_writers(predictor):
    """The first 60 eights written in two strokes (loops, or an S and its closing stroke) by the
    writers the priors were fitted on: read as one 8, not as "00" or "60"."""
    eights = [s for s in training_digits() if s.label == "8" and len(s.strokes) == 2][:60]
    right = sum(recognize.read_drawing(predictor, draw(place([s], height=200)[0])).number == "8" for s in eights)
    assert right >= 0.85 * len(eights), right


def test_strokes_right_above_each_other_of_training_writers_read_as_one_digit(predictor):
    """Training writers' digits in two strokes that app.strokes joins as loops one above the other
    (8s, 4s, 5s): each read as its one digit (without the rule, 8s read "00" and a 3 "27")."""
    from app.pen import fit
    from app.strokes import _stacked

    def boxes(sample):
        return [(*np.min(s, axis=0), *np.max(s, axis=0)) for s in sample.strokes]

    def stacked(a, b):
        return _stacked(a, b, min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1]))

    chosen = [s for s in training_digits() if len(s.strokes) == 2 and stacked(*boxes(s))]
    assert len(chosen) >= 100
    read = [recognize.read_drawing(predictor, draw(fit(s.strokes, (140, 100, 300, 300)))).number for s in chosen]
    assert all(len(number) == 1 for number in read), [n for n in read if len(n) != 1]
    assert sum(n == s.label for n, s in zip(read, chosen)) >= 0.99 * len(chosen)


def test_exact_numbers_of_held_out_writers(predictor):
    """Numbers of 2-5 digits of one validation writer, natural spacing and touching, in the window's
    canvas with its default brush. The floor is far above what reading the ink as blobs gets."""
    samples = validation_digits()
    writers = sorted({s.writer for s in samples})
    by_writer = {w: [s for s in samples if s.writer == w] for w in writers}
    writers = [w for w in writers if len(by_writer[w]) >= 5]
    rng = np.random.default_rng(12)
    right = {"natural": 0, "touching": 0}
    n = 40
    for kind, gaps in (("natural", (0.1, 0.45)), ("touching", (-0.1, 0.15))):
        for _ in range(n):
            mine = by_writer[writers[rng.integers(len(writers))]]
            chosen = [mine[i] for i in rng.choice(len(mine), int(rng.integers(2, 6)), replace=False)]
            height = rng.uniform(70, 110)
            placed = place(chosen, height=height, gap=rng.uniform(*gaps), left=20)
            truth = "".join(s.label for s in chosen)
            right[kind] += recognize.read_drawing(predictor, draw(strokes_of(placed))).number == truth
    assert right["natural"] >= 0.75 * n and right["touching"] >= 0.7 * n, right


# -- the Reading contract, with stand-in models --------------------------------------------


class Fixed:
    """A stand-in model: the same probabilities for every input; 11 labels, the last NOT_A_DIGIT."""

    def __init__(self, probabilities, sure_threshold=None):
        self.p = np.asarray(probabilities, np.float32)
        self.labels = [str(d) for d in range(10)] + [NOT_A_DIGIT]
        if sure_threshold is not None:
            self.sure_threshold = sure_threshold

    def predict(self, batch):
        return np.tile(self.p, (len(batch), 1))


def one_hot(k, p=0.97):
    out = np.full(11, (1 - p) / 10, np.float32)
    out[k] = p
    return out


SCRIBBLE = np.array([(200, 150), (260, 260), (230, 140), (300, 250), (250, 160)], float)


def test_a_drawing_the_model_rejects_is_not_a_digit():
    reading = recognize.read_drawing(Fixed(one_hot(10)), draw([SCRIBBLE]))
    assert reading.not_a_digit and reading.number == "" and reading.summary() == "not a digit"
    record = reading.as_json()
    assert record["number"] is None and record["not_a_digit"] is True and record["digit"] is None
    assert len(record["probabilities"]) == 11 and record["digits"][0]["label"] == NOT_A_DIGIT


def test_sure_follows_the_models_threshold():
    assert recognize.read_drawing(Fixed(one_hot(7, 0.8)), draw([SCRIBBLE])).sure
    assert not recognize.read_drawing(Fixed(one_hot(7, 0.8), sure_threshold=0.9), draw([SCRIBBLE])).sure


def guess(label, box, confidence=0.99):
    labels = tuple(str(d) for d in range(10)) + (NOT_A_DIGIT,)
    p = np.zeros(11, np.float32)
    if label in labels:
        p[labels.index(label)] = confidence
    return recognize.Guess(label, confidence, p, np.zeros((28, 28, 1), np.float32), box, labels)


def test_a_sizeable_not_a_digit_beside_digits_makes_the_reading_unsure():
    digits = [guess("4", (0, 0, 60, 100)), guess("2", (80, 0, 140, 100))]
    small = recognize.Reading((*digits, guess(NOT_A_DIGIT, (150, 90, 160, 100))))
    big = recognize.Reading((*digits, guess(NOT_A_DIGIT, (150, 0, 210, 80))))
    assert small.number == big.number == "42"
    assert small.sure and not big.sure and not big.not_a_digit
    assert big.summary().startswith("not sure: maybe 42")


def test_as_json_of_a_number_lists_every_piece_with_its_box():
    reading = recognize.Reading((guess("3", (0, 0, 60, 100)), guess(".", (70, 90, 80, 100), 1.0),
                                 guess("1", (90, 0, 110, 100))))
    record = reading.as_json()
    assert record["number"] == "3.1" and record["digit"] is None and record["sure"]
    assert [d["label"] for d in record["digits"]] == ["3", ".", "1"]
    assert record["digits"][2]["box"] == [90, 0, 110, 100] and record["digits"][0]["digit"] == 3


class WithFeatures(Fixed):
    def predict_with_features(self, batch):
        return self.predict(batch), np.ones((len(batch), 4), np.float32)


class Towards:
    """A stand-in adapter (app.adapt.Adapter's interface) that answers `digit` for everything."""

    def __init__(self, digit):
        self.digit = digit

    def apply(self, probabilities, features):
        return np.tile(one_hot(self.digit), (len(probabilities), 1))


def test_answers_kept_between_reads_follow_the_model_and_its_adaptation():
    from app.adapt import Personal

    drawing = draw([SCRIBBLE])
    assert recognize.read_drawing(Fixed(one_hot(3)), drawing).number == "3"
    assert recognize.read_drawing(Fixed(one_hot(7)), drawing).number == "7"  # another model: its own answer
    personal = Personal(WithFeatures(one_hot(3)))
    assert recognize.read_drawing(personal, drawing).number == "3"
    personal.adapter = Towards(5)  # a correction was made: the window's predictor answers anew
    assert recognize.read_drawing(personal, drawing).number == "5"
    personal.adapter = None  # all corrections forgotten
    assert recognize.read_drawing(personal, drawing).number == "3"


class Strokes:
    """A stand-in stroke reader (app.trajectory.TrajectoryReader's interface) answering `digit`."""

    def __init__(self, digit, weight=0.5):
        self.digit, self.weight, self.sure_threshold, self.calls = digit, weight, 0.5, 0

    def predict(self, groups):
        self.calls += 1
        return np.tile(one_hot(self.digit, 0.99), (len(groups), 1))


def test_answers_fused_with_the_stroke_reader_and_kept_follow_the_reader_and_the_adaptation():
    """The window keeps each group's fused answer between reads; a correction, another stroke reader
    or another weight for it is a new answer, as a re-read from scratch would give."""
    from app.adapt import Personal

    drawing = draw([SCRIBBLE])
    torn = np.full(11, 0.01, np.float32)
    torn[3], torn[8] = 0.46, 0.45  # the digit model unsure between 3 and 8: the strokes decide
    personal = Personal(WithFeatures(torn))
    personal.trajectory = Strokes(8)
    assert recognize.read_drawing(personal, drawing).number == "8"
    assert recognize.read_drawing(personal, drawing).number == "8" and personal.trajectory.calls == 1
    personal.trajectory.weight = 0.0  # the same reader weighed at nothing: the digit model's 3 alone
    assert recognize.read_drawing(personal, drawing).number == "3"
    personal.trajectory.weight = 0.5
    assert recognize.read_drawing(personal, drawing).number == "8"
    personal.trajectory = Strokes(3)  # another stroke reader
    assert recognize.read_drawing(personal, drawing).number == "3"
    personal.adapter = Towards(5)  # a correction: the digit model as adapted is far surer of 5
    assert recognize.read_drawing(personal, drawing).number == "5"
    personal.adapter = None
    assert recognize.read_drawing(personal, drawing).number == "3"


def test_answers_kept_between_reads_do_not_keep_a_model_alive():
    import gc
    import weakref

    model = Fixed(one_hot(3))
    alive = weakref.ref(model)
    recognize.read_drawing(model, draw([SCRIBBLE]))
    del model
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("labels,kept", [
    (("3", ".", "1", "4"), "3.14"),
    ((".", "9"), "9"),
    (("9", "."), "9"),
    ((NOT_A_DIGIT, ".", "9"), "9"),  # a stub of a ruled line cut in two beside a desk read ".9"
    (("9", ".", NOT_A_DIGIT), "9"),
    (("1", ".", ".", "2"), "12"),
    (("-", "5"), "-5"),
    (("5", "-", "1", "2"), "5-12"),
    (("-", "3", ".", "5"), "-3.5"),
    (("5", "-"), "5"),  # a dash needs a digit after it
    (("-", "-", "5"), "5"),  # ... and nothing but a digit before it
    ((NOT_A_DIGIT, "-", "5"), "5"),
    (("-", NOT_A_DIGIT), ""),
])
def test_a_separator_stands_only_in_its_place(labels, kept):
    blank = np.zeros((28, 28, 1), np.float32)
    guesses = [recognize.Guess(label, 1.0, np.zeros(11, np.float32), blank, (i, 0, i + 1, 1),
                               recognize.DIGITS + (NOT_A_DIGIT,)) for i, label in enumerate(labels)]
    assert recognize.Reading(recognize._separators_in_place(guesses)).number == kept


def test_the_runner_up_is_another_label_than_the_guess():
    """The number reader's voted label need not top the bars it shows (the leading reader's frame): the
    window said "maybe 0 (14%), or 0" under bars of 4 at 85 %."""
    from app import presentation

    labels = recognize.DIGITS + (NOT_A_DIGIT,)
    probabilities = np.zeros(11, np.float32)
    probabilities[[0, 4, 9]] = (0.14, 0.85, 0.01)
    guess = recognize.Guess("0", 0.14, probabilities, np.zeros((28, 28, 1), np.float32), (0, 0, 1, 1), labels, 0.9)
    assert guess.runner_up == "4"
    assert presentation.detail(recognize.Reading((guess,)), labels, False) == "Not sure: maybe 0 (14%), or 4"
    top = recognize.Guess("4", 0.85, probabilities, guess.image, guess.box, labels, 0.9)
    assert top.runner_up == "0" and presentation.runner_up(top, labels) == "0"


def test_a_dash_before_what_is_no_digit_is_dropped_in_the_window():
    """A flat stroke before a scribble: the plan sets it aside as a dash, but no digit follows it."""
    minus = segment(120, 205, 170, 207)
    plan = pen_strokes.plan(pen_strokes.from_drawing(draw([minus, SCRIBBLE]).strokes))
    assert plan.dashes == (0,)
    reading = recognize.read_drawing(Fixed(one_hot(10)), draw([minus, SCRIBBLE]))
    assert [g.label for g in reading.guesses] == [NOT_A_DIGIT]
    assert [g.label for g in recognize.read_drawing(Fixed(one_hot(3)), draw([minus, SCRIBBLE])).guesses] == ["-", "3"]


def test_the_window_shows_a_decimal_point_before_the_digit_after_it_is_drawn():
    """Drawing "3.1": after the tap, the window reads "3." (a picture's point needs a digit each side)."""
    digit, tap = segment(100, 100, 104, 220), [(125, 218), (126, 219)]
    assert recognize.read_drawing(Fixed(one_hot(3)), draw([digit, tap])).number == "3."
    guesses = [recognize.Guess(label, 1.0, np.zeros(11, np.float32), np.zeros((28, 28, 1), np.float32),
                               (i, 0, i + 1, 1), recognize.DIGITS + (NOT_A_DIGIT,)) for i, label in enumerate("3.")]
    assert recognize.Reading(recognize._separators_in_place(guesses)).number == "3"
