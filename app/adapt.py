"""Per-user adaptation at once, numpy only: a small linear head on the model's features (its
`features` output), fitted to the user's corrections and the readings they let stand, added to the
network's own answer; no retraining of the network.

The adapted log-odds are the network's log-probabilities plus g(u) W [u - centre, 1]: u the unit
feature vector (cosine geometry: the scale of a feature vector says little), centre the mean of the
examples the head was fitted on, g a gate that is 1 at a correction and fades to 0 at `reach` (cosine
distance to the nearest correction), so digits unlike every correction keep the network's answer.
Only the columns of W for the labels the user corrected to are fitted (the head raises or lowers
those labels, never trades the others among themselves). W is a multinomial logistic regression
with the network's answer as its offset and an L2 penalty, fitted on the corrections and the guards
(the user's confirmed readings and the built-in samples): where the network is already right and
sure a guard has little to teach, so the head moves as far as the corrections need and the guards
allow. Before it is used it is checked: the guards are split in folds and each fold is read by a
head fitted without it; if fewer of them would be read right than by the network, the penalty
grows; if no strength passes, the corrected labels involved in the guards it misread are left out
and the rest tried again; with none left the adaptation is not applied.
"""

from dataclasses import dataclass

import numpy as np

# (tuned on the pen data's training writers, never the benchmark's:
# python -m benchmarks.adapt_figures --training-writers)
PENALTY = 0.03  # the L2 penalty on W, against a loss summed over the examples (each counts once)
STRONGER = (1.0, 4.0, 16.0)  # penalty multipliers tried in turn until the check passes
REACH = 2.0  # the head acts within this many typical gaps of a correction (see `reach`), fading out
FOLDS = 5  # the check's folds of guards
STEPS = 100  # accelerated gradient steps on a convex loss (a pen writer's fit: within 0.1 % of its minimum)
FLOOR = 1e-7  # the smallest probability taken from the network (log 0 is no offset)
EPS = 1e-12


def unit(features):
    """Rows scaled to length 1 (cosine geometry: the scale of a feature vector says little)."""
    features = np.asarray(features, np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), EPS)


def log_probabilities(probabilities):
    """The network's answer as log-odds offsets (n, K)."""
    return np.log(np.clip(np.asarray(probabilities, np.float64), FLOOR, 1.0))


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def distances(a, b):
    """Cosine distances (len(a), len(b)) between unit rows, in [0, 2]."""
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def gate(u, corrections, reach):
    """How much the head acts on unit rows `u` (n,): 1 at a correction, fading to 0 at `reach`."""
    if reach <= 0:
        return np.zeros(len(u))
    return np.clip(1.0 - distances(u, corrections).min(axis=1) / reach, 0.0, 1.0)


def head_inputs(u, centre, corrections, reach):
    """gate * [u - centre, 1] (n, F + 1) for unit rows `u`: what the head reads."""
    x = np.hstack([u - centre, np.ones((len(u), 1))])
    return x * gate(u, corrections, reach)[:, None]


def reach(guards, labels):
    """REACH times the median distance from a guard to its nearest guard of another label (0 if
    undefined): how far a correction's say extends, in the user's own scale of digit differences."""
    if len(np.unique(labels)) < 2:
        return 0.0
    d = np.where(labels[None, :] != labels[:, None], distances(guards, guards), np.inf)
    return REACH * float(np.median(d.min(axis=1)))


@dataclass(frozen=True)
class Adapter:
    """The per-user head: the centre of the unit features it was fitted on (F,), its weights
    (F + 1, K), the corrections' unit features and the reach that gate it; `apply` adapts answers."""

    centre: np.ndarray
    weights: np.ndarray
    corrections: np.ndarray
    reach: float

    def apply(self, probabilities, features):
        """Adapted probabilities (n, K) for the network's (n, K) and its features (n, F)."""
        if len(probabilities) == 0:
            return np.asarray(probabilities, np.float32)
        x = head_inputs(unit(features), self.centre, self.corrections, self.reach)
        logits = log_probabilities(probabilities) + x @ self.weights
        return softmax(logits).astype(np.float32)


