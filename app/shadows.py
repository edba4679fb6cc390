"""A shadow across a photographed page, found and followed to its edge in the map of the paper.

`app.preprocess` flattens a photo's paper with a coarse map (an eighth of the picture a block, the
darkest of each block's neighbours); beyond a shadow's edge that map keeps the lit paper's level for a
block or two, and the band of shadow there read as ink. `raised` lifts the map over such a shadow on a
copy SHADOW_SIDE pixels long: a region of paper wider than any stroke (grey opening by reconstruction),
standing SHADOW_STEP above the map and less than SHADOW_DEPTH of the way to the pen. Pure numpy and Pillow.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

# Tuned on 200 held-out writers' digits photographed (another seed than the benchmark's).
SHADOW_SIDE = 96  # ~6 px of a 560 px picture a pixel: a shadow's edge is softer than that
SHADOW_REACH = 0.15  # a region wider than this share of the longer side: no stroke is as wide
SHADOW_STEP = 48.0  # a vignette darkens the corners by less over a region, and the map follows it
SHADOW_DEPTH = 0.65  # a desk lies 0.75-0.85 of the way to a pen, a shadow 45 % deep about 0.55
PAPER_GRAIN = 16.0  # grey levels about a region's level that are still its paper, not ink
LIFT_MARGIN = 8.0  # the map is raised to this much under a shadow's level: the grain reaches above it


def raised(grey, surface, ink):
    """The paper map `surface` of `grey` (ink lighter than paper), raised over a shadow across the page
    to the shadow's own edge; returned at a size of its own (the caller resizes it to the picture), or
    `surface` itself where there is no shadow. `ink` is the pen's level, as the picture's lightest."""
    small = small_copy(grey)
    coarse = np.asarray(Image.fromarray(surface, "F").resize(small.shape[::-1], Image.Resampling.BILINEAR))
    window = max(3, round(SHADOW_REACH * max(small.shape))) | 1
    floor = _min_filter(small, window)  # the least level about each place: ink only inside a wide blob
    # A shadow holds a sixteenth of a window's area of paper (within its grain of the least level about
    # it) that stands SHADOW_STEP above the map and short of the pen: a vignette's slope (the map
    # follows it), a stroke's flank and the core of a thick stroke hold none or a few.
    under = floor - coarse
    seeds = (under >= SHADOW_STEP) & (under < SHADOW_DEPTH * (ink - coarse)) & (small - floor <= PAPER_GRAIN)
    if np.count_nonzero(seeds) < window * window / 16:
        return surface
    # Grey opening by reconstruction: every flat region wider than the window, at its own level and
    # to its own edge; strokes narrower than the window are not in it.
    wide = _reconstruct(floor, small)
    # Paper is what lies within its grain of that level, short of the pen: a stroke wider than the
    # window, or a desk as dark as the pen, stays ink (the desk is dropped as the frame). The paper
    # under the ink lies at the level of the paper around it, not of the region the ink reaches (the
    # reconstruction climbs along a stroke that crosses the shadow's edge into the light): over ink,
    # the lift is the mean of the paper's lift within the window.
    lift = np.maximum(wide - coarse, 0)
    paper = ((small - wide <= PAPER_GRAIN) & (lift < SHADOW_DEPTH * (ink - coarse))).astype(np.float32)
    lift = lift * paper
    lift = np.where(paper > 0, lift, _box_sum(lift, window) / np.maximum(_box_sum(paper, window), 1))
    # A little under the region's level: about its median, the paper's grain would reach above it.
    # Where the lift comes to that margin the map is the coarse one again, without a step.
    lift = np.maximum(lift - LIFT_MARGIN, 0)
    # The shadow: the lifted places connected to its seeds (no labelling: a picture of scattered dots
    # must be refused before any, and this map is small).
    shadow = _reconstruct(seeds.astype(np.float32), (lift > 0).astype(np.float32)) > 0
    return (coarse + np.where(shadow, lift, 0)).astype(np.float32)


def small_copy(grey):
    """`grey` box-filtered down so that its longer side is at most SHADOW_SIDE pixels."""
    h, w = grey.shape
    factor = SHADOW_SIDE / max(h, w)
    if factor >= 1:
        return grey
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(grey, "F").resize(size, Image.Resampling.BOX))


def _min_filter(values, k):
    """Minimum over a k x k window (k odd); beyond the edges lies the lowest value (a stroke along the
    edge is no wider for being cut by it)."""
    r, low = k // 2, float(values.min())
    values = np.pad(values, ((r, r), (0, 0)), constant_values=low)
    values = sliding_window_view(values, k, axis=0).min(axis=-1)
    values = np.pad(values, ((0, 0), (r, r)), constant_values=low)
    return sliding_window_view(values, k, axis=1).min(axis=-1)


def _box_sum(values, k):
    """Sum over a k x k window (k odd), zeros beyond the edges."""
    r = k // 2
    total = np.cumsum(np.cumsum(np.pad(values, ((r + 1, r), (r + 1, r))), axis=0), axis=1)
    return total[k:, k:] - total[:-k, k:] - total[k:, :-k] + total[:-k, :-k]


def _reconstruct(marker, mask):
    """Grey reconstruction by dilation: `marker` (<= mask) grown 8-connected under `mask` until it stops."""
    grown = np.minimum(marker, mask)
    padded = np.full((mask.shape[0] + 2, mask.shape[1] + 2), min(float(grown.min()), 0.0), np.float32)
    for _ in range(4 * sum(mask.shape)):
        padded[1:-1, 1:-1] = grown
        rows = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:])
        near = np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])
        step = np.minimum(near, mask)
        if np.array_equal(step, grown):
            break
        grown = step
    return grown
