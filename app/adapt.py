"""Per-user adaptation at once, numpy only: the network's answer combined with the user's own
corrections in the model's feature space (its `features` output), without retraining.

Each correction claims a ball around its feature vector (cosine distance). Its radius is a share of
the distance to the nearest known example of another label (the user's confirmed readings, the
built-in samples: the anchors; other corrections), capped, so it never reaches a reading the user
let stand. A digit inside a ball is pulled towards the correction's label, the more the closer:
p' = (1 - b) p + b t, b = 1 - d / limit, where the limit is the radius or, if nearer, the digit's own
distance to the nearest anchor of another label: a correction never pulls a digit that looks more
like one of the user's readings of another label than like the correction. Before an adaptation is
used it is checked: leave each anchor out, and if the adaptation would read fewer of them right than
the network does, the balls shrink; if no size passes it is not applied.
"""

from dataclasses import dataclass

import numpy as np

# (tuned on the pen data's training writers, never the benchmark's; re-checked with the anchor limit:
# python -m benchmarks.adapt_figures --training-writers)
REACH = 0.75  # a ball's radius as a share of the distance to the nearest example of another label
CAP = 2.0  # ... and at most this share of the guards' median nearest-other-label distance
SHRINK = (1.0, 0.5, 0.25)  # tried in turn until the check passes
EPS = 1e-12


def unit(features):
    """Rows scaled to length 1 (cosine geometry: the scale of a feature vector says little)."""
    features = np.asarray(features, np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), EPS)


def distances(a, b):
    """Cosine distances (len(a), len(b)) between unit rows, in [0, 2]."""
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


@dataclass(frozen=True)
class Adapter:
    """Corrections (unit features, class indices), each one's radius, and the anchors (unit features,
    class indices: readings known right) that bound them; `apply` adapts answers."""

    features: np.ndarray
    labels: np.ndarray
    radii: np.ndarray
    anchors: np.ndarray = None  # None: no anchors
    anchor_labels: np.ndarray = None

    def apply(self, probabilities, features):
        """Adapted probabilities (n, K) for the network's (n, K) and its features (n, F)."""
        probabilities = np.asarray(probabilities, np.float64)
        if len(self.labels) == 0 or len(probabilities) == 0:
            return probabilities.astype(np.float32)
        u = unit(features)
        if self.anchor_labels is None or len(self.anchor_labels) == 0:
            to_anchors, anchor_labels = np.zeros((len(u), 0)), np.zeros(0, np.int64)
        else:
            to_anchors, anchor_labels = distances(u, self.anchors), self.anchor_labels
        return _pull(probabilities, distances(u, self.features), self.labels, self.radii, to_anchors, anchor_labels)


