"""Fixtures for the app tests: tiny hand-built ONNX models and a private X server.

The tiny models follow the DESIGN.md contract but need no training: a template
matcher (cosine similarity to the app's own rendered samples), a model that
always answers 3, one that is never sure, and one with the wrong input shape.
"""

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "app" / "models" / "digits.onnx"
MNIST_DIR = Path(os.environ.get("MNIST_DIR") or ROOT.parent / "shared" / "data" / "mnist")


def build_model(path, head, input_shape=("batch", 28, 28, 1), metadata=None, width=10, softmax=True,
                extra_output=None):
    """Write an ONNX model: image -> flatten -> `head` nodes -> softmax 'probabilities'.

    `head(flat_name) -> (nodes, initializers, logits_name)` builds the logits. `width` is the
    declared number of columns, `softmax=False` outputs the logits as they are, and
    `extra_output` names a head value exposed as a second output (e.g. a feature vector).
    """
    import onnx
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))
    probabilities = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", width])
    shape = helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, 784])
    nodes = [helper.make_node("Reshape", ["image", "flat_shape"], ["flat"])]
    more_nodes, initializers, logits = head("flat")
    nodes += more_nodes
    nodes.append(helper.make_node("Softmax" if softmax else "Identity", [logits], ["probabilities"],
                                  **({"axis": -1} if softmax else {})))
    outputs = [probabilities]
    if extra_output:
        outputs.append(helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, ["batch", "n"]))
    graph = helper.make_graph(nodes, "tiny", [image], outputs, [shape] + initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 9
    defaults = {
        "model_name": "tiny-test",
        "test_accuracy": "0.5",
        "test_loss": "1.0",
        "val_accuracy": "0.5",
        "trained_at": "2026-01-01T00:00:00Z",
        "labels": "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        "preprocessing": "mnist-com-v1",
        "keras_version": "none",
        "tf2onnx_version": "none",
    }
    defaults.update(metadata or {})
    onnx.helper.set_model_props(model, defaults)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def _weights(name, array):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def template_head(templates, sharpness=40.0):
    """Cosine similarity to each class template, times `sharpness`."""
    from onnx import helper

    t = np.asarray(templates, dtype=np.float64).reshape(10, 784)
    t /= np.linalg.norm(t, axis=1, keepdims=True)

    def head(flat):
        nodes = [
            helper.make_node("LpNormalization", [flat], ["unit"], axis=1, p=2),
            helper.make_node("MatMul", ["unit", "templates"], ["cosine"]),
            helper.make_node("Mul", ["cosine", "sharpness"], ["logits"]),
        ]
        return nodes, [_weights("templates", t.T), _weights("sharpness", [sharpness])], "logits"

    return head


def constant_head(logits):
    """Ignores the image: the same probabilities for every input."""
    from onnx import helper

    def head(flat):
        nodes = [
            helper.make_node("MatMul", [flat, "zeros"], ["nothing"]),
            helper.make_node("Add", ["nothing", "bias"], ["logits"]),
        ]
        return nodes, [_weights("zeros", np.zeros((784, len(logits)))), _weights("bias", logits)], "logits"

    return head


def sample_templates():
    """Class templates: the app's rendered samples, preprocessed, averaged over styles."""
    from app import samples
    from app.preprocess import to_model_input

    templates = np.zeros((10, 28, 28))
    for digit, image in samples.all_samples():
        templates[digit] += to_model_input(image)[:, :, 0]
    return templates


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Paths of the tiny models, by role."""
    where = tmp_path_factory.mktemp("models")
    three = np.zeros(10)
    three[3] = 8.0
    return {
        "templates": build_model(
            where / "templates.onnx",
            template_head(sample_templates()),
            metadata={"model_name": "templates", "test_accuracy": "0.8125"},
        ),
        "always3": build_model(where / "always3.onnx", constant_head(three), metadata={"model_name": "always3"}),
        "unsure": build_model(
            where / "unsure.onnx", constant_head(np.linspace(0.0, 0.9, 10)), metadata={"model_name": "unsure"}
        ),
        "flat_input": build_model(
            where / "flat_input.onnx", constant_head(np.zeros(10)), input_shape=("batch", 784)
        ),
    }


@pytest.fixture(scope="session")
def shipped_model():
    """The committed model (made by `python -m export`); APP_TEST_MODEL=path tests a candidate instead."""
    path = Path(os.environ.get("APP_TEST_MODEL") or SHIPPED_MODEL)
    if not path.is_file():
        pytest.fail(f"needs the model {path}: it is committed; recreate it with `python -m export`")
    return path


@pytest.fixture(scope="session")
def mnist_test():
    """(images uint8 (n, 28, 28), labels) of the MNIST test set (IDX, .gz or not); fails loudly if absent."""
    from tests.conftest import read_mnist_test

    return read_mnist_test(MNIST_DIR)
