"""`python -m export --with FILE`: two digit models voting in one file (export/vote.py). The graph is checked
against its numpy definition on small hand-made members; the whole export on the smoke run beside the shipped
model."""
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.convert import set_metadata
from export.vote import FLOOR, half_precision_copy, member, vote, vote_graph
from tests.conftest import ROOT

SHIPPED = ROOT / "app" / "models" / "digits.onnx"
LABELS = json.dumps([str(d) for d in range(10)] + ["not a digit"])


def tiny_member(seed: int, features: int = 6) -> onnx.ModelProto:
    """A digit model of the contract: image -> features = relu(x W1) -> probabilities = softmax(features W2)."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.normal(0, 0.1, (784, features)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 2.0, (features, 11)).astype(np.float32), "w2")
    shape = numpy_helper.from_array(np.asarray([-1, 784], np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["image", "shape"], ["flat"], name="flatten"),
             helper.make_node("MatMul", ["flat", "w1"], ["hidden"], name="dense1"),
             helper.make_node("Relu", ["hidden"], ["features"], name="relu"),
             helper.make_node("MatMul", ["features", "w2"], ["logits"], name="dense2"),
             helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 11]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", features])], [w1, w2, shape])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    set_metadata(proto, {"labels": LABELS, "model_name": f"tiny{seed}", "preprocessing": "mnist-com-v1"})
    return proto


def run(proto: onnx.ModelProto, images: np.ndarray):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["probabilities", "features"], {"image": images})


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)


def test_the_graph_computes_the_vote_of_its_members(images):
    first, second = tiny_member(1), tiny_member(2, features=4)
    (p1, f1), (p2, f2) = run(first, images), run(second, images)
    assert (p1.argmax(1) != p2.argmax(1)).any()  # members that disagree somewhere: the vote is no copy of one
    p, f = run(vote_graph(first, second, reject_bias=-0.8, temperature=1.7), images)
    expected = vote(p1, p2, -0.8, 1.7)
    assert np.abs(p - expected).max() < 1e-6
    # The geometric mean, not the arithmetic one, then the prior on "not a digit" and the temperature.
    logits = (np.log(p1.astype(np.float64)) + np.log(p2)) / 2 + np.r_[np.zeros(10), -0.8]
    assert np.allclose(np.log(p) - np.log(p).mean(1, keepdims=True),
                       logits / 1.7 - (logits / 1.7).mean(1, keepdims=True), atol=1e-4)
    unit = lambda a: a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # noqa: E731
    assert f.shape == (len(images), 10) and np.allclose(f, np.hstack([unit(f1), unit(f2)]), atol=1e-6)
    assert np.array_equal(run(vote_graph(first, second), images)[0].argmax(1), vote(p1, p2).argmax(1))


def test_members_of_different_opsets_cannot_vote():
    older = tiny_member(2)
    older.opset_import[0].version = 13
    with pytest.raises(ValueError, match="different ONNX opsets"):
        vote_graph(tiny_member(1), older)


def test_a_member_that_is_sure_of_nothing_cannot_break_the_log():
    sure = np.zeros((1, 11), np.float32)
    sure[0, 3] = 1.0
    p = vote(sure, np.full((1, 11), 1 / 11, np.float32))
    assert np.isfinite(p).all() and p.argmax() == 3 and p[0, 3] > 1 - 1e-10
    assert FLOOR > 0


def test_half_precision_copy_rounds_every_weight_and_stores_half(images):
    from export.half import store_half

    proto = half_precision_copy(tiny_member(3))
    for init in proto.graph.initializer:
        values = numpy_helper.to_array(init)
        if values.dtype == np.float32:
            assert np.array_equal(values.astype(np.float16).astype(np.float32), values)
    voting = vote_graph(proto, half_precision_copy(tiny_member(4)))
    before = run(voting, images)[0]
    assert store_half(voting) == 5  # the members' two weight matrices each, and the prior on "not a digit"
    assert np.array_equal(run(voting, images)[0], before)


def test_member_refuses_what_cannot_vote_in_one_line(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    voting = tmp_path / "voting.onnx"
    proto = vote_graph(tiny_member(1), tiny_member(2))
    set_metadata(proto, {"labels": LABELS, "members": "[]"})
    onnx.save(proto, voting)
    no_features = tiny_member(5)
    del no_features.graph.output[1]
    bare = tmp_path / "bare.onnx"
    onnx.save(no_features, bare)
    other = tiny_member(7)
    set_metadata(other, {"labels": LABELS, "preprocessing": "mnist-v0"})
    onnx.save(other, tmp_path / "other.onnx")
    for path, says in ((tmp_path / "missing.onnx", "cannot read"), (junk, "not an ONNX model"),
                       (voting, "already two digit models"), (bare, "`features`"),
                       (tmp_path / "other.onnx", "preprocessing 'mnist-v0'")):
        with pytest.raises(ValueError) as e:
            member(path)
        assert str(e.value).startswith(str(path)) and says in str(e.value) and "\n" not in str(e.value)
    good = tmp_path / "good.onnx"
    onnx.save(tiny_member(6), good)
    assert member(good).graph.name == "tiny" and member(good, 17).graph.name == "tiny"
    with pytest.raises(ValueError, match="opset 17, the run is converted at 13: pass --opset 17"):
        member(good, 13)


def test_cli_usage_errors(capsys):
    from export.cli import main

    for wrong in (["--with", "x.onnx", "--sequence"], ["--with", "x.onnx", "--quantize"],
                  ["--half", "--quantize"], ["--half", "--trajectory"]):
        with pytest.raises(SystemExit) as exit_info:
            main(wrong)
        assert exit_info.value.code == 2 and capsys.readouterr().err.count("error:") == 1


def run_export(*args):
    return subprocess.run([sys.executable, "-m", "export", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_export_with_the_shipped_model_in_half_precision(quick_run, tmp_path, mnist_dir):
    out = tmp_path / "digits.onnx"
    shutil.copyfile(SHIPPED, out)
    # The smoke run drags the vote below the shipped model on MNIST: refused, the file untouched.
    refused = run_export("--run", quick_run, "--with", out, "--half", "--out", out, "--data", mnist_dir)
    assert refused.returncode == 4 and refused.stderr.count("\n") == 1, refused.stderr[-2000:]
    assert out.read_bytes() == SHIPPED.read_bytes()

    done = run_export("--run", quick_run, "--with", out, "--half", "--out", out, "--data", mnist_dir, "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "vote ok" in done.stdout and sorted(p.name for p in tmp_path.iterdir()) == ["digits.onnx"]
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    members = json.loads(meta["members"])
    assert [m["model_name"] for m in members] == ["simplified", "improved"] and meta["weights"] == "float16"
    assert meta["model_name"] == "simplified + improved" and json.loads(meta["labels"])[-1] == "not a digit"
    assert 0.5 <= float(meta["sure_threshold"]) <= 1 and float(meta["temperature"]) > 0
    halves = [i for i in proto.graph.initializer if i.data_type == TensorProto.FLOAT16]
    assert sum(numpy_helper.to_array(i).size for i in halves) > 428_000  # both members' weights, the shipped one's too
    assert out.stat().st_size < 0.6 * (SHIPPED.stat().st_size + (quick_run / "simplified.keras").stat().st_size)
    parity = json.loads((quick_run / "parity.json").read_text())
    assert parity["passed"] and parity["half"] and parity["vote"]["vote"]["passed"]
    assert parity["vote"]["with_half"]["passed"] and parity["vote"]["with_half"]["max_abs_diff"] > 0

    from app.predictor import Predictor
    predictor = Predictor(out)
    x = np.random.default_rng(1).random((5, 28, 28, 1), dtype=np.float32)
    p, f = predictor.predict_with_features(x)
    assert p.shape == (5, 11) and f.shape[0] == 5 and np.allclose(p.sum(1), 1, atol=1e-5)
    assert float(meta["test_accuracy"]) == pytest.approx(float(json.loads(json.dumps(
        parity["vote"]["vote"]["onnx_accuracy"]))), abs=1e-6)

    again = run_export("--run", quick_run, "--with", out, "--out", tmp_path / "x.onnx", "--data", mnist_dir)
    assert again.returncode == 2 and "already two digit models" in again.stderr and again.stderr.count("\n") == 1
