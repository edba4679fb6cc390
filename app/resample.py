"""Pillow's LANCZOS resize of a float32 ink map, as two small matrix products.

Resizing a digit to MNIST's 20 px box through Pillow costs a copy into an Image, a copy out, and a
filter that is not vectorised for float images: about 90 us for the window's 106x69 ink, in a live
read of about 1 ms. The same weights as matrices (Pillow's, computed as Pillow does)
and the same two passes, horizontal first with a float32 image between them, cost about 20 us
(and a 2048 px photo's crop to 20 px half of Pillow's 24 ms). The matrices are dense: a resize that
would need a big one goes to Pillow itself.
"""

import functools

import numpy as np
from PIL import Image

SUPPORT = 3.0  # Pillow's lanczos filter: sinc(x) * sinc(x / 3) on [-3, 3)
MAX_WEIGHTS = 1 << 17  # entries of one weight matrix (1 MB) above which Pillow resizes instead


def lanczos(crop, size):
    """float32 `crop` (h, w) resized to `size` = (columns, rows) as Pillow's Image.resize(size, LANCZOS)
    resizes an "F" image (equal to it within float rounding)."""
    crop = np.ascontiguousarray(crop, np.float32)
    h, w = crop.shape
    columns, rows = size
    if max(w * columns, h * rows) > MAX_WEIGHTS:
        return np.asarray(Image.fromarray(crop, "F").resize(size, Image.Resampling.LANCZOS))
    out = crop
    # Pillow skips a pass whose size does not change (an identity up to sin(pi) rounding).
    if columns != w:
        out = (out.astype(np.float64) @ _weights(w, columns).T).astype(np.float32)
    if rows != h:
        out = (_weights(h, rows) @ out.astype(np.float64)).astype(np.float32)
    return out if out is not crop else crop.copy()


@functools.lru_cache(maxsize=64)  # at most 64 MB; a live read needs two
def _weights(size_in, size_out):
    """float64 (size_out, size_in): Pillow's precompute_coeffs for its lanczos filter, all rows at once."""
    scale = size_in / size_out
    filterscale = max(scale, 1.0)
    support = SUPPORT * filterscale
    center = (np.arange(size_out) + 0.5) * scale
    # C's (int) truncates toward zero; below zero it is clamped to 0 anyway.
    xmin = np.maximum((center - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((center + support + 0.5).astype(np.int64), size_in)
    x = np.arange(size_in)
    taps = _filter((x[None, :] - center[:, None] + 0.5) * (1.0 / filterscale))
    taps[(x[None, :] < xmin[:, None]) | (x[None, :] >= xmax[:, None])] = 0.0
    total = taps.sum(axis=1, keepdims=True)
    out = np.divide(taps, total, out=taps, where=total != 0.0)
    out.setflags(write=False)
    return out


def _filter(x):
    """sinc(x) * sinc(x / 3) on [-3, 3), 0 elsewhere (Pillow's lanczos_filter)."""
    return np.where((-SUPPORT <= x) & (x < SUPPORT), _sinc(x) * _sinc(x / SUPPORT), 0.0)


def _sinc(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x == 0.0, 1.0, np.sin(np.pi * x) / (np.pi * x))
