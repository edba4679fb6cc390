"""Install an ONNX model only if it is at least as accurate as the installed one (DESIGN.md: never silently worse).

Both models are measured the same way, here and now: onnxruntime on the same MNIST test images, argmax over
all K outputs (a "not a digit" answer counts as wrong). MNIST alone cannot see real handwriting, so where
both files carry a validation score over the same validation sets (metadata `val_accuracy`, the selection
criterion: MNIST, held-out pen writers' digits and their non-digits), the candidate must not score lower
there either. The installed file is replaced by an atomic rename or not touched at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.runs import write_atomic

OUTPUT_NAME = "probabilities"
VAL_SETS = ("mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy")  # what a validation score is made of


class WorseModel(ValueError):
    """The candidate is less accurate than the installed model; nothing was written."""


@dataclass(frozen=True)
class Installed:
    path: Path
    candidate_accuracy: float
    previous_accuracy: float | None  # None: nothing (usable) was installed
    note: str = ""                   # why the previous model did not count, if it did not


def onnx_accuracy(model: bytes | Path, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
    """Test accuracy through onnxruntime, argmax over every column of `probabilities`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    correct = 0
    for i in range(0, len(images), batch_size):
        probs = session.run([OUTPUT_NAME], {name: images[i:i + batch_size]})[0]
        correct += int((np.asarray(probs).argmax(axis=1) == labels[i:i + batch_size]).sum())
    return correct / len(labels)


def install(blob: bytes, out: Path, images: np.ndarray, labels: np.ndarray, force: bool = False) -> Installed:
    """Write `blob` to `out` unless the model already there is more accurate (then WorseModel, unless `force`)."""
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"{out}: is a directory; --out must name the model file")
    candidate = onnx_accuracy(blob, images, labels)
    previous, note = None, ""
    if out.exists():
        try:
            previous = onnx_accuracy(out, images, labels)
        except Exception as e:  # noqa: BLE001 - an unreadable installed model is one to replace, not a crash
            lines = str(e).strip().splitlines()
            note = f"the installed {out} cannot be evaluated ({lines[0] if lines else type(e).__name__})"
    if previous is not None and candidate < previous and not force:
        raise WorseModel(f"not installed: the new model's test accuracy {candidate:.2%} is below the installed "
                         f"model's {previous:.2%} ({len(labels)} MNIST test images, onnxruntime); {out} is "
                         "unchanged (--force installs it anyway)")
    if previous is not None and not force:
        scores = validation_scores(blob, out)
        if scores is not None and scores[0] < scores[1]:
            raise WorseModel(f"not installed: the new model's validation score {scores[0]:.2%} is below the "
                             f"installed model's {scores[1]:.2%} (the selection criterion: MNIST, held-out pen "
                             f"writers' digits and non-digits); {out} is unchanged (--force installs it anyway)")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, blob)
    return Installed(out, candidate, previous, note)


def validation_scores(candidate: bytes, installed: Path) -> tuple[float, float] | None:
    """(candidate's, installed's) metadata `val_accuracy` when both have one over the same validation
    sets (the same VAL_SETS keys present), else None: scores over different sets do not compare."""
    import onnx

    found = []
    for model in (candidate, installed):
        try:
            proto = onnx.load_model_from_string(model) if isinstance(model, bytes) else onnx.load(str(model))
            meta = {p.key: p.value for p in proto.metadata_props}
            found.append((float(meta["val_accuracy"]), tuple(k for k in VAL_SETS if k in meta)))
        except Exception:  # noqa: BLE001 - no readable score: MNIST alone decides, as before
            return None
    (new, new_sets), (old, old_sets) = found
    return (new, old) if new_sets == old_sets else None
