"""Keras vs onnxruntime on the same images: the exported model must compute the same function."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MAX_ABS_DIFF = 1e-5


class ParityError(ValueError):
    """The ONNX model does not reproduce the Keras model (or cannot even run on the inputs)."""


@dataclass(frozen=True)
class ParityReport:
    images: int
    max_abs_diff: float
    worst_image: int            # index into the test set of the largest difference
    argmax_mismatches: int
    first_mismatch: int | None  # index of the first image whose predicted class differs
    keras_accuracy: float
    onnx_accuracy: float
    tolerance: float = MAX_ABS_DIFF

    @property
    def passed(self) -> bool:
        return (self.max_abs_diff <= self.tolerance and self.argmax_mismatches == 0
                and self.keras_accuracy == self.onnx_accuracy)

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def describe(self) -> str:
        return (f"{self.images} images: max |p_keras - p_onnx| = {self.max_abs_diff:.2e} at image "
                f"{self.worst_image} (limit {self.tolerance:.0e}), {self.argmax_mismatches} class mismatches"
                + (f" (first at image {self.first_mismatch})" if self.first_mismatch is not None else "")
                + f", accuracy keras {self.keras_accuracy:.4%} / onnx {self.onnx_accuracy:.4%}")


def compare(p_keras: np.ndarray, p_onnx: np.ndarray, labels: np.ndarray) -> ParityReport:
    """Pure comparison of two probability arrays (N, K) against the true labels (argmax over all K)."""
    if p_keras.shape != p_onnx.shape:
        raise ParityError(f"output shapes differ: keras {p_keras.shape}, onnx {p_onnx.shape}")
    diff = np.abs(p_keras.astype(np.float64) - p_onnx.astype(np.float64)).max(axis=1)
    k_cls, o_cls = p_keras.argmax(axis=1), p_onnx.argmax(axis=1)
    mismatches = np.flatnonzero(k_cls != o_cls)
    worst = int(np.nanargmax(diff)) if np.isfinite(diff).all() else int(np.flatnonzero(~np.isfinite(diff))[0])
    return ParityReport(
        images=len(labels), max_abs_diff=float(diff[worst]) if np.isfinite(diff[worst]) else float("inf"),
        worst_image=worst, argmax_mismatches=len(mismatches),
        first_mismatch=int(mismatches[0]) if len(mismatches) else None,
        keras_accuracy=float((k_cls == labels).mean()), onnx_accuracy=float((o_cls == labels).mean()))


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of (N, K) probabilities, clipped as Keras clips them."""
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)).mean())


def onnx_probabilities(model_bytes: bytes, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Run the ONNX model with onnxruntime, as the app will; a model that cannot run raises ParityError."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {name: images[i:i + batch_size]})[0]
                               for i in range(0, len(images), batch_size)])
    except Exception as e:  # onnxruntime raises its own exception types for shape and graph errors
        raise ParityError(f"onnxruntime cannot run the model on (N, 28, 28, 1) images: {e}") from None


def keras_probabilities(model, images: np.ndarray, temperature: float = 1.0, reject_bias: float = 0.0) -> np.ndarray:
    """The Keras side of parity: the same serving function the ONNX graph was converted from."""
    from export.convert import OUTPUT_NAME, serving_function

    serve, _ = serving_function(model, temperature, reject_bias)
    # Inference mode inside serve; training=True would move BatchNorm statistics.
    return np.concatenate([serve(images[i:i + 1000])[OUTPUT_NAME].numpy() for i in range(0, len(images), 1000)])
