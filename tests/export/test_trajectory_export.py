"""`python -m export --trajectory`: the stroke reader's ONNX contract, its pairing with the digit model, metadata,
parity (alone and fused), the install guard and the bad runs (export/trajectory.py, export/cli.py). The run is a
fake but complete one: a seeded, untrained trajectory_reader() with results.json and validation digits made by
app.trajectory.features of random strokes; digits.onnx beside --out is any bytes (only its sha256 matters)."""
import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from app.trajectory import CHANNELS, INPUT_NAME, OUTPUT_NAME, POINTS, TrajectoryReader, beside, features, file_digest
from export.install import WorseModel
from export.parity import MAX_ABS_DIFF
from export.trajectory import LABELS, compare, install_checked
from tests.conftest import ROOT
from tests.export.metadata import with_metadata

N_VAL = 40
RESULTS = {"model": "trajectory_reader", "fusion_weight": 0.7, "sure_threshold": 0.8, "fused_score": 0.9,
           "image_score": 0.8, "stroke_val_accuracy": 0.5, "fused_val_accuracy": 0.91, "image_val_accuracy": 0.81,
           "val_digits": 36, "val_rejects": 4}
DIGIT_MODEL = b"a digit model: only its sha256 matters here"


def random_strokes(rng):
    """1-3 strokes of a random walk each, in pixels: what a hand in the window might draw."""
    return [np.cumsum(rng.normal(0, 4, (int(rng.integers(1, 30)), 2)), axis=0) + rng.uniform(0, 200, 2)
            for _ in range(int(rng.integers(1, 4)))]


@pytest.fixture(scope="module")
def traj_run(tmp_path_factory):
    """A complete run directory as training.trajectory writes it, with seeded random weights (no global seed)."""
    from training.quiet_tf import import_tensorflow
    import_tensorflow()
    from training.models import trajectory_reader

    run = tmp_path_factory.mktemp("trajruns") / "20261126-000000"
    run.mkdir()
    rng = np.random.default_rng(7)
    model = trajectory_reader()
    # He-scaled kernels, small biases: answers that differ from digit to digit (large biases give one answer).
    model.set_weights([rng.normal(0, 0.1 if w.ndim == 1 else np.sqrt(2 / np.prod(w.shape[:-1])), w.shape)
                       .astype(np.float32) for w in model.get_weights()])
    model.save(run / "model.keras")
    x = np.stack([features(random_strokes(rng)) for _ in range(N_VAL)])
    y = rng.integers(0, len(LABELS), N_VAL).astype(np.int64)
    image = rng.dirichlet(np.full(len(LABELS), 0.3), N_VAL).astype(np.float32)
    np.savez_compressed(run / "val.npz", x=x, y=y, image=image)
    results = {**RESULTS, "digit_model_sha256": hashlib.sha256(DIGIT_MODEL).hexdigest(),
               "params": int(model.count_params())}
    (run / "results.json").write_text(json.dumps(results))
    return run


