"""training.pen_data: the pen data split by writer, rendered by the app's own code, with a not-a-digit class."""
import gzip
import json

import numpy as np
import pytest

from training.pen_data import (DEFAULT_PEN_DIR, NOT_A_DIGIT, PenDataError, augment, is_val_writer, jitter_strokes,
                               load_pen_sets, read_records, split_by_writer, synthetic_rejects,
                               touching_pairs)
from app.pen import PenSample

SEVEN = [[[0, 0], [40, 0], [15, 60]]]


@pytest.fixture(scope="module")
def real_digits():
    path = DEFAULT_PEN_DIR / "digits.jsonl.gz"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the pen data lies in ../shared/data/unipen beside the repository")
    return read_records(path)


def _write(path, records):
    with gzip.open(path, "wt") as f:
        for r in records:
            f.write(r if isinstance(r, str) else json.dumps(r))
            f.write("\n")


def test_the_writer_split_never_shares_a_writer(real_digits):
    train, val = split_by_writer(real_digits)
    assert {s.writer for s in train}.isdisjoint({s.writer for s in val})
    writers = {s.writer for s in real_digits}
    share = len({s.writer for s in val}) / len(writers)
    assert 0.12 < share < 0.28 and len(train) + len(val) == len(real_digits)


def test_the_split_is_stable():
    assert [is_val_writer(f"w/{i}") for i in range(200)] == [is_val_writer(f"w/{i}") for i in range(200)]
    assert 10 < sum(is_val_writer(f"w/{i}") for i in range(200)) < 70


def test_bad_lines_are_skipped_with_a_warning(tmp_path, capsys):
    path = tmp_path / "digits.jsonl.gz"
    _write(path, [{"writer": "a", "label": "7", "strokes": SEVEN}, "{not json",
                  {"writer": "a", "label": "1", "strokes": [[[0, float("nan")]]]}])
    samples = read_records(path)
    assert [s.label for s in samples] == ["7"]
    assert "skipped 2" in capsys.readouterr().err


def test_missing_or_empty_files_are_named(tmp_path):
    with pytest.raises(PenDataError, match="digits.jsonl.gz"):
        read_records(tmp_path / "digits.jsonl.gz")
    _write(tmp_path / "empty.jsonl.gz", ["{}"])
    with pytest.raises(PenDataError, match="no usable records"):
        read_records(tmp_path / "empty.jsonl.gz")


def test_augment_keeps_strokes_finite_and_similar_in_size():
    rng = np.random.default_rng(0)
    strokes = (np.array(SEVEN[0], float),)
    for _ in range(50):
        out = augment(strokes, rng)
        assert out[0].shape == (3, 2) and np.isfinite(out[0]).all()
        assert 30 < np.ptp(out[0][:, 1]) < 90


def test_stroke_jitter_moves_the_strokes_of_a_digit_apart_and_nothing_else():
    five = (np.array([[30, 0], [0, 0], [0, 30], [30, 40], [25, 70], [0, 65]], float),
            np.array([[0, 0], [35, 0]], float))  # the bar drawn on its own
    one = (np.array(SEVEN[0], float),)
    # 0 draws nothing: every augmentation is the one made before the option existed.
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert all(np.array_equal(x, y) for x, y in zip(augment(five, a), augment(five, b, 0.0)))
    assert a.random() == b.random()
    # A digit of one stroke has no strokes to move apart.
    assert np.array_equal(augment(one, np.random.default_rng(3), 0.05)[0], augment(one, np.random.default_rng(3))[0])
    # Of several strokes, each keeps its own shape while the bar moves against the body.
    gaps = []
    for seed in range(200):
        body, bar = jitter_strokes(five, np.random.default_rng(seed), 0.05)
        for moved, before in zip((body, bar), five):
            assert np.allclose(np.linalg.norm(moved[1:] - moved[:-1], axis=1),
                               np.linalg.norm(before[1:] - before[:-1], axis=1))
        gaps.append(np.linalg.norm((bar[0] - body[0]) - (five[1][0] - five[0][0])))
    assert 2.0 < np.median(gaps) < 10.0  # about 5 % of a 70-high digit, never a jump across it
    assert jitter_strokes(one, np.random.default_rng(0), 0.05) is one