def train_head(x, offsets, labels, penalty, classes=None, steps=STEPS):
    """W (d, K) minimising sum_i CE(softmax(offsets_i + x_i W), labels_i) + penalty / 2 |W|^2 (FISTA);
    only the columns of `classes` (class indices; None: all) may differ from 0."""
    x, offsets = np.asarray(x, np.float32), np.asarray(offsets, np.float32)
    target = np.eye(offsets.shape[1], dtype=np.float32)[np.asarray(labels, np.int64)]
    acting = np.any(x != 0, axis=1)  # rows the gate shuts out add a constant to the loss: skipped
    x, offsets, target = x[acting], offsets[acting], target[acting]
    free = np.ones(offsets.shape[1], np.float32) if classes is None else np.isin(np.arange(offsets.shape[1]), classes)
    # The gradient's Lipschitz bound: softmax curvature <= 1/2 times the data's top eigenvalue.
    lipschitz = 0.5 * float(np.linalg.eigvalsh(x.T.astype(np.float64) @ x)[-1]) + penalty
    w = np.zeros((x.shape[1], offsets.shape[1]), np.float32)
    ahead, t = w, 1.0
    for _ in range(steps):
        grad = (x.T @ (softmax(offsets + x @ ahead) - target) + penalty * ahead) * free
        w_next = ahead - grad / np.float32(lipschitz)
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        ahead = w_next + np.float32((t - 1.0) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w.astype(np.float64)


@dataclass(frozen=True)
class Fitted:
    """What `fit` decided: the adapter (None: not applied), the penalty multiplier used, the check's
    figures (the guards read right by the network and with the adaptation, out of fold) and the
    corrected labels left out because adapting them misread guards."""

    adapter: object
    stronger: float
    guards: int
    right_before: int
    right_after: int
    dropped: tuple = ()


def fit(corrections, corrections_labels, corrections_probabilities, guards, guards_labels, guards_probabilities):
    """An adapter for the corrections (features (c, F), class indices, the network's (c, K)), checked on
    the guards (the user's earlier readings: features (g, F), the labels they stand for, the network's
    (g, K)). If no strength passes the check, the corrected labels involved in the guards it misread
    are left out and the rest tried again. With no corrections or no guards, nothing is applied."""
    corr_f, corr_y = np.asarray(corrections, np.float64), np.asarray(corrections_labels, np.int64)
    corr_p = np.asarray(corrections_probabilities, np.float64)
    guard_f, guard_y = np.asarray(guards, np.float64), np.asarray(guards_labels, np.int64)
    guard_p = np.asarray(guards_probabilities, np.float64)
    right_before = int((guard_p.argmax(axis=1) == guard_y).sum()) if len(guard_y) else 0
    if len(corr_y) == 0 or len(guard_y) == 0:
        return Fitted(None, 0.0, len(guard_y), right_before, right_before)
    active, dropped = set(corr_y.tolist()), set()
    while True:
        mine = np.isin(corr_y, sorted(active))
        adapter, stronger, right_after, broken = _checked(corr_f[mine], corr_y[mine], corr_p[mine], guard_f, guard_y, guard_p)
        if adapter is not None:
            return Fitted(adapter, stronger, len(guard_y), right_before, right_after, tuple(sorted(dropped)))
        # Adapting a label raises or lowers only that label: the labels the misread guards stand
        # for or were read as are the culprits; the other corrections may still adapt.
        culprits = active & set(broken.tolist())
        active -= culprits
        dropped |= culprits
        if not culprits or not active:
            return Fitted(None, 0.0, len(guard_y), right_before, right_after, tuple(sorted(dropped)))


def _checked(corr_f, corr_y, corr_p, guard_f, guard_y, guard_p):
    """(adapter or None, penalty multiplier, guards read right with it, labels involved in the guards
    it misread): the weakest penalty whose out-of-fold check reads as many guards right as the network."""
    u = unit(np.concatenate([corr_f, guard_f]))
    centre, corr_u, extent = u.mean(axis=0), u[:len(corr_y)], reach(u[len(corr_y):], guard_y)
    x = head_inputs(u, centre, corr_u, extent)  # guards out of reach read 0: they neither pull nor move
    offsets = log_probabilities(np.concatenate([corr_p, guard_p]))
    y = np.concatenate([corr_y, guard_y])
    c = len(corr_y)
    before = guard_p.argmax(axis=1)
    fold_of = np.arange(len(guard_y)) % min(FOLDS, len(guard_y))
    for stronger in STRONGER:
        penalty = PENALTY * stronger
        read = np.empty(len(guard_y), np.int64)
        for fold in np.unique(fold_of):
            # Each guard is read by a head fitted without it: the check is out of sample.
            held = fold_of == fold
            keep = np.concatenate([np.ones(c, bool), ~held])
            w = train_head(x[keep], offsets[keep], y[keep], penalty, corr_y)
            read[held] = (offsets[c:][held] + x[c:][held] @ w).argmax(axis=1)
        right_after = int((read == guard_y).sum())
        if right_after >= int((before == guard_y).sum()):
            w = train_head(x, offsets, y, penalty, corr_y)
            return Adapter(centre, w, corr_u, extent), stronger, right_after, np.zeros(0, np.int64)
    broken = (read != guard_y) & (before == guard_y)
    return None, 0.0, right_after, np.unique(np.concatenate([read[broken], guard_y[broken]]))


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
    fitted = fit(features[:n], [labels.index(c.label) for c in corrections], probabilities[:n],
                 features[n:], [labels.index(y) for y in guard_labels], probabilities[n:])
    if fitted.adapter is None:
        return Personal(predictor), (f"adaptation not applied: it would misread earlier readings "
                                     f"({fitted.right_after} of {fitted.guards} right instead of {fitted.right_before})")
    status = f"adapted to {n} correction{'s' * (n != 1)}"
    if fitted.dropped:  # those labels' corrections would misread earlier readings
        status += f", except those to {', '.join(labels[k] for k in fitted.dropped)}"
    return Personal(predictor, fitted.adapter), status
