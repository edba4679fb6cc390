"""`python -m training.trajectory`: the stroke reader's training run and its calibration with the digit model."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.trajectory import CHANNELS, POINTS, file_digest
from training.trajectory import WEIGHTS, calibrate, parse_args, path_features, score

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "app" / "models" / "digits.onnx"


def answers(labels, right, sure, rng, classes=11):
    """Probabilities that give the true label `sure` on a `right` share of rows, a random wrong one elsewhere."""
    p = np.full((len(labels), classes), (1 - sure) / (classes - 1))
    wrong = (labels + rng.integers(1, classes, len(labels))) % classes
    hit = rng.random(len(labels)) < right
    p[np.arange(len(labels)), np.where(hit, labels, wrong)] = sure
    return p


def test_the_weight_follows_how_much_the_stroke_reader_knows():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 11, 3000)
    image = answers(labels, 0.9, 0.6, rng)
    good, _, fused = calibrate(answers(labels, 0.97, 0.9, rng), image, labels)
    useless, _, _ = calibrate(answers(labels, 0.1, 0.9, rng), image, labels)
    assert good in WEIGHTS and useless in WEIGHTS
    assert good >= 1.0 and useless == WEIGHTS.min()
    assert (fused.argmax(1) == labels).mean() > (image.argmax(1) == labels).mean()


def test_the_weight_is_the_one_most_often_right_not_the_lowest_log_loss():
    """A stroke reader right more often than the digit model but all-in where it is wrong: the log-loss
    would keep its weight low (0.4 here); the answers are most often right from 0.9 on, and of the weights
    that tie there the lowest log-loss wins."""
    from app.trajectory import fuse
    from training.calibrate import nll

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 3000)
    image = answers(labels, 0.9, 0.6, rng)
    stroke = answers(labels, 0.95, 0.7, rng)
    wrong = stroke.argmax(1) != labels
    stroke[wrong] = np.where(stroke[wrong] == stroke[wrong].max(1, keepdims=True), 1 - 1e-6, 1e-7)
    weight, _, fused = calibrate(stroke, image, labels)
    scores = np.array([score(fuse(image, stroke, w), labels)[2] for w in WEIGHTS])
    losses = np.array([nll(fuse(image, stroke, w), labels) for w in WEIGHTS])
    assert WEIGHTS[np.argmin(losses)] < WEIGHTS[np.argmax(scores)]  # the two rules disagree here
    tied = np.flatnonzero(scores >= scores.max() - 1e-9)
    assert weight == WEIGHTS[tied[np.argmin(losses[tied])]] == 0.9
    assert score(fused, labels)[2] == pytest.approx(scores.max())


def test_score_weighs_digits_and_non_digits_as_the_digit_training_does():
    labels = np.array([0, 1, 2, 10])
    p = np.eye(11)[[0, 1, 3, 10]]  # two of three digits right, the letter right
    digits, rejects, both = score(p, labels)
    assert (digits, rejects) == (pytest.approx(2 / 3), 1.0)
    assert both == pytest.approx((0.5 * 2 / 3 + 0.25 * 1.0) / 0.75)


def test_stroke_jitter_reaches_the_augmented_views_only():
    five = ((np.array([[30, 0], [0, 0], [0, 30], [30, 40], [25, 70], [0, 65]], float),
             np.array([[0, 0], [35, 0]], float)), 5)
    still, _ = path_features([five], 3, np.random.default_rng(0))
    moved, _ = path_features([five], 3, np.random.default_rng(0), 0.05)
    assert np.array_equal(moved[0], still[0])  # view 0: as written
    assert not np.allclose(moved[1:], still[1:])
    assert parse_args(["--stroke-jitter", "0.05"]).stroke_jitter == 0.05 and parse_args([]).stroke_jitter == 0.0


def test_quick_run_writes_a_complete_run(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--quick", "--out", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = (tmp_path / "runs" / "latest").resolve()
    results = json.loads((run / "results.json").read_text())
    assert results["digit_model_sha256"] == file_digest(DIGITS) and results["fusion_weight"] in WEIGHTS
    assert 0.0 < results["sure_threshold"] <= 1.0 and results["val_digits"] == 100 and results["val_rejects"] == 100
    for key in ("stroke_val_accuracy", "image_val_accuracy", "fused_val_accuracy", "image_score", "fused_score"):
        assert 0.0 <= results[key] <= 1.0
    with np.load(run / "val.npz") as val:
        assert val["x"].shape == (200, POINTS, CHANNELS) and val["image"].shape == (200, 11)
        assert (val["y"] == 10).sum() == 100 and set(val["y"][val["y"] < 10].tolist()) <= set(range(10))
    assert (run / "model.keras").is_file() and "held-out digits" in proc.stdout

    # Another seed trains on other samples but is calibrated on the same held-out ones: runs compare.
    other = subprocess.run([sys.executable, "-m", "training.trajectory", "--quick", "--seed", "5", "--out",
                            str(tmp_path / "seed5")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert other.returncode == 0, other.stderr[-2000:]
    with np.load(run / "val.npz") as val, np.load(tmp_path / "seed5" / "latest" / "val.npz") as val5:
        assert np.array_equal(val["x"], val5["x"]) and np.array_equal(val["y"], val5["y"])

    # --recalibrate: the same run calibrated again from what it saved, results.json rewritten in place.
    stale = dict(results, fusion_weight=1.9, fused_score=0.0)
    (run / "results.json").write_text(json.dumps(stale))
    proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--recalibrate", str(tmp_path / "runs" / "latest")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = json.loads((run / "results.json").read_text())
    assert "recalibrated" in again and "weight 1.9" in proc.stdout
    for key in ("fusion_weight", "sure_threshold", "fused_score", "fused_val_accuracy", "image_score"):
        assert again[key] == pytest.approx(results[key]), key
    assert again["history"] == results["history"] and again["config"] == results["config"]


def test_recalibrating_refuses_a_run_of_another_digit_model_or_no_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    results = {"digit_model_sha256": "f" * 64, "fusion_weight": 0.4, "fused_score": 0.9}
    (run / "results.json").write_text(json.dumps(results))
    np.savez(run / "val.npz", x=np.zeros((2, POINTS, CHANNELS)), y=np.zeros(2, int), image=np.full((2, 11), 1 / 11))
    for target, digits, words in ((run, DIGITS, "another digit model"),
                                  (tmp_path / "none", DIGITS, "not a stroke reader's run"),
                                  (run, tmp_path / "no.onnx", "cannot read the digit model")):
        proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--recalibrate", str(target),
                               "--digits", str(digits)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr
    assert json.loads((run / "results.json").read_text()) == results  # untouched

    # The right digit model, but a damaged stroke reader: one line too.
    damaged = dict(results, digit_model_sha256=file_digest(DIGITS))
    (run / "results.json").write_text(json.dumps(damaged))
    (run / "model.keras").write_bytes(b"not a keras file")
    proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--recalibrate", str(run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot load the stroke reader" in proc.stderr, \
        proc.stderr[-2000:]
    assert json.loads((run / "results.json").read_text()) == damaged


def test_a_digit_model_without_not_a_digit_is_refused_in_one_line(tmp_path):
    from tests.app.conftest import build_model, constant_head

    ten = build_model(tmp_path / "ten.onnx", constant_head(np.zeros(10)))  # digits only, no "not a digit"
    proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--quick", "--digits", str(ten),
                           "--out", str(tmp_path / "runs")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no \"not a digit\" output" in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, words", [
    (["--pen", "/nonexistent/unipen"], "pass --pen"),
    (["--digits", "/nonexistent/digits.onnx"], "--digits"),
    (["--views", "0"], "at least 1"),
    (["--stroke-jitter", "0.9"], "--stroke-jitter must be between 0 and 0.5"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, words):
    proc = subprocess.run([sys.executable, "-m", "training.trajectory", "--quick", "--out", str(tmp_path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-1]  # argparse prints its usage first
    assert proc.returncode == 2 and words in last and "error: " in last and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())
