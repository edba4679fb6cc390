"""The committed app/models/digits.onnx: contract, metadata, and what it claims, via onnxruntime and the app alone."""
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.conftest import ROOT
from training.data import load_mnist, to_model_input

SHIPPED = Path(os.environ.get("APP_TEST_MODEL") or ROOT / "app" / "models" / "digits.onnx")
LABELS = [str(d) for d in range(10)] + ["not a digit"]
# Regression floors under what the shipped model measured (BENCHMARKS.md), not the goals it still misses
# (issue targets: MNIST >= 99.6 %, held-out pen digits >= 99 %; measured 99.12 % and, with the stroke reader
# fused in, 98.4 %: this test reads 1815 of 1844).
MNIST_FLOOR = 0.99   # MNIST test, argmax over all 11 outputs (a digit called "not a digit" is wrong)
PEN_FLOOR = 0.98     # held-out pen writers, drawn into a window-sized Drawing and read as the window reads


@pytest.fixture(scope="module")
def session():
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED} is missing: it is committed; recreate it with `python -m training && python -m export`")
    return ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])


def test_io_contract(session):
    (inp,), (out, features) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("image", ["batch", 28, 28, 1], "tensor(float)")
    assert (out.name, out.shape, out.type) == ("probabilities", ["batch", 11], "tensor(float)")
    assert features.name == "features" and features.shape[0] == "batch" and features.shape[1] >= 32


def test_metadata(session):
    meta = session.get_modelmeta().custom_metadata_map
    for key in ("model_name", "test_accuracy", "test_loss", "val_accuracy", "trained_at", "labels",
                "preprocessing", "keras_version", "tf2onnx_version", "temperature", "sure_threshold",
                "pen_val_accuracy", "mnist_val_accuracy", "trained_on"):
        assert meta.get(key), key
    assert json.loads(meta["labels"]) == LABELS
    assert meta["preprocessing"] == "mnist-com-v1"
    assert meta["model_name"] in ("baseline", "improved", "simplified")
    assert 0.5 <= float(meta["sure_threshold"]) < 1.0
    assert "UNIPEN" in meta["trained_on"] and "MNIST" in meta["trained_on"]


def test_small(session):
    assert 50_000 < SHIPPED.stat().st_size < 5_000_000


def test_mnist_accuracy_matches_metadata_and_keeps_the_floor(session, mnist_dir):
    mnist = load_mnist(mnist_dir)
    x = to_model_input(mnist.x_test)
    probs = np.concatenate([session.run(["probabilities"], {"image": x[i:i + 1000]})[0]
                            for i in range(0, len(x), 1000)])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((probs.argmax(1) == mnist.y_test).mean())
    meta = session.get_modelmeta().custom_metadata_map
    assert accuracy == pytest.approx(float(meta["test_accuracy"]), abs=1e-6)
    assert accuracy >= MNIST_FLOOR


def test_held_out_pen_writers_are_read_right_in_the_window():
    """Real pen digits of writers never trained on, drawn stroke by stroke into a window-sized canvas."""
    from app.drawing import Drawing
    from app.layout import BASE_CANVAS
    from app.pen import fit
    from app.predictor import Predictor
    from app.recognize import read_drawing
    from training.pen_data import DEFAULT_PEN_DIR, read_records, split_by_writer

    path = DEFAULT_PEN_DIR / "digits.jsonl.gz"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the pen data lies in ../shared/data/unipen beside the repository")
    _, val = split_by_writer(read_records(path))
    predictor = Predictor(SHIPPED)
    rng = np.random.default_rng(5)
    right = 0
    for sample in val:
        side = float(rng.uniform(60, 380))
        x0, y0 = rng.uniform(5, BASE_CANVAS[0] - side - 5), rng.uniform(5, BASE_CANVAS[1] - side - 5)
        drawing = Drawing(*BASE_CANVAS)
        for stroke in fit(sample.strokes, (x0, y0, x0 + side, y0 + side)):
            drawing.begin(*stroke[0], 28)
            for x, y in stroke[1:]:
                drawing.extend(x, y)
        right += read_drawing(predictor, drawing).number == sample.label
    assert right / len(val) >= PEN_FLOOR, f"{right}/{len(val)}"


def test_the_shipped_stroke_reader_belongs_to_the_shipped_digit_model():
    """The committed pair: trajectory.onnx was calibrated with the committed digits.onnx, so the window uses it
    (a new digit model without a new calibration would silently lose the stroke reader)."""
    from app.predictor import Predictor

    predictor = Predictor(ROOT / "app" / "models" / "digits.onnx")
    assert predictor.trajectory is not None, predictor.trajectory_note or "app/models/trajectory.onnx is missing"
    assert predictor.trajectory.weight > 0 and 0.5 <= predictor.trajectory.sure_threshold <= 1.0
