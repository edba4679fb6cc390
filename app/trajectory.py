"""The stroke reader: trajectory.onnx reads a drawn digit from the pen's path, beside the digit model.

The window knows how every digit was written: the order of its strokes and the direction of each.
An image cannot tell an open-looped 9 drawn from its tail from a 3, or a flagged 1 from a 7 whose
bar was drawn first; the path often can, and the two models err on different digits (measured on
the held-out writers: 34 image-model and 56 stroke-model misreads, 20 shared). So the window reads
each group of strokes with both and multiplies their answers (`fuse`). Pictures have no strokes and
are read by the digit model alone.

The contract: input INPUT_NAME float32 [batch, POINTS, CHANNELS] made by `features`, output
OUTPUT_NAME float32 [batch, K], a softmax over the digit model's labels. Metadata: `labels` (the
digit model's), `fusion_weight` (the stroke reader's exponent in `fuse`), `sure_threshold` (of the
fused answers) and `digit_model_sha256`: the digit model it was calibrated with. The file is
optional, beside the digit model as TRAJECTORY_FILE; one calibrated for another digit model is not
used (`beside` says why); one that breaks the contract is refused with a one-line ModelError.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from app.predictor import ModelError, _reason, _shape_text, _type_name, check_probabilities, named_io, open_session
from app.printable import printable

TRAJECTORY_FILE = "trajectory.onnx"
INPUT_NAME = "trajectory"
OUTPUT_NAME = "probabilities"
POINTS = 64  # points along the pen's path, evenly spaced by length (pen-up jumps included)
CHANNELS = 5  # x, y (centred, the longer side of the box spans [-1, 1]), direction (unit dx, dy), pen down
MAX_WEIGHT = 4.0  # a fusion weight beyond this would let the stroke reader overrule the image alone


def features(strokes):
    """float32 (POINTS, CHANNELS) of one digit's strokes (float (n, 2) arrays, in the order written,
    y down): the path resampled by length, scaled to its box; size, place and brush do not matter."""
    if not len(strokes):
        raise ValueError("no strokes")
    parts = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes]
    points = np.concatenate(parts)
    if not len(points):
        raise ValueError("no points")
    low, high = points.min(axis=0), points.max(axis=0)
    points = (points - (low + high) / 2) / max(float((high - low).max()) / 2, 1e-9)
    # up[i]: the segment that ends at point i is the jump from one stroke to the next.
    up = np.zeros(len(points))
    up[np.cumsum([len(p) for p in parts[:-1]]).astype(int)] = 1.0
    length = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    out = np.zeros((POINTS, CHANNELS), np.float32)
    if length[-1] < 1e-9:  # a tap: one place, no direction
        out[:, :2] = points[0]
        out[:, 4] = 1.0
        return out
    at = np.linspace(0.0, length[-1], POINTS)
    xy = np.empty((POINTS, 2))
    xy[:, 0], xy[:, 1] = np.interp(at, length, points[:, 0]), np.interp(at, length, points[:, 1])
    # The direction of travel: central differences inside, one-sided at the ends (numpy.gradient's values,
    # worked out here for both coordinates at once: the window reads while the pen moves).
    step = np.empty((POINTS, 2))
    step[1:-1] = (xy[2:] - xy[:-2]) / 2.0
    step[0], step[-1] = xy[1] - xy[0], xy[-1] - xy[-2]
    norm = np.maximum(np.sqrt((step * step).sum(axis=1, keepdims=True)), 1e-9)
    segment = np.clip(np.searchsorted(length, at, side="right"), 1, len(points) - 1)
    out[:, :2], out[:, 2:4] = xy, step / norm
    out[:, 4] = 1.0 - up[segment]
    return out


# `fuse` reads a probability below this as this: neither reader may rule an answer out by more than a
# million to one. The stroke reader is most sure where it is wrong (why the log-loss would keep its weight
# low); held this way, at the weight that reads most digits right (0.7), 52 % of the held-out writers'
# digits are settled against 11 % at 1e-12, and not one of their 3,844 digits and letters is read
# otherwise than at 1e-12.
FLOOR = 1e-6


def fuse(image_probabilities, stroke_probabilities, weight):
    """Rows of p_image * p_strokes ** weight, renormalised: the two readers' answers together."""
    logs = np.log(np.maximum(image_probabilities, FLOOR)) + weight * np.log(np.maximum(stroke_probabilities, FLOOR))
    logs -= logs.max(axis=-1, keepdims=True)
    fused = np.exp(logs)
    return (fused / fused.sum(axis=-1, keepdims=True)).astype(np.float32)