def _pull(probabilities, d, labels, radii, to_anchors, anchor_labels):
    """p' = (1 - b) p + b t: t the corrections' labels weighted by closeness, b the closest weight.

    `d` (n, c) distances to the corrections, `radii` their radii, (c,) or one per pair (n, c);
    `to_anchors` (n, a) distances to the anchors of `anchor_labels` (inf: left out)."""
    limit = np.array(np.broadcast_to(radii, d.shape), np.float64)
    for k in np.unique(labels):
        other = to_anchors[:, anchor_labels != k].min(axis=1, initial=np.inf)  # the nearest reading of another label
        limit[:, labels == k] = np.minimum(limit[:, labels == k], other[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(limit > 0, np.clip(1.0 - d / limit, 0.0, 1.0), 0.0)  # (n, c)
    target = np.zeros_like(probabilities)
    for k in np.unique(labels):
        target[:, k] = weight[:, labels == k].max(axis=1)
    pull = target.max(axis=1, keepdims=True)
    total = target.sum(axis=1, keepdims=True)
    target = np.divide(target, total, out=np.zeros_like(target), where=total > 0)
    return ((1.0 - pull) * probabilities + pull * target).astype(np.float32)


@dataclass(frozen=True)
class Fitted:
    """What `fit` decided: the adapter (None: not applied), the shrink used, and the check's
    figures: the guards read right by the network and with the adaptation (leave-one-out)."""

    adapter: object
    shrink: float
    guards: int
    right_before: int
    right_after: int


def fit(corrections, corrections_labels, guards, guards_labels, guards_probabilities):
    """An adapter for the corrections (features (c, F), class indices), checked on the guards (the
    user's earlier readings, features (g, F), the labels they stand for, the network's (g, K))."""
    corr, corr_y = unit(corrections), np.asarray(corrections_labels, np.int64)
    guard, guard_y = unit(guards), np.asarray(guards_labels, np.int64)
    guard_p = np.asarray(guards_probabilities, np.float64)
    right_before = int((guard_p.argmax(axis=1) == guard_y).sum()) if len(guard_y) else 0
    if len(corr_y) == 0:
        return Fitted(None, 0.0, len(guard_y), right_before, right_before)
    cap = CAP * _typical_gap(guard, guard_y)
    to_guards = distances(corr, guard)  # (c, g)
    to_corrections = distances(corr, corr)
    other_guard = guard_y[None, :] != corr_y[:, None]
    other_corr = corr_y[None, :] != corr_y[:, None]
    near_corr = np.where(other_corr, to_corrections, np.inf).min(axis=1, initial=np.inf)
    enemy = np.where(other_guard, to_guards, np.inf)  # (c, g)
    # Leave-one-out: each guard judged by balls measured without it (the nearest other guard instead).
    order = np.argsort(enemy, axis=1)
    nearest = np.take_along_axis(enemy, order[:, :1], axis=1)[:, 0] if len(guard_y) else np.full(len(corr_y), np.inf)
    second = np.take_along_axis(enemy, order[:, 1:2], axis=1)[:, 0] if len(guard_y) > 1 else np.full(len(corr_y), np.inf)
    # Each guard's distances to the other guards, itself left out, bound the balls as anchors.
    others = np.where(np.eye(len(guard_y), dtype=bool), np.inf, distances(guard, guard)) if len(guard_y) else None
    full = _finite(np.minimum(np.minimum(nearest, near_corr), cap))
    for shrink in SHRINK:
        radii = REACH * shrink * full
        right_after = right_before
        if len(guard_y):
            without = np.where(order[:, :1] == np.arange(len(guard_y))[None, :], second[:, None], nearest[:, None])
            loo_radii = REACH * shrink * _finite(np.minimum(np.minimum(without, near_corr[:, None]), cap))
            adapted = _pull(guard_p, to_guards.T, corr_y, loo_radii.T, others, guard_y)
            right_after = int((adapted.argmax(axis=1) == guard_y).sum())
        if right_after >= right_before:
            return Fitted(Adapter(corr, corr_y, radii, guard, guard_y), shrink, len(guard_y), right_before, right_after)
    return Fitted(None, 0.0, len(guard_y), right_before, right_after)


def _finite(radii):
    """Unmeasured radii (no example of another label known) become 0: no evidence, no claim."""
    return np.where(np.isfinite(radii), radii, 0.0)


def _typical_gap(guard, labels):
    """The median distance from a guard to its nearest guard of another label (inf if undefined)."""
    if len(np.unique(labels)) < 2:
        return np.inf
    d = np.where(labels[None, :] != labels[:, None], distances(guard, guard), np.inf)
    return float(np.median(d.min(axis=1)))


class Personal:
    """A predictor whose `predict` adapts the network's answers (the read path's interface); every
    other attribute is the wrapped predictor's. Without an adapter it answers as the network."""

    def __init__(self, predictor, adapter=None):
        self.predictor = predictor
        self.adapter = adapter

    def __getattr__(self, name):
        return getattr(self.predictor, name)

    def predict(self, batch):
        if self.adapter is None:
            return self.predictor.predict(batch)
        probabilities, features = self.predictor.predict_with_features(batch)
        if features is None or len(probabilities) == 0:
            return probabilities
        return self.adapter.apply(probabilities, features)


def builtin_guards():
    """Model inputs and labels of the app's own sample digits: a guard every user has."""
    from app import samples
    from app.preprocess import to_model_input

    pairs = samples.all_samples()
    return [to_model_input(image) for _d, image in pairs], [str(d) for d, _image in pairs]


def personal(predictor, corrections, confirmed=()):
    """(Personal predictor, one-line status) from kept Examples (app.corrections): corrections
    adapt, confirmed readings and the built-in samples guard. One model run for all of them."""
    labels = list(predictor.labels)
    corrections = [c for c in corrections if c.label in labels]
    if not corrections:
        return Personal(predictor), "no corrections"
    guard_images, guard_labels = builtin_guards()
    guard_images += [c.image for c in confirmed if c.label in labels]
    guard_labels += [c.label for c in confirmed if c.label in labels]
    images = np.stack([c.image for c in corrections] + guard_images).astype(np.float32)
    probabilities, features = predictor.predict_with_features(images)
    if features is None:
        return Personal(predictor), "adaptation unavailable: the model has no features output"
    n = len(corrections)
    fitted = fit(features[:n], [labels.index(c.label) for c in corrections],
                 features[n:], [labels.index(y) for y in guard_labels], probabilities[n:])
    if fitted.adapter is None:
        return Personal(predictor), (f"adaptation not applied: it would misread earlier readings "
                                     f"({fitted.right_after} of {fitted.guards} right instead of {fitted.right_before})")
    return Personal(predictor, fitted.adapter), f"adapted to {n} correction{'s' * (n != 1)}"
