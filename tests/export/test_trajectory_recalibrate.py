"""`python -m export --trajectory --recalibrate`: the installed stroke reader calibrated again for the digit model
beside it, from the held-out writers (export/trajectory.py recalibrate_installed), with no run and no training."""
import json
import shutil
import subprocess
import sys

import onnx
import pytest

from app.trajectory import file_digest
from tests.conftest import ROOT

MODELS = ROOT / "app" / "models"


def run_export(*args):
    return subprocess.run([sys.executable, "-m", "export", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def metadata(path):
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def graph_bytes(path):
    return onnx.load(str(path)).graph.SerializeToString()


@pytest.fixture
def pair(tmp_path):
    for name in ("digits.onnx", "trajectory.onnx"):
        shutil.copyfile(MODELS / name, tmp_path / name)
    return tmp_path


def test_the_shipped_pair_calibrates_to_what_training_found(pair):
    """The installed stroke reader was calibrated by training (Keras answers); calibrated again from its ONNX
    answers on the same held-out samples, it must come out the same."""
    before = metadata(pair / "trajectory.onnx")
    done = run_export("--trajectory", "--recalibrate", "--out", pair / "trajectory.onnx")
    assert done.returncode == 0, done.stderr[-2000:]
    after = metadata(pair / "trajectory.onnx")
    assert after["recalibrated_at"] and "recalibrated_at" not in before
    assert after["digit_model_sha256"] == before["digit_model_sha256"] == file_digest(pair / "digits.onnx")
    for key in ("fusion_weight", "fused_score", "image_score", "val_digits", "val_rejects",
                "fused_val_accuracy", "stroke_val_accuracy"):
        assert json.loads(after[key]) == pytest.approx(json.loads(before[key]), abs=1e-6), key
    assert float(after["sure_threshold"]) == pytest.approx(float(before["sure_threshold"]), abs=1e-5)
    assert graph_bytes(pair / "trajectory.onnx") == graph_bytes(MODELS / "trajectory.onnx")


def test_a_new_digit_model_gets_the_stroke_reader_back(pair):
    from app.predictor import Predictor
    from export.half import store_half
    from export.vote import half_precision_copy

    # Another digit model: the shipped one in half precision (another file, nearly the same answers).
    other = half_precision_copy(onnx.load(str(MODELS / "digits.onnx")))
    store_half(other)
    onnx.save(other, pair / "digits.onnx")
    assert Predictor(pair / "digits.onnx").trajectory is None  # calibrated for the file it replaced: not used

    done = run_export("--trajectory", "--recalibrate", "--out", pair / "trajectory.onnx")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "installed" in done.stdout and "fused score" in done.stdout
    meta = metadata(pair / "trajectory.onnx")
    assert meta["digit_model_sha256"] == file_digest(pair / "digits.onnx")
    assert json.loads(meta["fused_score"]) > json.loads(meta["image_score"]) > 0.95
    predictor = Predictor(pair / "digits.onnx")
    assert predictor.trajectory is not None and not predictor.trajectory_note
    assert graph_bytes(pair / "trajectory.onnx") == graph_bytes(MODELS / "trajectory.onnx")


def test_bad_input_is_one_line_and_changes_nothing(pair, tmp_path):
    shutil.copyfile(MODELS / "digits.onnx", tmp_path / "elsewhere.onnx")
    cases = [(["--out", tmp_path / "none" / "trajectory.onnx"], "no stroke reader installed there"),
             (["--out", tmp_path / "elsewhere.onnx"], "not a stroke reader"),
             (["--out", pair / "trajectory.onnx", "--pen", tmp_path / "no-pen"], "held-out writers' strokes")]
    for args, says in cases:
        done = run_export("--trajectory", "--recalibrate", *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert (pair / "trajectory.onnx").read_bytes() == (MODELS / "trajectory.onnx").read_bytes()


def test_usage(capsys):
    from export.cli import main

    for wrong in (["--recalibrate"], ["--trajectory", "--recalibrate", "--run", "x"], ["--pen", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(wrong)
        assert exit_info.value.code == 2 and "--recalibrate" in capsys.readouterr().err
