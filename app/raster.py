"""Measures of an ink raster shared by the picture's steps: what counts as ink, how thick its strokes are."""
import math

import numpy as np

from app import components

INK_THRESHOLD = 0.1  # ink map level that counts as ink when finding boxes and components


def ink_runs(mask):
    """Number of horizontal runs of True in a boolean raster (linear time, no labelling)."""
    return int(row_runs(mask).sum())


def row_runs(mask):
    """Per row of a boolean raster, its number of runs of True."""
    return np.count_nonzero(mask[:, 1:] & ~mask[:, :-1], axis=1) + mask[:, 0]


def stroke_share(mask):
    """Stroke width of a boolean ink raster as a share of its longer side (0 for no ink).

    A stroke of length L and width w covers about L*w pixels and has about 2L of outline; the
    outline is counted in pixel edges, which overcount a line's length by 4/pi on average over
    its directions. Measured on drawn digits: within 5 % of the brush from hairline to blob.
    """
    width = stroke_width(mask)
    if width == 0.0:
        return 0.0
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    return width / side


def stroke_width(mask):
    """Stroke width in pixels of a boolean ink raster (0 for no ink): area over half the outline,
    as `stroke_share` explains."""
    area = np.count_nonzero(mask)
    if area == 0:
        return 0.0
    edges = (np.count_nonzero(mask[:, 1:] != mask[:, :-1]) + np.count_nonzero(mask[1:] != mask[:-1])
             + np.count_nonzero(mask[:, [0, -1]]) + np.count_nonzero(mask[[0, -1]]))
    return float(2 * area / (edges * math.pi / 4))


def component_mask(found, i):
    """Boolean raster of component `i` (0-based) within its box."""
    x0, y0, x1, y1 = found.boxes[i]
    return found.labels[y0:y1, x0:x1] == i + 1


def grown(mask, steps):
    """`mask` grown by `steps` pixels in each of the 8 directions."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        out = grown
    return out


def spans(on):
    """(start, end) of each run of True in a 1-D boolean array, as an (n, 2) array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], on, [False]]).astype(np.int8)))
    return edges.reshape(-1, 2)


def erased(ink, erase, threshold):
    """(`ink` with the pixels of `erase` zeroed, and the faint fringe about them that is no ink, the
    result labelled at `threshold`): a form's lines or a hand-drawn mark taken out of the ink."""
    erase = erase | (grown(erase, 1) & (ink <= threshold))
    out = np.where(erase, np.float32(0), ink).astype(ink.dtype)
    return out, components.label(out > threshold, out)