def models_dir(path, digit_model=DIGIT_MODEL):
    """A models folder holding `digit_model` as digits.onnx; returns where the stroke reader goes."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "digits.onnx").write_bytes(digit_model)
    return path / "trajectory.onnx"


@pytest.fixture(scope="module")
def exported(traj_run, tmp_path_factory):
    out = models_dir(tmp_path_factory.mktemp("models"))
    proc = subprocess.run([sys.executable, "-m", "export", "--trajectory", "--run", str(traj_run), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc, json.loads((traj_run / "parity.json").read_text())


@pytest.fixture
def own_run(traj_run, tmp_path):
    """A private copy of the run, for tests that change it or export again (they rewrite its parity.json)."""
    return shutil.copytree(traj_run, tmp_path / "run")


def edit_results(run, **changes):
    results = json.loads((run / "results.json").read_text())
    results.update({k: v for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        results.pop(k)
    (run / "results.json").write_text(json.dumps(results))


def onnx_meta(blob):
    return {p.key: p.value for p in onnx.load_from_string(blob).metadata_props}


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    return err


def test_installed_file_loads_in_the_app_and_matches_keras(exported, traj_run):
    import keras

    out, proc, parity = exported
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == (INPUT_NAME, ["batch", POINTS, CHANNELS], "tensor(float)")
    assert (outp.name, outp.shape) == (OUTPUT_NAME, ["batch", 11])
    reader, why = beside(out.parent / "digits.onnx", LABELS)
    assert why == "" and isinstance(reader, TrajectoryReader)
    digits_sha = file_digest(out.parent / "digits.onnx")
    assert (reader.weight, reader.sure_threshold, reader.digit_model) == (0.7, 0.8, digits_sha)
    rng = np.random.default_rng(5)
    groups = [random_strokes(rng) for _ in range(7)]
    model = keras.models.load_model(traj_run / "model.keras")
    expected = np.asarray(model(np.stack([features(g) for g in groups]), training=False))
    got = reader.predict(groups)
    assert got.shape == (7, 11) and np.abs(got - expected).max() <= MAX_ABS_DIFF
    assert (got.argmax(1) == expected.argmax(1)).all() and np.ptp(got, axis=0).max() > 0.01  # reads its input
    assert "parity ok" in proc.stdout and f"installed {out}" in proc.stdout and "fused score 90.00%" in proc.stdout
    assert parity["passed"] and parity["digits"] == N_VAL and parity["max_abs_diff"] <= MAX_ABS_DIFF
    assert parity["argmax_mismatches"] == parity["fused_argmax_mismatches"] == 0


def test_contract_check_refuses_other_dims(exported):
    from export.readers import check_contract
    from export.trajectory import CONTRACT

    proto = onnx.load(str(exported[0]))
    check_contract(proto, CONTRACT)
    proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "n"  # onnx.checker accepts it, the app would not
    with pytest.raises(ValueError, match=rf"breaks the I/O contract: trajectory\['n', {POINTS}, {CHANNELS}\]"):
        check_contract(proto, CONTRACT)


def test_metadata(exported, traj_run):
    from training.pen_data import PEN_TERMS

    meta = {p.key: p.value for p in onnx.load(str(exported[0])).metadata_props}
    results = json.loads((traj_run / "results.json").read_text())
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)] + ["not a digit"]
    assert meta["digit_model_sha256"] == results["digit_model_sha256"]
    for key in ("fusion_weight", "sure_threshold", "fused_score", "image_score", "stroke_val_accuracy",
                "fused_val_accuracy", "image_val_accuracy", "val_digits", "val_rejects", "params"):
        assert json.loads(meta[key]) == results[key], key
    assert meta["model_name"] == "trajectory_reader" and meta["run_id"] == traj_run.name
    assert meta["exported_at"].startswith("20") and meta["keras_version"] and meta["tf2onnx_version"]
    assert all(term in meta["trained_on"] for term in ("training writers", "synthetic non-digit", PEN_TERMS))


def test_another_digit_model_exits_2_and_writes_nothing(traj_run, tmp_path, capsys):
    from export.cli import main

    out = models_dir(tmp_path / "models", b"another digit model")
    assert main(["--trajectory", "--run", str(traj_run), "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert "calibrated with another digit model" in err and "python -m training.trajectory" in err
    assert [p.name for p in out.parent.iterdir()] == ["digits.onnx"]
    (out.parent / "digits.onnx").unlink()  # none at all beside --out
    assert main(["--trajectory", "--run", str(traj_run), "--out", str(out)]) == 2
    assert "no digit model beside" in one_line_error(capsys) and not any(out.parent.iterdir())
    # --out naming the digit model itself would overwrite it: refused though its sha256 is the calibrated one.
    digits = models_dir(tmp_path / "m2").parent / "digits.onnx"
    assert main(["--trajectory", "--run", str(traj_run), "--out", str(digits)]) == 2
    assert "the digit model's file" in one_line_error(capsys) and digits.read_bytes() == DIGIT_MODEL


def test_worse_than_the_digit_model_alone_exits_4_and_force_installs(own_run, tmp_path, capsys):
    from export.cli import main

    edit_results(own_run, fused_score=0.79)
    out = models_dir(tmp_path / "models")
    out.write_bytes(b"previous")
    assert main(["--trajectory", "--run", str(own_run), "--out", str(out)]) == 4
    err = one_line_error(capsys)
    assert "would make the window read worse" in err and "79.00%" in err and "80.00%" in err
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits.onnx", "trajectory.onnx"]
    assert main(["--trajectory", "--run", str(own_run), "--out", str(out), "--force"]) == 0
    captured = capsys.readouterr()
    assert f"installed {out}" in captured.out and "cannot be read" in captured.err  # the old bytes: replaced
    assert json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["fused_score"]) == 0.79
    assert beside(out.parent / "digits.onnx", LABELS)[0] is not None


def test_a_better_installed_reader_for_the_same_digit_model_is_kept(exported, traj_run, tmp_path, capsys):
    from export.cli import main

    better = with_metadata(exported[0].read_bytes(), fused_score=0.95)
    out = models_dir(tmp_path / "models")
    out.write_bytes(better)
    assert main(["--trajectory", "--run", str(traj_run), "--out", str(out)]) == 4
    err = one_line_error(capsys)
    assert "90.00%" in err and "95.00%" in err and "same digit model" in err and out.read_bytes() == better


def test_install_guard(exported, tmp_path):
    blob = exported[0].read_bytes()
    results = {**RESULTS, "digit_model_sha256": onnx_meta(blob)["digit_model_sha256"]}
    better = with_metadata(blob, fused_score=0.95)
    out = tmp_path / "trajectory.onnx"
    out.write_bytes(better)
    with pytest.raises(WorseModel, match=r"score 90\.00%, the installed one's 95\.00% .*unchanged \(--force"):
        install_checked(blob, out, results, force=False)
    assert out.read_bytes() == better and [p.name for p in tmp_path.iterdir()] == ["trajectory.onnx"]
    done = install_checked(blob, out, results, force=True)
    assert out.read_bytes() == blob and done.previous_accuracy == 0.95
    install_checked(blob, out, results, force=False)  # equal replaces (a re-export)
    # A better one calibrated for another digit model is of no use beside this one: replaced, with a note.
    out.write_bytes(with_metadata(better, digit_model_sha256="0" * 64))
    done = install_checked(blob, out, results, force=False)
    assert out.read_bytes() == blob and "another digit model" in done.note and done.previous_accuracy is None
    # A model without digit_model_sha256 (digits.onnx named by mistake) is no stroke reader: kept unless forced.
    digits_like = with_metadata(blob, digit_model_sha256=None)
    out.write_bytes(digits_like)
    with pytest.raises(WorseModel, match="not a stroke reader"):
        install_checked(blob, out, results, force=False)
    assert out.read_bytes() == digits_like
    out.write_bytes(b"not a model")  # unreadable: replaced, with a note
    done = install_checked(blob, out, results, force=False)
    assert out.read_bytes() == blob and "cannot be read" in done.note
    with pytest.raises(WorseModel, match="worse"):
        install_checked(blob, tmp_path / "new.onnx", {**results, "fused_score": 0.7}, force=False)
    assert not (tmp_path / "new.onnx").exists()


BAD_RESULTS = [
    ({"fusion_weight": 0}, "fusion_weight"), ({"fusion_weight": 4.5}, "fusion_weight"),
    ({"fusion_weight": None}, "fusion_weight"), ({"sure_threshold": 0.0}, "sure_threshold"),
    ({"sure_threshold": "0.9"}, "sure_threshold"), ({"fused_score": 1.5}, "fused_score"),
    ({"image_score": -0.1}, "image_score"), ({"image_score": True}, "image_score"),
    ({"digit_model_sha256": "abc"}, "digit_model_sha256"), ({"digit_model_sha256": None}, "digit_model_sha256"),
    ({"model": "sequence_reader"}, "not a trajectory run"), ({"models": {"improved": {}}}, "a digit run"),
    ({"val_row_accuracy": 0.5}, "--sequence"),
]


def test_bad_runs_exit_2_in_one_line(own_run, tmp_path, capsys):
    from export.cli import main

    out = models_dir(tmp_path / "models")
    args = ["--trajectory", "--run", str(own_run), "--out", str(out)]
    (own_run / "parity.json").unlink(missing_ok=True)  # the copied run's, from the export above
    good = (own_run / "results.json").read_text()
    for changes, expected in BAD_RESULTS:
        edit_results(own_run, **changes)
        assert main(args) == 2, changes
        err = one_line_error(capsys)
        assert expected in err and "results.json" in err, (changes, err)
        (own_run / "results.json").write_text(good)
    (own_run / "results.json").write_text("[1, 2")
    assert main(args) == 2 and "not valid JSON" in one_line_error(capsys)
    (own_run / "results.json").write_text(good)
    np.savez(own_run / "val.npz", x=np.zeros((3, POINTS, 4), np.float32), y=np.zeros(3, np.int64),
             image=np.zeros((3, 11), np.float32))
    assert main(args) == 2 and "val.npz: x (3, 64, 4)" in one_line_error(capsys)
    (own_run / "val.npz").unlink()
    assert main(args) == 2 and "val.npz: no such file" in one_line_error(capsys)
    assert main(["--trajectory", "--run", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "python -m training.trajectory" in one_line_error(capsys)
    assert [p.name for p in out.parent.iterdir()] == ["digits.onnx"] and not (own_run / "parity.json").exists()


def tampered(real):
    """keras_to_onnx, then one logit's bias moved by 0.05: onnx.checker passes, the probabilities differ."""
    def convert(model, opset):
        proto = real(model, opset)
        (bias,) = [t for t in proto.graph.initializer if list(t.dims) == [len(LABELS)]]
        values = numpy_helper.to_array(bias).copy()
        values[5] += 0.05
        bias.CopyFrom(numpy_helper.from_array(values, bias.name))
        return proto
    return convert


