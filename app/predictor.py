"""The shipped ONNX model behind one reusable onnxruntime session, guarded.

The contract (DESIGN.md "The ONNX model"): input `image` float32 [batch, 28, 28, 1]
in [0, 1], output `probabilities` float32 [batch, K] with K = len(labels), 10 digits
optionally followed by "not a digit"; outputs after it are ignored. A model that
breaks the contract is refused at load time, with a probe batch run to see its real
outputs, and every later run is checked too: callers get probabilities of the right
width that are finite and sum to 1, or a one-line ModelError, never a shape error
or NaN.
"""

import json
import os
import stat
from pathlib import Path

import numpy as np
import onnxruntime

from app.printable import printable

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
FEATURES_NAME = "features"  # optional second output: the final layer's input, for app.adapt
INPUT_SHAPE = (28, 28, 1)
CLASSES = 10  # the digits; a model may add one more class, NOT_A_DIGIT
DIGITS = [str(d) for d in range(CLASSES)]
NOT_A_DIGIT = "not a digit"
SURE_THRESHOLD = 0.6  # default confidence below which an answer is shown as a guess
# Softmax rows sum to 1 within float32 rounding; an int8 model's quantized softmax
# strays further. Logits or a broken head miss this by far more.
SUM_TOLERANCE = 0.05
PROBE_BATCH = 3  # more than one image: a graph that only runs with batch 1 fails here, not later


class ModelError(Exception):
    """The model file is missing, unreadable, or does not follow the contract."""


class Predictor:
    """Load once, then `predict` many times; `metadata` holds the model's metadata_props.

    `labels` are the class names (K of them), `classes` is K, `sure_threshold` the
    confidence from which an answer counts as sure, `numbers` the number reader found beside
    the model (app.numbers), or None; `trajectory` the stroke reader beside it (app.trajectory), or
    None, and `trajectory_note` why one that is there is not used.
    """

    def __init__(self, path, threads=1):
        self.path = Path(path)
        self._where = f"model {printable(self.path, limit=None)}"
        self._session, self.metadata = open_session(self.path, self._where, threads)
        self.labels = self._labels()
        self.classes = len(self.labels)
        self.sure_threshold = sure_threshold_of(self.metadata, self._where, SURE_THRESHOLD)
        self._check_contract()
        self._fixed_batch = self._session.get_inputs()[0].shape[0] == 1
        self._probe()
        self.numbers = _number_reader(self.path, threads)
        self.trajectory, self.trajectory_note = _stroke_reader(self.path, self.labels, threads)

    @property
    def name(self):
        return printable(self.metadata.get("model_name") or self.path.stem)

    @property
    def test_accuracy(self):
        """Test accuracy as a fraction, or None if the metadata lacks it."""
        try:
            value = float(self.metadata["test_accuracy"])
        except (KeyError, ValueError):
            return None
        if not np.isfinite(value) or not 0.0 <= value <= 100.0:
            return None
        return value / 100.0 if value > 1.0 else value

    @property
    def preprocessing(self):
        return self.metadata.get("preprocessing")

    def describe(self):
        """'<name> (test accuracy 99.12%)', for status lines."""
        accuracy = self.test_accuracy
        shown = f"{accuracy:.2%}" if accuracy is not None else "unknown"
        strokes = " with the stroke reader" if self.trajectory is not None else ""
        if self.trajectory_note:
            strokes = f"; stroke reader not used: {self.trajectory_note}"
        return f"{self.name} (test accuracy {shown}){strokes}"

    def predict(self, batch):
        """Probabilities float32 (n, K) for inputs (n, 28, 28, 1) or one (28, 28, 1).

        Raises ValueError for inputs of another shape (a caller's bug) and ModelError
        when the model fails or returns something that is not K probabilities per image.
        """
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape == INPUT_SHAPE:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected inputs of shape (n, 28, 28, 1), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.classes), np.float32)
        if self._fixed_batch and len(batch) > 1:
            return np.concatenate([self.predict(one) for one in batch])
        return self._run(batch)

    def predict_with_features(self, batch):
        """(probabilities as `predict` returns them, features float32 (n, F)) in one model run; features
        is None when the model has no usable `features` output (then per-user adaptation is off)."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape == INPUT_SHAPE:
            batch = batch[None]
        names = {o.name: o for o in self._session.get_outputs()}
        usable = FEATURES_NAME in names and names[FEATURES_NAME].type == "tensor(float)" \
            and len(names[FEATURES_NAME].shape) == 2
        if not usable or batch.ndim != 4 or batch.shape[1:] != INPUT_SHAPE or len(batch) == 0 \
                or (self._fixed_batch and len(batch) > 1):
            return self.predict(batch), None
        out, features = self._run(batch, with_features=True)
        if features.ndim != 2 or features.shape[0] != len(batch) or not np.isfinite(features).all():
            return out, None
        return out, features.astype(np.float32, copy=False)

    def _run(self, batch, with_features=False):
        n = len(batch)
        try:
            out, *more = self._session.run([OUTPUT_NAME] + [FEATURES_NAME] * with_features, {INPUT_NAME: batch})
        except Exception as exc:  # onnxruntime's run-time failures have no common type
            raise ModelError(f"{self._where} failed on a batch of {n} image(s): {_reason(exc)}") from None
        out = np.asarray(out)
        if out.shape != (n, self.classes):
            raise ModelError(
                f"{self._where}: '{OUTPUT_NAME}' has shape {list(out.shape)} for {n} image(s); "
                f"expected [{n}, {self.classes}] (one column per label)"
            )
        out = check_probabilities(out, f"{self._where}: '{OUTPUT_NAME}'", "rows")
        return (out, np.asarray(more[0])) if with_features else out

    def _probe(self):
        """Run a small batch now, so a model that only fails at run time is refused at load."""
        probe = np.zeros((PROBE_BATCH,) + INPUT_SHAPE, np.float32)
        probe[1, 4:24, 13:15] = 1.0  # a plain stroke, a "1"
        probe[2, 6:22, 8:20] = 0.5  # a grey block
        self.predict(probe)

    def _check_contract(self):
        where = self._where
        given, output = named_io(self._session, where, INPUT_NAME, OUTPUT_NAME)
        if given.type != "tensor(float)" or not _shape_matches(given.shape, INPUT_SHAPE):
            raise ModelError(
                f"{where}: input '{INPUT_NAME}' must be float32 [batch, 28, 28, 1], "
                f"found {_type_name(given.type)} {_shape_text(given.shape)}"
            )
        if output.type != "tensor(float)" or not _shape_matches(output.shape, (self.classes,)):
            raise ModelError(
                f"{where}: output '{OUTPUT_NAME}' must be float32 [batch, {self.classes}] "
                f"({self.classes} labels), found {_type_name(output.type)} {_shape_text(output.shape)}"
            )

    def _labels(self):
        """The metadata's labels: the ten digits, optionally then NOT_A_DIGIT; the digits if absent."""
        if "labels" not in self.metadata:
            return list(DIGITS)
        try:
            labels = json.loads(self.metadata["labels"])
        except ValueError:
            labels = None
        if isinstance(labels, list) and all(isinstance(x, (str, int)) for x in labels):
            labels = [str(x) for x in labels]
            if labels in (DIGITS, DIGITS + [NOT_A_DIGIT]):
                return labels
        raise ModelError(
            f"{self._where}: metadata 'labels' must be the JSON list [\"0\", ..., \"9\"], optionally "
            f"followed by \"{NOT_A_DIGIT}\"; found {printable(self.metadata['labels'], limit=80)}"
        )


