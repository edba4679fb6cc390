import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from tests.conftest import ROOT

METADATA_KEYS = {"model_name", "test_accuracy", "test_loss", "val_accuracy", "trained_at", "labels",
                 "preprocessing", "keras_version", "tf2onnx_version"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_dir):
    """A small real run trained in the test: two models on the --quick subset."""
    out = tmp_path_factory.mktemp("runs")
    proc = subprocess.run([sys.executable, "-m", "training", "--quick", "--models", "simplified,baseline",
                           "--data", str(mnist_dir), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / "latest"


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("models") / "digits.onnx"
    proc = subprocess.run([sys.executable, "-m", "export", "--run", str(run_dir), "--out", str(out),
                           "--data", str(mnist_dir)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Read now: other tests export from the same run and rewrite its parity.json.
    return out, proc, json.loads((run_dir / "parity.json").read_text())


@pytest.fixture
def own_run(run_dir, tmp_path):
    """A private copy of the run, for tests that write into it (parity.json)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def test_export_installs_contract_model(exported):
    out, proc, _ = exported
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,), (outp, features) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("image", ["batch", 28, 28, 1], "tensor(float)")
    assert outp.name == "probabilities" and outp.shape in (["batch", 10], ["batch", 11])  # K: DESIGN.md
    # The second output: what the final layer reads (for per-user adaptation), after probabilities.
    assert features.name == "features" and features.shape[0] == "batch" and features.shape[1] > 11
    assert onnx.load(str(out)).opset_import[0].version == 17
    assert "parity ok" in proc.stdout


def test_metadata_read_back_through_onnxruntime(exported, run_dir):
    out, _, _ = exported
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert METADATA_KEYS <= set(meta)
    results = json.loads((run_dir / "results.json").read_text())
    assert meta["model_name"] == results["chosen_model"]
    width = session_width(out)
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)] + ["not a digit"] * (width - 10)
    assert meta["preprocessing"] == "mnist-com-v1"
    assert float(meta["test_accuracy"]) == pytest.approx(results["models"][meta["model_name"]]["test_accuracy"], abs=2e-4)


def session_width(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_outputs()[0].shape[1]


def test_parity_json_written(exported):
    _, _, parity = exported
    assert parity["passed"] and parity["images"] == 10000
    assert parity["max_abs_diff"] <= 1e-5 and parity["argmax_mismatches"] == 0
    assert parity["keras_accuracy"] == parity["onnx_accuracy"]


def test_named_model_exported(own_run, tmp_path, mnist_dir):
    from export.cli import main
    run_dir = own_run
    out = tmp_path / "b.onnx"
    assert main(["--run", str(run_dir), "--model", "baseline", "--out", str(out), "--data", str(mnist_dir)]) == 0
    meta = ort.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    assert meta["model_name"] == "baseline"


def test_a_new_digit_model_says_the_stroke_reader_beside_it_needs_pairing(own_run, tmp_path, mnist_dir, capsys):
    from export.cli import main
    out = tmp_path / "digits.onnx"
    assert main(["--run", str(own_run), "--out", str(out), "--data", str(mnist_dir)]) == 0
    assert "trajectory" not in capsys.readouterr().err
    (tmp_path / "trajectory.onnx").write_bytes(b"calibrated with the digit model before")
    assert main(["--run", str(own_run), "--out", str(out), "--data", str(mnist_dir), "--force"]) == 0
    err = capsys.readouterr().err
    assert "trajectory.onnx belongs to the digit model this one replaced" in err and "Traceback" not in err


def corrupt(proto):
    """Scale the largest weight tensor: a model that still runs but computes something else."""
    init = max(proto.graph.initializer, key=lambda t: np.prod(t.dims))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.5, init.name))
    return proto


def wrong_shape(proto):
    """The converted model with its input declared as flat 784-vectors."""
    del proto.graph.input[0].type.tensor_type.shape.dim[1:]
    proto.graph.input[0].type.tensor_type.shape.dim.add().dim_value = 784
    return proto


@pytest.mark.parametrize("damage, code, message", [(corrupt, 3, "parity failed"),
                                                   (wrong_shape, 2, "contract")])
def test_bad_model_leaves_installed_file_untouched(own_run, tmp_path, mnist_dir, monkeypatch, capsys,
                                                   damage, code, message):
    run_dir = own_run
    import export.convert
    original = export.convert.keras_to_onnx
    monkeypatch.setattr(export.convert, "keras_to_onnx", lambda *a, **k: damage(original(*a, **k)))
    out = tmp_path / "digits.onnx"
    out.write_bytes(b"the previous good model")
    from export.cli import main
    assert main(["--run", str(run_dir), "--out", str(out), "--data", str(mnist_dir)]) == code
    assert out.read_bytes() == b"the previous good model"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("digits.onnx", "run")]
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if code == 3:
        assert "max |p_keras - p_onnx|" in err and "at image" in err
        assert not json.loads((run_dir / "parity.json").read_text())["passed"]


def test_parity_compare_reports_worst_and_mismatch():
    from export.parity import compare
    p = np.full((5, 10), 0.05, np.float32)
    p[:, 3] = 0.55
    q = p.copy()
    q[4, 3], q[4, 7] = 0.05, 0.55
    r = compare(p, q, np.array([3, 3, 3, 3, 3]))
    assert not r.passed and r.worst_image == 4 and r.argmax_mismatches == 1 and r.first_mismatch == 4
    assert r.keras_accuracy == 1.0 and r.onnx_accuracy == 0.8
    assert compare(p, p + 1e-6, np.full(5, 3)).passed


def test_parity_tolerance_is_1e_5():
    """The boundary of the contract: 0.9e-5 passes, 1.5e-5 fails (a looser limit would pass both)."""
    from export.parity import compare
    p = np.full((4, 10), 0.05, np.float32)
    p[:, 3] = 0.55
    labels = np.full(4, 3)
    near, over = p.copy(), p.copy()
    near[2, 5] += 0.9e-5
    over[2, 5] += 1.5e-5
    assert compare(p, near, labels).passed
    report = compare(p, over, labels)
    assert not report.passed and report.worst_image == 2 and report.argmax_mismatches == 0


def test_quantize_guard(own_run, mnist_dir):
    import onnx as onnx_lib

    from export.quantize import QuantizationRefused, quantize_checked
    from training.data import load_mnist
    float_blob = (own_run.parent / "q.onnx")
    from export.cli import main
    assert main(["--run", str(own_run), "--out", str(float_blob), "--data", str(mnist_dir)]) == 0
    mnist = load_mnist(mnist_dir)
    with pytest.raises(QuantizationRefused, match="loses"):
        quantize_checked(float_blob.read_bytes(), mnist, float_accuracy=1.01)
    blob, summary = quantize_checked(float_blob.read_bytes(), mnist, float_accuracy=0.0)
    assert summary["int8_bytes"] < summary["float_bytes"] / 2
    meta = {p.key: p.value for p in onnx_lib.load_from_string(blob).metadata_props}
    assert "int8" in meta["quantization"] and float(meta["test_accuracy"]) == summary["int8_accuracy"]


def test_quantize_through_the_cli(own_run, tmp_path, mnist_dir, monkeypatch, capsys):
    """`python -m export --quantize` installs the int8 model when the guard allows it, and never when not."""
    import export.quantize
    from export.cli import main
    out = tmp_path / "digits.onnx"
    monkeypatch.setattr(export.quantize, "MAX_ACCURACY_DROP", 1.0)  # a --quick model may lose a point or two
    assert main(["--run", str(own_run), "--out", str(out), "--data", str(mnist_dir), "--quantize"]) == 0
    meta = ort.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    assert "int8" in meta["quantization"]
    parity = json.loads((own_run / "parity.json").read_text())
    assert parity["quantized"]["int8_bytes"] == out.stat().st_size < parity["quantized"]["float_bytes"] / 2
    capsys.readouterr()

    monkeypatch.setattr(export.quantize, "MAX_ACCURACY_DROP", -1.0)  # no int8 model can pass this
    refused = tmp_path / "refused.onnx"
    main(["--run", str(own_run), "--out", str(refused), "--data", str(mnist_dir), "--quantize"])
    err = capsys.readouterr().err
    assert "loses" in err and "Traceback" not in err
    if refused.exists():  # installing the checked float model instead is allowed; the int8 one is not
        meta = ort.InferenceSession(str(refused)).get_modelmeta().custom_metadata_map
        assert "int8" not in meta.get("quantization", "")


@pytest.mark.parametrize("args, message", [(["--run", "/nonexistent"], "not a complete training run"),
                                           (["--opset", "9"], "--opset must be between")])
def test_bad_arguments(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "export", *args, "--out", str(tmp_path / "x.onnx")], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.onnx").exists()