def test_parity_failure_exits_3_and_installs_nothing(own_run, tmp_path, capsys, monkeypatch):
    import export.trajectory
    from export.cli import main

    out = models_dir(tmp_path / "models")
    monkeypatch.setattr(export.trajectory, "keras_to_onnx", tampered(export.trajectory.keras_to_onnx))
    assert main(["--trajectory", "--run", str(own_run), "--out", str(out)]) == 3
    err = one_line_error(capsys)
    assert err.startswith("error: parity failed") and "left unchanged" in err
    assert [p.name for p in out.parent.iterdir()] == ["digits.onnx"]
    assert json.loads((own_run / "parity.json").read_text())["passed"] is False


def test_a_model_the_app_would_refuse_is_not_installed(own_run, tmp_path, capsys, monkeypatch):
    """The app's reader is the last word: here it allows a lower fusion weight than the run's 0.7."""
    import app.trajectory
    from export.cli import main

    out = models_dir(tmp_path / "models")
    monkeypatch.setattr(app.trajectory, "MAX_WEIGHT", 0.5)
    assert main(["--trajectory", "--run", str(own_run), "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert "the app refuses the exported stroke reader" in err and "fusion_weight" in err
    assert [p.name for p in out.parent.iterdir()] == ["digits.onnx"]


def test_compare_tolerance_and_fused_answers():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(11), 4)
    image = rng.dirichlet(np.ones(11), 4)
    for delta, passes in ((2.0 ** -17, True), (2.0 ** -16, False)):  # 7.6e-6 and 1.5e-5: both sides of 1e-5
        q = p.copy()
        q[2, 3] += delta
        report = compare(p, q, image, 1.0)
        assert report["passed"] is passes and report["max_abs_diff"] == delta and report["argmax_mismatches"] == 0
    # Strokes alone read the same (a 0), but the digit model's near tie between 2 and 3 follows the strokes' tiny
    # difference: a fused answer differs, so parity fails far below the tolerance.
    image = np.full((1, 11), 0.001)
    image[0, [2, 3]] = 0.4955
    keras_side, onnx_side = np.full((1, 11), 0.04), np.full((1, 11), 0.04)
    keras_side[0, [0, 2, 3]] = 0.4, 0.100001, 0.099999
    onnx_side[0, [0, 2, 3]] = 0.4, 0.099999, 0.100001
    report = compare(keras_side, onnx_side, image, 0.7)
    assert report["max_abs_diff"] < 1e-5 and report["argmax_mismatches"] == 0
    assert report["fused_argmax_mismatches"] == 1 and report["first_mismatch"] == 0 and not report["passed"]
    assert not compare(p, p[:, :10], image, 1.0)["passed"]
    nan = p.copy()
    nan[1, 1] = np.nan
    assert not compare(p, nan, p, 1.0)["passed"]


def test_cli_flags(capsys):
    from export.cli import main, parse_args

    a = parse_args(["--trajectory"])
    assert (a.run, a.out) == ("runs/trajectory/latest", ROOT / "app" / "models" / "trajectory.onnx")
    for wrong in (["--trajectory", "--sequence"], ["--trajectory", "--quantize"], ["--trajectory", "--model", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(wrong)
        assert exit_info.value.code == 2
        assert "--trajectory" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "export", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "--trajectory" in proc.stdout and "stroke reader" in proc.stdout
