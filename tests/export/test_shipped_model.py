"""The committed app/models/digits.onnx: contract, metadata, and its claimed accuracy, via onnxruntime alone."""
import json

import numpy as np
import onnxruntime as ort
import pytest

from tests.conftest import ROOT
from training.data import load_mnist, to_model_input

SHIPPED = ROOT / "app" / "models" / "digits.onnx"


@pytest.fixture(scope="module")
def session():
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED} is missing: it is committed; recreate it with `python -m training && python -m export`")
    return ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])


def test_io_contract(session):
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("image", ["batch", 28, 28, 1], "tensor(float)")
    assert (out.name, out.shape, out.type) == ("probabilities", ["batch", 10], "tensor(float)")


def test_metadata(session):
    meta = session.get_modelmeta().custom_metadata_map
    for key in ("model_name", "test_accuracy", "test_loss", "val_accuracy", "trained_at", "labels",
                "preprocessing", "keras_version", "tf2onnx_version"):
        assert meta.get(key), key
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert meta["preprocessing"] == "mnist-com-v1"
    assert meta["model_name"] in ("baseline", "improved", "simplified")


def test_small(session):
    assert 50_000 < SHIPPED.stat().st_size < 5_000_000


def test_accuracy_matches_metadata(session, mnist_dir):
    mnist = load_mnist(mnist_dir)
    x = to_model_input(mnist.x_test)
    probs = np.concatenate([session.run(None, {"image": x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((probs.argmax(1) == mnist.y_test).mean())
    meta = session.get_modelmeta().custom_metadata_map
    assert accuracy == pytest.approx(float(meta["test_accuracy"]), abs=1e-6)
    assert accuracy >= 0.99
