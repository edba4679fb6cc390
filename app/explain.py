"""Why this answer: which ink pushed the network towards a digit and which against it.

Occlusion, gradient-free: every small patch of the 28x28 input that holds ink is blanked in turn and
all of them go through the model as ONE batch (with the untouched input). A patch's effect on a
class is the drop in that class' log-odds when it is gone: positive, the ink was for the class;
negative, against it. A pixel's value is the mean over the patches that cover it, kept on ink only.
Done for the chosen digit and the runner-up ("why not 7?").
"""

from dataclasses import dataclass

import numpy as np

PATCH = 4  # side of a blanked square, in model-input pixels (MNIST strokes are ~2-3 px wide)
STRIDE = 3  # ~30 inked patches a digit: one batch in well under 30 ms for the shipped CNN
INK = 0.1  # an input level that counts as ink
FOR = np.array([40, 140, 255], np.float32)  # blue: the ink supports the class
AGAINST = np.array([255, 120, 0], np.float32)  # orange: the ink speaks against it (colour-blind safe pair)
TINY = 1e-6


@dataclass(frozen=True)
class Why:
    """Signed maps (28, 28) for the chosen class and the runner-up (class indices), on ink only."""

    chosen: int
    runner_up: int
    for_chosen: np.ndarray
    for_runner_up: np.ndarray


def patches(image, patch=PATCH, stride=STRIDE):
    """Top-left corners (y, x) of the patches that hold some ink."""
    ink = image[:, :, 0] > INK
    corners = range(0, 28 - patch + 1, stride)
    return [(y, x) for y in corners for x in corners if ink[y:y + patch, x:x + patch].any()]


def occlusion(predictor, image, patch=PATCH, stride=STRIDE):
    """(probabilities of the input (K,), signed maps (K, 28, 28), one per class): one predict call."""
    image = np.asarray(image, np.float32).reshape(28, 28, 1)
    corners = patches(image, patch, stride)
    batch = np.repeat(image[None], len(corners) + 1, axis=0)
    for i, (y, x) in enumerate(corners, 1):
        batch[i, y:y + patch, x:x + patch] = 0.0
    probabilities = np.asarray(predictor.predict(batch), np.float64)
    p = np.clip(probabilities, TINY, 1 - TINY)
    odds = np.log(p) - np.log1p(-p)
    drop = odds[0][None, :] - odds[1:]  # (patches, K): how much each class lost without the patch
    total = np.zeros((probabilities.shape[1], 28, 28))
    cover = np.zeros((28, 28))
    for i, (y, x) in enumerate(corners):
        total[:, y:y + patch, x:x + patch] += drop[i][:, None, None]
        cover[y:y + patch, x:x + patch] += 1
    on_ink = image[:, :, 0] > INK
    return probabilities[0], np.where(on_ink, total / np.maximum(cover, 1), 0.0)


def explain(predictor, image, classes=None):
    """Why the predictor reads `image` (28x28x1) as it does, and why not as its runner-up; or, given
    `classes` (chosen, runner-up), what in the image speaks for and against those two."""
    probabilities, maps = occlusion(predictor, image)
    chosen, runner_up = classes or (int(k) for k in np.argsort(probabilities)[::-1][:2])
    return Why(chosen, runner_up, maps[chosen], maps[runner_up])


def tint(ink, signed, scale=None):
    """RGB uint8 picture of `ink` (h, w) in [0, 1] coloured by `signed` (same shape): blue for,
    orange against, grey where it hardly matters; `scale` is the value shown at full colour."""
    ink = np.clip(np.asarray(ink, np.float32), 0, 1)[..., None]
    signed = np.asarray(signed, np.float32)
    scale = scale if scale is not None else float(np.abs(signed).max())
    strength = np.sqrt(np.clip(np.abs(signed) / max(scale, TINY), 0, 1))[..., None]  # weak evidence stays visible
    colour = np.where(signed[..., None] >= 0, FOR, AGAINST)
    grey = np.full(3, 150, np.float32)
    shown = ink * ((1 - strength) * grey + strength * colour)
    return shown.astype(np.uint8)