def _number_reader(path, threads):
    """app.numbers' reader beside the digit model, or None: then pictures are cut by app.cuts alone."""
    from app import numbers  # it builds on this module's guards, so it is imported when first needed

    return numbers.beside(path, threads)


def _stroke_reader(path, labels, threads):
    """(app.trajectory's reader beside the digit model, or None; why one there is not used, or "")."""
    from app import trajectory  # it builds on this module's guards, so it is imported when first needed

    return trajectory.beside(path, labels, threads)


def _check_file(path):
    """ModelError unless `path` is a regular file (a FIFO would block the loader forever)."""
    where = printable(path, limit=None)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ModelError(f"model file not found: {where}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model {where}: {exc.strerror or _reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise ModelError(f"model {where} is a directory, not an ONNX file")
    if not stat.S_ISREG(mode):
        raise ModelError(f"model {where} is not a regular file")


def _reason(exc):
    lines = str(exc).strip().splitlines()
    return printable(lines[0] if lines else type(exc).__name__)


def _shape_matches(shape, tail):
    """[batch, *tail] where batch is symbolic or a number and the rest is exact."""
    if len(shape) != len(tail) + 1:
        return False
    return all(isinstance(d, int) and d == t for d, t in zip(shape[1:], tail))


def _shape_text(shape):
    return "[" + ", ".join(str(d) if d is not None else "?" for d in shape) + "]"


def _type_name(onnx_type):
    return onnx_type.replace("tensor(float)", "float32").replace("tensor(", "").rstrip(")")


def sure_threshold_of(metadata, where, default):
    """The model's metadata `sure_threshold`, a confidence in (0, 1], else `default`; ModelError otherwise."""
    text = metadata.get("sure_threshold")
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:  # also refuses NaN
        raise ModelError(
            f"{where}: metadata 'sure_threshold' must be a number between 0 and 1, "
            f"found {printable(text, limit=40)}"
        )
    return value


def open_session(path, where, threads=1):
    """(onnxruntime CPU session of the model file `path`, its metadata_props made printable);
    ModelError in one line naming `where` when the file is missing or onnxruntime cannot load it."""
    _check_file(path)
    options = onnxruntime.SessionOptions()
    # One image at a time gains nothing from more threads, and the UI thread
    # should not compete with itself.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {where}: {_reason(exc)}") from None
    # Metadata ends up in status lines and terminals: no escape sequences, one line each.
    raw = session.get_modelmeta().custom_metadata_map
    return session, {printable(k): printable(v, limit=None) for k, v in raw.items()}


def check_probabilities(out, what, parts):
    """`out` as float32 when it is finite softmax output along its last axis; ModelError naming `what`
    (and the `parts` that should each sum to 1: rows, frames) otherwise."""
    if not np.isfinite(out).all():
        raise ModelError(f"{what} holds NaN or infinite values")
    sums = out.sum(axis=-1, dtype=np.float64)
    if out.min() < -SUM_TOLERANCE or out.max() > 1 + SUM_TOLERANCE or (np.abs(sums - 1) > SUM_TOLERANCE).any():
        raise ModelError(
            f"{what} are not probabilities (values {out.min():.3g} to {out.max():.3g}, {parts} summing to "
            f"{sums.min():.3g} to {sums.max():.3g}; expected a softmax)"
        )
    return out.astype(np.float32, copy=False)


def named_io(session, where, input_name, output_name):
    """(the session's one input, named `input_name`; its output named `output_name`), as onnxruntime
    describes them; ModelError naming what the model has instead."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != input_name:
        names = ", ".join(printable(i.name) for i in inputs)
        raise ModelError(f"{where}: expected one input named '{input_name}', found: {names}")
    match = [o for o in outputs if o.name == output_name]
    if not match:
        names = ", ".join(printable(o.name) for o in outputs)
        raise ModelError(f"{where}: expected an output named '{output_name}', found: {names}")
    return inputs[0], match[0]
