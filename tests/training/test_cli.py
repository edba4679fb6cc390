import json
import os
import subprocess
import sys

import pytest

from training.config import VAL_SEED

from tests.conftest import ROOT


def run_training(*args, env=None):
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("runs")
    proc = run_training("--quick", "--data", str(mnist_dir), "--out", str(out), "--seed", "7")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_quick_run_writes_every_artefact(quick_run):
    out, _ = quick_run
    run = (out / "latest").resolve()
    assert run.is_dir() and not run.name.endswith(".partial")
    for name in ("results.json", "results.csv", "report.md", "learning_curves.png",
                 "baseline.keras", "improved.keras", "simplified.keras",
                 "confusion_baseline.png", "confusion_improved.png", "confusion_simplified.png"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert not list(out.glob("*.partial"))


def test_quick_results_content(quick_run):
    out, proc = quick_run
    results = json.loads((out / "latest" / "results.json").read_text())
    assert results["seed"] == 7 and results["config"]["quick"] is True
    assert set(results["models"]) == {"baseline", "improved", "simplified"}
    for m in results["models"].values():
        assert m["epochs_run"] == 1 and m["parameters"] > 10000 and m["train_seconds"] > 0
        assert 0 <= m["test_accuracy"] <= 1 and m["val_loss"] > 0
    best = max(results["models"].items(), key=lambda kv: (kv[1]["val_accuracy"], -kv[1]["val_loss"]))[0]
    assert results["chosen_model"] == best
    assert results["versions"]["keras"].startswith("3.")
    csv_lines = (out / "latest" / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("model,parameters") and len(csv_lines) == 4
    assert f"**Chosen: {best}**" in (out / "latest" / "report.md").read_text()
    assert f"chosen: {best}" in proc.stdout


def test_keras_model_round_trips(quick_run):
    import keras
    out, _ = quick_run
    model = keras.models.load_model(out / "latest" / "simplified.keras")
    assert model.output_shape == (None, 11)  # the digits, then "not a digit"


@pytest.mark.parametrize("args, message", [
    (["--models", "resnet"], "unknown resnet"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "-1"], "--batch-size must be at least 1"),
    (["--strategy", "tpu"], "invalid choice"),
    (["--pen-views", "3"], "--pen-views must be an even number"),
    (["--pen-views", "0"], "--pen-views must be an even number"),
    (["--stroke-jitter", "-0.1"], "--stroke-jitter must be between 0 and 0.5"),
    (["--stroke-jitter", "2"], "--stroke-jitter must be between 0 and 0.5"),
])
def test_bad_arguments(args, message, tmp_path):
    proc = run_training(*args, "--out", str(tmp_path))
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_quick_trains_one_epoch_unless_epochs_says_otherwise():
    """--quick is a smoke run of one epoch, but an explicit --epochs is never silently dropped (the
    Ctrl+C test relies on a quick run long enough to interrupt)."""
    from training.cli import parse_args
    from training.config import TrainConfig

    assert set(parse_args(["--quick", "--models", "simplified"]).epochs.values()) == {1}
    assert parse_args(["--quick", "--models", "simplified", "--epochs", "7"]).epochs == {"simplified": 7}
    assert parse_args(["--models", "simplified"]).epochs == {"simplified": TrainConfig().epochs["simplified"]}


def test_bad_data_one_line_error(tmp_path):
    (tmp_path / "data").mkdir()
    proc = run_training("--quick", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "missing train-images" in proc.stderr
    assert not (tmp_path / "runs" / "latest").exists()


def test_multiworker_without_tf_config(tmp_path, mnist_dir):
    proc = run_training("--quick", "--models", "simplified", "--strategy", "multiworker",
                        "--data", str(mnist_dir), "--out", str(tmp_path), env={"TF_CONFIG": ""})
    assert proc.returncode == 1 and "TF_CONFIG" in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains():
    proc = run_training("--help")
    assert proc.returncode == 0 and "--quick" in proc.stdout and "MNIST_DIR" in proc.stdout


def test_pen_views_reach_the_renderer(monkeypatch, tmp_path):
    import numpy as np

    import training.pen_data as pen_data
    from training.cli import parse_args, with_pen_data
    from training.data import Splits

    cfg = parse_args(["--pen-views", "6", "--pen", str(tmp_path), "--seed", "5", "--stroke-jitter", "0.05"])
    seen = {}

    def fake_load(directory, seed, **kwargs):
        seen.update(kwargs, seed=seed)
        empty = np.zeros((0, 28, 28, 1), np.float32)
        return pen_data.PenSets(empty, np.zeros(0, np.int64), empty, np.zeros(0, np.int64), empty,
                                np.zeros(0, np.int64), 0, 0)

    monkeypatch.setattr(pen_data, "load_pen_sets", fake_load)
    x = np.zeros((2, 28, 28, 1), np.float32)
    splits = Splits(*(x, np.zeros(2, np.int64)) * 3)
    merged, _ = with_pen_data(splits, cfg)
    assert cfg.pen_views == 6 and seen["digit_views"] == ("stroke",) * 3 + ("picture",) * 3
    assert len(merged.x_train) == 2
    assert parse_args([]).pen_views == 4
    assert seen["stroke_jitter"] == 0.05 and parse_args([]).stroke_jitter == 0.0
    # The seed moves the training renders, not the held-out ones: runs of any seed are scored alike.
    assert seen["seed"] == 5 and seen["val_seed"] == VAL_SEED == 42


def test_the_mnist_validation_split_is_the_same_whatever_the_seed(monkeypatch, mnist_dir):
    import training.cli as cli

    seeds = []

    def stop(data, val_size, seed, **kwargs):
        seeds.append(seed)
        raise KeyboardInterrupt  # enough: the split is all this test looks at

    monkeypatch.setattr(cli, "make_splits", stop)
    for seed in ("5", "42"):
        with pytest.raises(KeyboardInterrupt):
            cli.run(cli.parse_args(["--quick", "--seed", seed, "--data", str(mnist_dir)]))
    assert seeds == [VAL_SEED, VAL_SEED]