def onto_canvas(signed, image, pixels):
    """`signed` (28, 28), the map of model input `image`, carried onto `pixels` (h, w) uint8: the
    canvas ink of the same digit (its box), by matching the ink's bounding boxes (centring only
    scales and shifts). Returns a float map (h, w), zero off the ink."""
    pixels = np.asarray(pixels)
    small = _box(np.asarray(image).reshape(28, 28) > INK)
    big = _box(pixels > INK * 255)
    if small is None or big is None:
        return np.zeros(pixels.shape, np.float32)
    scale = max(small[2] - small[0], small[3] - small[1]) / max(big[2] - big[0], big[3] - big[1], 1)
    h, w = pixels.shape
    ys = ((np.arange(h) - (big[1] + big[3]) / 2) * scale + (small[1] + small[3]) / 2).round().astype(int)
    xs = ((np.arange(w) - (big[0] + big[2]) / 2) * scale + (small[0] + small[2]) / 2).round().astype(int)
    carried = np.asarray(signed, np.float32)[np.clip(ys, 0, 27)[:, None], np.clip(xs, 0, 27)[None, :]]
    return np.where(pixels > 0, carried, 0.0).astype(np.float32)


def _box(mask):
    """(x0, y0, x1, y1) of True cells, ends inclusive; None if there are none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return (cols[0], rows[0], cols[-1], rows[-1])


def deletion_curve(predictor, image, order, label, steps=10):
    """Probability of class `label` as the ink pixels are removed in `order` (flat indices into 28x28),
    a tenth (1/steps) of them at a time; one predict call. The area under it is the mean."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    batch = np.repeat(image[None], steps + 1, axis=0).reshape(steps + 1, -1)
    for s in range(1, steps + 1):
        batch[s, order[: int(round(len(order) * s / steps))]] = 0.0
    return np.asarray(predictor.predict(batch.reshape(-1, 28, 28, 1)))[:, label]


@dataclass(frozen=True)
class WhyView:
    """What the window shows: `preview` (RGB, the chosen digit's map and the runner-up's side by side),
    `overlay` (RGBA over the digit's box on the canvas, or None) and a title naming both."""

    preview: object
    overlay: object
    title: str


def why_view(predictor, guess, pixels=None, zoom=3, gap=6):
    """The why-view of an app.recognize.Guess; `pixels` the canvas raster (None for a picture)."""
    from PIL import Image

    labels = list(predictor.labels)
    # The answer shown may be the digit model's fused with the stroke reader's (app.trajectory): explain
    # that answer and its runner-up, as the image shows them, not the digit model's own top two.
    classes = None
    if guess.label in labels and len(guess.probabilities) == len(labels):
        classes = (labels.index(guess.label), labels.index(guess.runner_up))
    why = explain(predictor, guess.image, classes)
    ink = guess.image[:, :, 0]
    scale = max(float(np.abs(why.for_chosen).max()), float(np.abs(why.for_runner_up).max()), TINY)
    side = 28 * zoom
    preview = Image.new("RGB", (2 * side + gap, side), (255, 255, 255))
    for i, signed in enumerate((why.for_chosen, why.for_runner_up)):
        tile = Image.fromarray(tint(ink, signed, scale), "RGB").resize((side, side), Image.Resampling.NEAREST)
        preview.paste(tile, (i * (side + gap), 0))
    overlay = None
    if pixels is not None:
        x0, y0, x1, y1 = (int(v) for v in guess.box)
        crop = np.asarray(pixels)[y0:y1, x0:x1]
        if crop.size:
            carried = onto_canvas(why.for_chosen, guess.image, crop)
            rgb = tint(np.ones(crop.shape), carried, float(np.abs(carried).max()) or None)
            alpha = crop.astype(np.uint8)  # all of the digit's ink, so none shows through untinted
            overlay = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    chosen, other = _short(labels[why.chosen]), _short(labels[why.runner_up])
    title = f"Why {chosen}  ·  why not {other}\nblue: for it, orange: against"
    return WhyView(preview, overlay, title)


def _short(label):
    """A digit as itself; "not a digit" in quotes, so the title never says "why not not a digit"."""
    return "\u201cnot a digit\u201d" if len(label) > 1 else label
