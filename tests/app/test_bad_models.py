"""Bad models: each is refused with one line (at load, by the probe batch, or on the run that shows it).

Every model here passes the declared-shape contract check or fails only when run,
so only the predictor's guard stands between it and a traceback or a NaN answer.
"""

import json

import numpy as np
import pytest
from PIL import Image

from app import recognize, samples
from app.cli import main
from app.predictor import NOT_A_DIGIT, ModelError, Predictor

from .conftest import _weights, build_model, constant_head
from .test_segment import write


def fixed_batch_head(flat):
    """A Reshape to [1, 784]: runs on one image, fails on two (the load-time check cannot see it)."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Reshape", [flat, "one_shape"], ["one"]),
        helper.make_node("MatMul", ["one", "zeros"], ["nothing"]),
        helper.make_node("Add", ["nothing", "bias"], ["logits"]),
    ]
    shape = helper.make_tensor("one_shape", TensorProto.INT64, [2], [1, 784])
    return nodes, [shape, _weights("zeros", np.zeros((784, 10))), _weights("bias", np.arange(10.0))], "logits"


def wide_head(flat):
    """20 logits behind an output declared [batch, 10]; a run-time Reshape hides the width from the loader."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("MatMul", [flat, "zeros"], ["nothing"]),
        helper.make_node("Add", ["nothing", "bias"], ["twenty"]),
        helper.make_node("Shape", ["twenty"], ["shape"]),
        helper.make_node("Slice", ["shape", "start", "stop"], ["rows"]),
        helper.make_node("Concat", ["rows", "rest"], ["dynamic"], axis=0),
        helper.make_node("Reshape", ["twenty", "dynamic"], ["logits"]),
    ]
    consts = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("start", 0), ("stop", 1), ("rest", -1))]
    return nodes, [_weights("zeros", np.zeros((784, 20))), _weights("bias", np.arange(20.0))] + consts, "logits"


def nan_on_ink_head(flat):
    """Finite on a blank image, NaN as soon as there is ink (0 * log(0) for the blank, log(-x) for ink)."""
    from onnx import helper

    nodes = [
        helper.make_node("Neg", [flat], ["negative"]),
        helper.make_node("Sqrt", ["negative"], ["root"]),  # NaN wherever a pixel is lit
        helper.make_node("MatMul", ["root", "ones"], ["logits"]),
    ]
    return nodes, [_weights("ones", np.ones((784, 10)))], "logits"


def features_head(flat):
    """Logits plus a feature vector the app must ignore."""
    from onnx import helper

    nodes = [
        helper.make_node("MatMul", [flat, "w"], ["features"]),
        helper.make_node("MatMul", ["features", "v"], ["logits"]),
    ]
    w, v = np.zeros((784, 16)), np.zeros((16, 10))
    return nodes, [_weights("w", w), _weights("v", v)], "logits"


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    where = tmp_path_factory.mktemp("bad_models")
    return {
        "fixed_batch": build_model(where / "fixed_batch.onnx", fixed_batch_head),
        "wide": build_model(where / "wide.onnx", wide_head),
        "nan": build_model(where / "nan.onnx", constant_head(np.full(10, np.nan))),
        "nan_on_ink": build_model(where / "nan_on_ink.onnx", nan_on_ink_head),
        "logits": build_model(where / "logits.onnx", constant_head(np.arange(10.0)), softmax=False),
        "unnormalised": build_model(where / "sigmoid.onnx", constant_head(np.linspace(0, 0.9, 10)), softmax=False),
        "escapes": build_model(
            where / "escapes.onnx", constant_head(np.arange(10.0)),
            metadata={"model_name": "evil\x1b[2J\nname", "preprocessing": "other\x1b]0;title\x07"},
        ),
        "bad_labels": build_model(
            where / "bad_labels.onnx", constant_head(np.arange(10.0)), metadata={"labels": '["a", "b"]'}
        ),
        "eleven_declared_ten": build_model(
            where / "eleven_labels.onnx", constant_head(np.arange(10.0)),
            metadata={"labels": json.dumps([str(d) for d in range(10)] + [NOT_A_DIGIT])},
        ),
        "bad_threshold": build_model(
            where / "bad_threshold.onnx", constant_head(np.arange(10.0)), metadata={"sure_threshold": "1.5"}
        ),
    }


def one_line(text):
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


@pytest.mark.parametrize(
    "role, message",
    [
        ("fixed_batch", r"failed on a batch of 3 image\(s\)"),
        ("wide", r"has shape \[3, 20\] for 3 image\(s\); expected \[3, 10\]"),
        ("nan", "NaN or infinite"),
        ("logits", "are not probabilities"),
        ("unnormalised", r"rows summing to 4\.5 to 4\.5"),
        ("bad_labels", "metadata 'labels' must be"),
        ("eleven_declared_ten", r"must be float32 \[batch, 11\] \(11 labels\), found float32 \[batch, 10\]"),
        ("bad_threshold", "'sure_threshold' must be a number between 0 and 1, found 1.5"),
    ],
)
def test_refused_at_load(bad, role, message):
    with pytest.raises(ModelError, match=message):
        Predictor(bad[role])


