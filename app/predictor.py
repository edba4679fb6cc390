"""The shipped ONNX model behind one reusable onnxruntime session.

The contract (DESIGN.md): input `image` float32 [batch, 28, 28, 1] in [0, 1],
output `probabilities` float32 [batch, 10]; facts about the model live in its
metadata_props. A model that breaks the contract is refused at load time with
a message saying what is wrong, so no caller meets a shape error later.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
INPUT_SHAPE = (28, 28, 1)
CLASSES = 10


class ModelError(Exception):
    """The model file is missing, unreadable, or does not follow the contract."""


class Predictor:
    """Load once, then `predict` many times; `metadata` holds the model's metadata_props."""

    def __init__(self, path, threads=1):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        options = onnxruntime.SessionOptions()
        # One image at a time gains nothing from more threads, and the UI thread
        # should not compete with itself.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load model {self.path}: {reason}") from None
        self._check_contract()
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.labels = self._labels()
        self._fixed_batch = self._session.get_inputs()[0].shape[0] == 1

    @property
    def name(self):
        return self.metadata.get("model_name") or self.path.stem

    @property
    def test_accuracy(self):
        """Test accuracy as a fraction, or None if the metadata lacks it."""
        try:
            value = float(self.metadata["test_accuracy"])
        except (KeyError, ValueError):
            return None
        return value / 100.0 if value > 1.0 else value

    @property
    def preprocessing(self):
        return self.metadata.get("preprocessing")

    def describe(self):
        """'<name> (test accuracy 99.12%)', for status lines."""
        accuracy = self.test_accuracy
        shown = f"{accuracy:.2%}" if accuracy is not None else "unknown"
        return f"{self.name} (test accuracy {shown})"

    def predict(self, batch):
        """Probabilities float32 (n, 10) for inputs (n, 28, 28, 1) or one (28, 28, 1)."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape == INPUT_SHAPE:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected inputs of shape (n, 28, 28, 1), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, CLASSES), np.float32)
        if self._fixed_batch and len(batch) > 1:
            return np.concatenate([self.predict(one) for one in batch])
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def _check_contract(self):
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        where = f"model {self.path}"
        if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
            names = ", ".join(i.name for i in inputs)
            raise ModelError(f"{where}: expected one input named '{INPUT_NAME}', found: {names}")
        given = inputs[0]
        if given.type != "tensor(float)" or not _shape_matches(given.shape, INPUT_SHAPE):
            raise ModelError(
                f"{where}: input '{INPUT_NAME}' must be float32 [batch, 28, 28, 1], "
                f"found {_type_name(given.type)} {_shape_text(given.shape)}"
            )
        match = [o for o in outputs if o.name == OUTPUT_NAME]
        if not match:
            names = ", ".join(o.name for o in outputs)
            raise ModelError(f"{where}: expected an output named '{OUTPUT_NAME}', found: {names}")
        if match[0].type != "tensor(float)" or not _shape_matches(match[0].shape, (CLASSES,)):
            raise ModelError(
                f"{where}: output '{OUTPUT_NAME}' must be float32 [batch, 10], "
                f"found {_type_name(match[0].type)} {_shape_text(match[0].shape)}"
            )

    def _labels(self):
        default = [str(i) for i in range(CLASSES)]
        try:
            labels = json.loads(self.metadata["labels"])
        except (KeyError, ValueError):
            return default
        if not isinstance(labels, list) or len(labels) != CLASSES:
            return default
        return [str(label) for label in labels]


def _shape_matches(shape, tail):
    """[batch, *tail] where batch is symbolic or a number and the rest is exact."""
    if len(shape) != len(tail) + 1:
        return False
    return all(isinstance(d, int) and d == t for d, t in zip(shape[1:], tail))


def _shape_text(shape):
    return "[" + ", ".join(str(d) if d is not None else "?" for d in shape) + "]"


def _type_name(onnx_type):
    return onnx_type.replace("tensor(float)", "float32").replace("tensor(", "").rstrip(")")