def settled(image_probabilities, weight):
    """Rows (bool, n) of the digit model's answers that no stroke reader's answer could change in `fuse`.

    Fusing adds weight * log(s_b / s_a) to the log-odds of b against a, and with probabilities held at
    FLOOR that is at most weight * log(1 / FLOOR); a top answer ahead of the runner-up by more than
    that stays on top whatever the strokes say. The live read skips the stroke reader for them: about
    half of the held-out writers' digits, each the same answer as fused.
    """
    p = np.log(np.maximum(image_probabilities, FLOOR))
    if p.shape[-1] < 2:
        return np.ones(p.shape[:-1], bool)
    top2 = np.partition(p, -2, axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0] > weight * -np.log(FLOOR)


def file_digest(path):
    """sha256 hex of a file's bytes: which digit model a stroke reader was calibrated with."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Unpaired(ModelError):
    """The stroke reader was calibrated with another digit model than the one it would be fused with."""


class TrajectoryReader:
    """Load once, then `predict` many times: `weight` and `sure_threshold` say how to fuse its answers.
    `paired_with`: the sha256 of the digit model it will be fused with (Unpaired if it is another's)."""

    def __init__(self, path, labels, threads=1, paired_with=None):
        self.path = Path(path)
        self._where = f"stroke reader {printable(self.path, limit=None)}"
        self._session, self.metadata = open_session(self.path, self._where, threads)
        self.digit_model = self.metadata.get("digit_model_sha256", "")
        if paired_with is not None and self.digit_model != paired_with:
            raise Unpaired(f"{TRAJECTORY_FILE} was calibrated with another digit model (export it again)")
        self.labels = list(labels)
        self._check_contract()
        self.weight = self._number("fusion_weight", 0.0, MAX_WEIGHT)
        self.sure_threshold = self._number("sure_threshold", 0.0, 1.0)
        self.predict([(np.array([[0.0, 0.0], [0.0, 10.0]]),), (np.array([[0.0, 0.0]]), np.array([[5.0, 5.0]]))])

    def predict(self, groups):
        """Probabilities (n, K) of groups of strokes (each a sequence of (n, 2) arrays): one model run."""
        if not len(groups):
            return np.zeros((0, len(self.labels)), np.float32)
        batch = np.stack([features(g) for g in groups])
        try:
            (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        except Exception as exc:  # onnxruntime's run-time failures have no common type
            raise ModelError(f"{self._where} failed on {len(batch)} digit(s): {_reason(exc)}") from None
        out = np.asarray(out)
        if out.shape != (len(batch), len(self.labels)):
            raise ModelError(f"{self._where}: '{OUTPUT_NAME}' has shape {list(out.shape)} for {len(batch)} "
                             f"digit(s); expected {[len(batch), len(self.labels)]}")
        return check_probabilities(out, f"{self._where}: '{OUTPUT_NAME}'", "rows")

    def _check_contract(self):
        given, output = named_io(self._session, self._where, INPUT_NAME, OUTPUT_NAME)
        shape = given.shape
        if given.type != "tensor(float)" or len(shape) != 3 or shape[1:] != [POINTS, CHANNELS]:
            raise ModelError(f"{self._where}: input '{INPUT_NAME}' must be float32 [batch, {POINTS}, {CHANNELS}], "
                             f"found {_type_name(given.type)} {_shape_text(shape)}")
        if output.type != "tensor(float)" or len(output.shape) != 2 or output.shape[1] != len(self.labels):
            raise ModelError(f"{self._where}: output '{OUTPUT_NAME}' must be float32 [batch, {len(self.labels)}], "
                             f"found {_type_name(output.type)} {_shape_text(output.shape)}")
        try:
            labels = json.loads(self.metadata.get("labels", "null"))
        except ValueError:
            labels = None
        if labels != self.labels:
            raise ModelError(f"{self._where}: metadata 'labels' must be the digit model's {json.dumps(self.labels)}, "
                             f"found {printable(self.metadata.get('labels', 'none'), limit=80)}")

    def _number(self, key, low, high):
        text = self.metadata.get(key)
        try:
            value = float(text)
        except (TypeError, ValueError):
            value = float("nan")
        if not low < value <= high:  # also refuses NaN and a missing key
            raise ModelError(f"{self._where}: metadata '{key}' must be a number above {low:g} and at most "
                             f"{high:g}, found {printable(str(text), limit=40)}")
        return value


def beside(model_path, labels, threads=1):
    """(the TrajectoryReader of TRAJECTORY_FILE beside the digit model, or None; why it is not used, or
    ""): none there, or one calibrated for another digit model, is not used. ModelError when unusable."""
    path = Path(model_path).parent / TRAJECTORY_FILE
    if not path.exists() and not path.is_symlink():
        return None, ""
    try:
        return TrajectoryReader(path, labels, threads, paired_with=file_digest(model_path)), ""
    except Unpaired as e:
        return None, str(e)