@pytest.mark.parametrize("role", ["fixed_batch", "wide", "nan", "logits", "bad_labels"])
def test_cli_says_one_line_and_exits_1(bad, role, tmp_path, capsys):
    image = tmp_path / "seven.png"
    samples.render(7).save(image)
    assert main(["predict", "--json", str(image), "--model", str(bad[role])]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert one_line(captured.err) and captured.err.startswith(f"error: model {bad[role]}")


def test_nan_only_on_ink_is_caught_by_the_probe_and_by_the_run(bad):
    """NaN only once there is ink: the probe's blank image passes, its inked ones do not."""
    with pytest.raises(ModelError, match="NaN"):
        Predictor(bad["nan_on_ink"])
    guarded = _unprobed(bad["nan_on_ink"])
    with pytest.raises(ModelError, match="NaN or infinite"):
        recognize.read(guarded, samples.render(3))
    assert guarded.predict(np.zeros((2, 28, 28, 1))).shape == (2, 10)


def _unprobed(path):
    """A Predictor loaded without its probe batch (what a probe-passing, later-failing model looks like)."""
    original = Predictor._probe
    Predictor._probe = lambda self: None
    try:
        return Predictor(path)
    finally:
        Predictor._probe = original


@pytest.mark.parametrize("role, failing", [("fixed_batch", ["number"]), ("wide", ["one", "number"]),
                                           ("nan_on_ink", ["one", "number"])])
def test_every_run_is_guarded_not_only_the_probe(bad, role, failing, tmp_path, capsys, monkeypatch):
    """With the probe switched off, each run's check still gives one line per file, and the batch goes on."""
    monkeypatch.setattr(Predictor, "_probe", lambda self: None)
    files = {"one": tmp_path / "one.png", "number": tmp_path / "number.png", "after": tmp_path / "after.png"}
    samples.render(1).save(files["one"])
    Image.fromarray(write([1, 2])).save(files["number"])
    files["after"].write_bytes(b"not an image")  # the batch must still reach the last file
    code = main(["predict", *map(str, files.values()), "--model", str(bad[role])])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    expected = [f"error: {files[k]}: model " for k in failing] + [f"error: {files['after']}: not an image"]
    assert [e[: len(x)] for e, x in zip(errors, expected)] == expected, captured.err
    assert len(errors) + len(captured.out.strip().splitlines()) == 3
    assert "Traceback" not in captured.err and "nan" not in captured.out.lower()


def test_metadata_cannot_drive_the_terminal(bad, capsys):
    predictor = Predictor(bad["escapes"])
    assert "\x1b" not in predictor.describe() and "\n" not in predictor.describe()
    assert predictor.name == "evil\\x1b[2J\\nname"
    assert main(["--self-test", "--model", str(bad["escapes"])]) == 1  # a constant model fails it
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.err
    assert one_line(captured.out) and one_line(captured.err)  # the preprocessing warning


def test_eleven_labels_and_extra_outputs(tmp_path):
    logits = np.arange(11.0)
    path = build_model(
        tmp_path / "eleven.onnx", constant_head(logits), width=11,
        metadata={"labels": json.dumps([str(d) for d in range(10)] + [NOT_A_DIGIT]), "sure_threshold": "0.7"},
    )
    predictor = Predictor(path)
    assert predictor.classes == 11 and predictor.labels[-1] == NOT_A_DIGIT
    assert predictor.sure_threshold == pytest.approx(0.7)
    assert predictor.predict(np.zeros((4, 28, 28, 1))).shape == (4, 11)

    features = build_model(tmp_path / "features.onnx", features_head, extra_output="features")
    predictor = Predictor(features)
    assert predictor.classes == 10 and predictor.sure_threshold == pytest.approx(0.6)
    assert predictor.predict(np.zeros((2, 28, 28, 1))).shape == (2, 10)


def test_labels_missing_means_ten_digits(tmp_path):
    import onnx

    path = build_model(tmp_path / "nolabels.onnx", constant_head(np.arange(10.0)))
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != "labels"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(path))
    assert Predictor(path).labels == [str(d) for d in range(10)]
    eleven = build_model(tmp_path / "eleven_nolabels.onnx", constant_head(np.arange(11.0)), width=11)
    model = onnx.load(str(eleven))
    kept = [p for p in model.metadata_props if p.key != "labels"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(eleven))
    with pytest.raises(ModelError, match=r"\[batch, 10\]"):
        Predictor(eleven)  # without labels, K must be 10


def test_model_path_that_is_a_fifo_or_directory(tmp_path):
    import os

    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        Predictor(fifo)
    with pytest.raises(ModelError, match="is a directory"):
        Predictor(tmp_path)