def test_pen_sets_from_a_small_directory(tmp_path):
    rng = np.random.default_rng(1)
    digits, letters = [], []
    for w in range(30):
        for d in range(10):
            pts = (rng.normal(0, 10, (12, 2)).cumsum(axis=0)).tolist()
            digits.append({"writer": f"inst/w{w}", "label": str(d), "strokes": [pts]})
        letters.append({"writer": f"inst/w{w}", "label": "A", "strokes": [[[0, 40], [20, 0], [40, 40]], [[10, 20], [30, 20]]]})
        letters.append({"writer": f"inst/w{w}", "label": "O", "strokes": SEVEN})  # looks like a digit: left out
    _write(tmp_path / "digits.jsonl.gz", digits)
    _write(tmp_path / "letters.jsonl.gz", letters)
    sets = load_pen_sets(tmp_path, seed=0, synthetic=40)
    val_writers = sum(is_val_writer(f"inst/w{w}") for w in range(30))
    assert len(sets.y_val_digits) == 2 * 10 * val_writers  # each held-out digit drawn and pictured
    assert sets.x_train.shape[1:] == (28, 28, 1) and sets.x_train.dtype == np.float32
    assert 0.0 <= sets.x_train.min() and sets.x_train.max() <= 1.0
    train_digits = (sets.y_train < NOT_A_DIGIT).sum()
    assert train_digits == 4 * 10 * (30 - val_writers)  # four views of every training digit
    # Rejects: the training writers' A's (not their O's) and the synthetic non-digits.
    assert (sets.y_train == NOT_A_DIGIT).sum() == (30 - val_writers) + 40
    assert set(np.unique(sets.y_val_reject)) == {NOT_A_DIGIT}
    # Another seed renders other training images but, told the validation seed, the same held-out ones.
    other = load_pen_sets(tmp_path, seed=3, synthetic=40, val_seed=0)
    assert not np.array_equal(other.x_train, sets.x_train)
    for name in ("x_val_digits", "y_val_digits", "x_val_reject", "y_val_reject"):
        assert np.array_equal(getattr(other, name), getattr(sets, name)), name
    assert not np.array_equal(load_pen_sets(tmp_path, seed=3, synthetic=40).x_val_digits, sets.x_val_digits)
    # Touching pairs add "not a digit" images and change no other.
    paired = load_pen_sets(tmp_path, seed=0, synthetic=40, pairs=12)
    n = len(sets.y_train)
    assert np.array_equal(paired.x_train[:n], sets.x_train) and np.array_equal(paired.y_train[:n], sets.y_train)
    assert len(paired.y_train) == n + 12 and (paired.y_train[n:] == NOT_A_DIGIT).all()
    assert np.array_equal(paired.x_val_digits, sets.x_val_digits)
    # Stroke jitter changes the training digits drawn in several strokes, never the held-out ones.
    for d in digits[:20]:
        d["strokes"] = [d["strokes"][0][:6], d["strokes"][0][6:]]
    _write(tmp_path / "digits.jsonl.gz", digits)
    still, jittered = (load_pen_sets(tmp_path, seed=0, synthetic=40, stroke_jitter=j) for j in (0.0, 0.05))
    assert not np.array_equal(jittered.x_train, still.x_train)
    assert np.array_equal(jittered.y_train, still.y_train)
    assert np.array_equal(jittered.x_val_digits, still.x_val_digits)


def test_synthetic_rejects_include_true_taps():
    taps = [s for s in synthetic_rejects(40, np.random.default_rng(0)) if len(s) == 1 and len(s[0]) == 1]
    assert len(taps) >= 3



def _box_digit(writer, aspect):
    """A digit whose one stroke outlines a box `aspect` times as wide as it is tall (the writer's mark)."""
    w = 40.0 * aspect
    return PenSample(writer, "0", (np.array([[0, 0], [w, 0], [w, 40], [0, 40], [0, 0]], float),))


def test_touching_pairs_are_two_digits_of_one_writer_touching():
    # Each writer's digits have an aspect of their own, which scaling keeps: a pair shows its writer.
    digits = [_box_digit(f"w{k}", 0.3 + 0.1 * k) for k in range(6) for _ in range(3)]
    digits.append(_box_digit("alone", 2.0))  # a writer with one digit makes no pair
    pairs = touching_pairs(digits, 300, np.random.default_rng(0))
    assert len(pairs) == 300
    for first, second in pairs:
        (w1, h1), (w2, h2) = np.ptp(first, axis=0), np.ptp(second, axis=0)
        assert w1 / h1 == pytest.approx(w2 / h2) and w1 / h1 < 1.5
        assert 85 <= h1 <= 110 and 85 <= h2 <= 110
        gap = second[:, 0].min() - first[:, 0].max()
        assert -min(0.4 * min(w1, w2), 15.0) - 1e-9 <= gap <= 3.0  # touching or overlapping, never apart
        assert second[:, 0].max() > first[:, 0].max()  # side by side, left to right
    assert touching_pairs(digits[-1:], 5, np.random.default_rng(0)) == []
