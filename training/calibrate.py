"""Honest confidence: the "not a digit" prior, temperature scaling, calibration error, the "not sure" threshold.

Pure numpy on validation probabilities; the export applies both inside the ONNX graph
(probabilities = softmax((log p + bias) / T), bias = (0, ..., 0, reject_bias)), so the app's numbers
are the calibrated ones.
"""
from __future__ import annotations

import numpy as np

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))  # grid: robust, no optimiser needed
SURE_TARGET = 0.995  # sure answers must be right this often on validation
MIN_SURE = 0.5       # never call an answer sure below this


REJECT_BIASES = np.linspace(-4.0, 2.0, 61)  # log-odds shifts of "not a digit" tried on validation


def apply_reject_bias(probs: np.ndarray, bias: float) -> np.ndarray:
    """Probabilities with the last class ("not a digit") scaled by exp(bias), renormalised."""
    if bias == 0.0 or probs.shape[1] != 11:
        return probs
    out = probs.astype(np.float64).copy()
    out[:, -1] *= np.exp(bias)
    return out / out.sum(axis=1, keepdims=True)


def fit_reject_bias(sets: dict, weights: dict) -> float:
    """The bias that maximises the weighted mean accuracy over validation sets {name: (probs, labels)}.

    The training mix decides how readily the network says "not a digit"; this moves that prior to
    where the validation sets (digits of MNIST and of held-out writers, their non-digits) want it.
    Ties go to the smallest shift.
    """
    def score(bias):
        return sum(w * float((apply_reject_bias(sets[k][0], bias).argmax(1) == sets[k][1]).mean())
                   for k, w in weights.items() if k in sets and len(sets[k][1]))
    scores = np.array([score(b) for b in REJECT_BIASES])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(REJECT_BIASES[best[np.argmin(np.abs(REJECT_BIASES[best]))]])


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), computed stably; T > 1 softens, T < 1 sharpens."""
    logits = np.log(np.clip(probs.astype(np.float64), 1e-30, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the validation log-loss."""
    losses = [nll(apply_temperature(probs, t), labels) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        member = which == b
        if member.any():
            error += member.mean() * abs(right[member].mean() - conf[member].mean())
    return float(error)


def choose_threshold(probs: np.ndarray, labels: np.ndarray, target: float = SURE_TARGET) -> float:
    """The lowest confidence at which the answers at or above it are right at least `target` of the time."""
    return threshold_for(probs.max(axis=1), probs.argmax(axis=1) == labels, target)


def choose_row_threshold(frames: np.ndarray, texts: list, target: float = SURE_TARGET, read=None) -> float:
    """The number reader's "sure" line: the lowest confidence at which rows whose least certain symbol
    reaches it are read exactly at least `target` of the time (frames (n, T, CLASSES), texts with "x"
    for not a digit; `read` turns a row's frames into Chars, default greedy app.strip.decode; the
    export passes the app's app.strip.read_frames, whose symbols carry their reading's confidence)."""
    from app.strip import NOT_A_DIGIT, decode

    read = read or decode
    conf, right = np.zeros(len(texts)), np.zeros(len(texts), bool)
    for i, (f, text) in enumerate(zip(frames, texts)):
        chars = read(f)
        conf[i] = min((c.confidence for c in chars), default=0.0)
        right[i] = "".join("x" if c.index == NOT_A_DIGIT else c.label for c in chars) == text
    return threshold_for(conf, right, target)


def threshold_for(conf: np.ndarray, right: np.ndarray, target: float = SURE_TARGET) -> float:
    """The lowest of `conf` at which the answers at or above it are `right` at least `target` of the time."""
    order = np.argsort(-conf)
    # Accuracy of the k most confident answers, for every k; the largest k that meets the target wins.
    # Answers of equal confidence are sure or unsure together: look only at the end of each tie.
    ranked = conf[order]
    running = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    tie_end = np.append(ranked[1:] < ranked[:-1], True)
    ok = np.flatnonzero((running >= target) & tie_end)
    if len(ok) == 0:
        return 1.0
    return float(max(ranked[ok[-1]], MIN_SURE))
