"""training.sequences and `python -m training.sequence`: rows of digits for the number reader, split by writer."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.strip import HEIGHT, NOT_A_DIGIT, decode
from training.pen_data import DEFAULT_PEN_DIR, is_val_writer
from training.sequence import VAL_SEED
from training.sequences import COLUMNS, MAX_SYMBOLS, _gap, encode, load_pen, make_rows, pen_row

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def writers():
    if not (DEFAULT_PEN_DIR / "digits.jsonl.gz").is_file():
        pytest.fail(f"{DEFAULT_PEN_DIR} is missing: the pen data lies in ../shared/data/unipen beside the repository")
    return load_pen(DEFAULT_PEN_DIR)


def test_rows_never_mix_training_and_held_out_writers(writers):
    train, val = writers
    assert train and val and set(train).isdisjoint(val)
    assert not any(is_val_writer(w) for w in train) and all(is_val_writer(w) for w in val)
    for digits, letters in list(train.values()) + list(val.values()):
        assert {s.writer for s in digits + letters} <= {digits[0].writer}  # one writer per row


def test_rows_are_strips_with_their_labels(writers):
    train, _ = writers
    rows = make_rows(60, 0, train)
    assert rows.x.shape == (60, HEIGHT, COLUMNS, 1) and rows.x.dtype == np.float32
    assert 0.0 <= rows.x.min() and rows.x.max() <= 1.0
    for x, y, text in zip(rows.x, rows.y, rows.text):
        assert 1 <= len(text) <= MAX_SYMBOLS and set(text) <= set("0123456789x")
        assert list(y[: len(text)]) == [NOT_A_DIGIT if c == "x" else int(c) + 1 for c in text]
        assert not y[len(text):].any()  # padded with CTC's blank
        assert x[:, :8].max() == 0.0 and x.max() == 1.0  # empty margin first, ink at full white


def test_single_share_adds_rows_of_one_digit_and_none_keeps_the_old_rows(writers):
    train, _ = writers
    mnist = (np.full((50, 28, 28), 255, np.uint8), np.arange(50) % 10)
    old = make_rows(120, 3, train, mnist, 0.5)
    same = make_rows(120, 3, train, mnist, 0.5, single_share=0.0)
    assert same.text == old.text and np.array_equal(same.x, old.x)  # runs before the share read the same rows
    more = make_rows(240, 3, train, mnist, 0.5, single_share=0.6)
    ones = np.mean([len(t) == 1 for t in more.text])
    assert 0.5 < ones < 0.85 and np.mean([len(t) == 1 for t in old.text]) < 0.35  # 0.6 + 0.4 / 6 against 1 / 6


def test_a_thicker_brush_range_draws_the_same_rows_thicker(writers):
    # The app's default 28 px brush on a number 60-90 px tall is 0.3-0.47 of its height: training rows
    # may reach that (--thickest-brush) while every other draw stays the same.
    from training.sequence import SequenceConfig
    from training.sequences import THICKEST

    assert SequenceConfig().thickest_brush == THICKEST  # by default, as the held-out rows
    train, _ = writers
    digits, letters = next(iter(train.values()))
    for seed in range(12):
        usual, text = pen_row(digits, letters, np.random.default_rng(seed))
        same, _ = pen_row(digits, letters, np.random.default_rng(seed), thickest=0.3)
        thick, thick_text = pen_row(digits, letters, np.random.default_rng(seed), thickest=0.6)
        assert np.array_equal(usual, same) and thick_text == text
        assert (thick > 127).sum() > (usual > 127).sum()


def test_favoured_digits_come_more_often_and_none_keeps_the_old_rows(writers):
    train, _ = writers
    old = make_rows(300, 4, train)
    assert make_rows(300, 4, train, favour="").text == old.text  # runs before --favour read the same rows
    more = make_rows(300, 4, train, favour="14")

    def share(rows, digits):
        symbols = "".join(rows.text)
        return sum(symbols.count(d) for d in digits) / len(symbols)

    # Two of ten digits: about 0.2 of the symbols, with the favour 0.2 + FAVOUR_SHARE * 0.8 = 0.44.
    assert share(old, "14") < 0.3 and share(more, "14") > 0.36
    assert share(more, "0235") < share(old, "0235") - 0.05


def test_held_out_rows_are_the_ones_every_run_was_judged_on(writers):
    _, val = writers
    # The first texts of the installed reader's val_rows.npz (run 20261126-044934): drawing training
    # rows differently must not move the rows that the export's install rule compares runs on.
    texts = make_rows(20, VAL_SEED, val, None, 0.0, augmented=False).text
    assert " ".join(texts) == "0 34 099 6 8586 000 6 989689 10000 9886 20020 93662 6 079788 01 0 x18 5636 33 1"


def test_encode_matches_the_readers_labels():
    frames = np.zeros((9, 12))
    frames[:, 0] = 1.0
    for t, k in ((1, 4), (3, 4), (5, NOT_A_DIGIT), (7, 1)):
        frames[t] = 0.0
        frames[t, k] = 1.0
    read = "".join("x" if c.index == NOT_A_DIGIT else c.label for c in decode(frames))
    assert read == "33x0" and list(encode(read)[:4]) == [4, 4, NOT_A_DIGIT, 1]


def test_touching_neighbours_never_hide_a_narrow_one():
    rng = np.random.default_rng(0)
    gaps = np.array([_gap(rng, True, 100.0, 12.0) for _ in range(2000)])
    assert gaps.min() >= -0.4 * 12.0 and gaps.max() <= 3.0  # overlap at most 40 % of the narrower one
    apart = np.array([_gap(rng, False, 100.0, 12.0) for _ in range(2000)])
    assert apart.min() >= 0.0 and apart.max() <= 50.0


def test_quick_run_writes_a_complete_run(tmp_path, mnist_dir):
    proc = subprocess.run([sys.executable, "-m", "training.sequence", "--quick", "--seed", "5", "--single-share",
                           "0.5", "--data", str(mnist_dir), "--out", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = (tmp_path / "runs" / "latest").resolve()
    results = json.loads((run / "results.json").read_text())
    assert results["train_rows"] == 600 and results["val_rows"] == 200 and 0.0 <= results["val_row_accuracy"] <= 1.0
    assert results["val_writers"] > 20 and results["params"] > 100_000 and results["config"]["single_share"] == 0.5
    with np.load(run / "val_rows.npz") as val:
        assert val["x"].shape == (200, HEIGHT, COLUMNS, 1) and len(val["text"]) == 200
        # Judged on the same held-out rows whatever the seed and the single share, so that runs compare
        # (the export's install rule).
        assert list(val["text"]) == make_rows(200, VAL_SEED, load_pen(DEFAULT_PEN_DIR)[1], None, 0.0,
                                              augmented=False).text
    assert (run / "model.keras").is_file() and "held-out rows read exactly" in proc.stdout


@pytest.mark.parametrize("args, words", [
    (["--pen", "/nonexistent/unipen"], "cannot read"),
    (["--rows", "0"], "at least 1"),
    (["--mnist-share", "2"], "between 0 and 1"),
    (["--single-share", "1"], "below 1"),
    (["--thickest-brush", "0.02"], "above 0.04"),
    (["--favour", "1,2"], "takes digits"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, mnist_dir, args, words):
    proc = subprocess.run([sys.executable, "-m", "training.sequence", "--quick", "--data", str(mnist_dir),
                           "--out", str(tmp_path), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-1]  # argparse prints its usage first
    assert proc.returncode == 2 and words in last and "error: " in last and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_training_feeds_any_keras_backend(backend, tmp_path, mnist_dir, monkeypatch):
    """TensorFlow trains from its shuffled tf.data pipeline, as every run here did; another backend (KERAS_BACKEND=jax
    on a GPU machine without TensorFlow) gets the arrays and Keras' own shuffling. The backend is faked here (CI
    has TensorFlow alone): what is checked is what `fit` is handed, and that the run records its backend."""
    import keras
    import tensorflow as tf

    from training.sequence import SequenceConfig, train

    handed = {}
    real_fit = keras.Model.fit

    def spy(self, x=None, *args, **kwargs):
        handed.update(x=x, **kwargs)
        return real_fit(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    cfg = SequenceConfig(rows=300, val_rows=50, epochs=1, batch_size=32, data=str(mnist_dir), out=str(tmp_path / "runs"))
    run = train(cfg)
    if backend == "tensorflow":
        assert isinstance(handed["x"], tf.data.Dataset) and handed["shuffle"] is False and "y" not in handed
    else:
        assert isinstance(handed["x"], np.ndarray) and handed["x"].shape == (300, HEIGHT, COLUMNS, 1)
        assert handed["y"].shape[0] == 300 and handed["batch_size"] == 32 and handed["shuffle"] is True
    assert json.loads((run / "results.json").read_text())["backend"] == backend
