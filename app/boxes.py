"""Printed boxes around digits (a form's row of boxes, a box to write a digit in), found and erased.

A form's boxes are one blob of straight lines; read as ink their sides are 1s: "97265" in a row of
five boxes read "1911216151", a 3 in a box "131". A blob is taken for printed boxes when each of its
four outer sides is a straight line along SIDE_COVER of its length (a photo's slight tilt allowed),
its lines are thin for the box, and there is writing inside it: a digit drawn as a rectangle, or an
empty box, has none. Its lines, outer and dividing, are then erased; strokes of a digit that touches
them stay but for where they cross a line. Hand-drawn boxes wobble and are left as they are. Pure numpy.
"""

import math

import numpy as np

from app import components
from app.rules import grown

MIN_BOX = 24  # px: both sides of a box at least this long (a smaller one holds no readable digit)
SIDE_COVER = 0.85  # share of a side's length along which its outermost ink lies on one straight line
TOLERANCE = 2.0  # px: how far off that line the outermost ink may lie (blur, a photo's noise)
MAX_TILT = 3.0  # degrees either way the boxes may be tilted
OUTER = 3  # px: the outermost lines start this close to the blob's edge (a tilted corner juts out)
SQUARE = 0.02  # how far (as a slope) the sides may be from parallel and square: a printed box's are
THIN = 0.1  # a printed line is at most this share of the shorter side of the blob thick
LINE = 0.85  # share of the blob's width (height) a row (column) straightened is inked along to be a line
FRAGMENT = 0.1  # a bit of the blob left by its lines under this share of its shorter side is theirs
SLIVER = 2  # px: ... and so is one this thin (a line's edge along it)
WRITING = 0.2  # a blob inside the box this share of its height tall is writing (a speck is not)
EDGE = 0.2  # the row beside a line, inked this much along, is the line's blurred edge


def remove_boxes(ink, found, threshold):
    """(`ink`, `found`) with printed boxes erased and the ink labelled again; the arguments themselves
    when there are none. `found` is the labelling of `ink > threshold`."""
    erase = np.zeros(ink.shape, bool)
    for index in np.flatnonzero(_big(found)):
        lines = _box_lines(found, index + 1)
        if lines is not None and _holds_writing(found, index + 1, lines):
            x0, y0, x1, y1 = found.boxes[index]
            erase[y0:y1, x0:x1] |= lines
    if not erase.any():
        return ink, found
    # The lines' anti-aliased fringe, too faint to be ink, goes with them.
    erase |= grown(erase, 1) & (ink <= threshold)
    out = np.where(erase, np.float32(0), ink).astype(ink.dtype)
    return out, components.label(out > threshold, out)


def _big(found):
    boxes = found.boxes
    return ((boxes[:, 2] - boxes[:, 0]) >= MIN_BOX) & ((boxes[:, 3] - boxes[:, 1]) >= MIN_BOX)


def _box_lines(found, label):
    """The pixels (in the blob's box) of the printed lines of blob `label` to erase, or None when it is
    no box. Where writing crosses a line (ink just beyond it on both sides, none of it a line) the line
    stays, so that a digit written across a box's side keeps its stroke."""
    x0, y0, x1, y1 = found.boxes[label - 1]
    mask = found.labels[y0:y1, x0:x1] == label
    h, w = mask.shape
    sides = [
        _straight(np.argmax(mask, axis=0)),  # top
        _straight(h - 1 - np.argmax(mask[::-1], axis=0)),  # bottom
        _straight(np.argmax(mask, axis=1)),  # left
        _straight(w - 1 - np.argmax(mask[:, ::-1], axis=1)),  # right
    ]
    if any(side is None for side in sides):
        return None
    level, upright = (sides[0] + sides[1]) / 2, -(sides[2] + sides[3]) / 2
    if abs(sides[0] - sides[1]) > SQUARE or abs(sides[2] - sides[3]) > SQUARE or abs(level - upright) > SQUARE:
        return None  # the sides of a printed box are parallel and square
    yy, xx = np.mgrid[0:h, 0:w]
    across = yy - np.round(level * xx).astype(np.int64)  # each pixel's row, the tilt undone
    down = xx + np.round(level * yy).astype(np.int64)  # its column, the same
    across, down = across - across.min(), down - down.min()
    level_lines = _Straightened(mask, across, xx)
    upright_lines = _Straightened(mask, down, yy)
    rows, cols = level_lines.lines(w, min(h, w)), upright_lines.lines(h, min(h, w))
    if rows is None or cols is None:
        return None
    writing = mask & ~level_lines.on(rows) & ~upright_lines.on(cols)
    erase = level_lines.erase(rows, writing) | upright_lines.erase(cols, writing)
    # What the lines leave of the blob in bits (a tilted line's stair steps, a corner) goes too; a
    # digit touching a side leaves itself.
    left = components.label(mask & ~erase)
    sides = left.boxes[:, 2:] - left.boxes[:, :2]
    bits = (sides.max(axis=1) < FRAGMENT * min(h, w)) | (sides.min(axis=1) <= SLIVER)
    bits = np.concatenate([[False], bits])
    return erase | bits[left.labels]


class _Straightened:
    """A blob's pixels with one direction's tilt undone: its lines of that direction lie along rows."""

    def __init__(self, mask, row, col):
        self.mask, self.row, self.col = mask, row, col
        self.grid = self.shear(mask)

    def shear(self, a):
        out = np.zeros((self.row.max() + 1, self.col.max() + 1), bool)
        out[self.row, self.col] = a
        return out

    def lines(self, length, side):
        """(start, end) rows of the printed lines, blurred edges included: rows along which one unbroken
        run of ink covers LINE of `length` (a digit's strokes crossing a row add up, never join), thin
        for `side`. None unless the blob's outermost rows both are lines."""
        longest = _longest_runs(self.grid)
        found = []
        for start, end in _runs(longest >= LINE * length):
            if end - start > max(THIN * side, 2):
                continue  # a thick bar: a digit's stroke along the side, no printed line
            # A row either side holds the line's stair steps where the tilt is undone in whole pixels;
            # one more, inked along EDGE of the length, its blurred edge (more would be writing).
            start, end = max(start - 1, 0), min(end + 1, len(longest))
            start -= start > 0 and longest[start - 1] >= EDGE * length
            end += end < len(longest) and longest[end] >= EDGE * length
            found.append((int(start), int(end)))
        # The outermost rows inked along EDGE of the length: a stroke out through a side is not one.
        inked = np.flatnonzero(self.grid.sum(axis=1) >= EDGE * length)
        if len(found) < 2 or found[0][0] > inked[0] + OUTER or found[-1][1] < inked[-1] + 1 - OUTER:
            return None
        return found

    def on(self, lines):
        """The blob's pixels on `lines`."""
        rows = np.zeros(len(self.grid), bool)
        for start, end in lines:
            rows[start:end] = True
        return self.mask & rows[self.row]

    def erase(self, lines, writing):
        """The pixels on `lines` but where `writing` crosses them."""
        crossing = self.shear(writing)
        keep = np.zeros(self.grid.shape, bool)
        for start, end in lines:
            if start == 0 or end >= len(self.grid):
                continue  # an outer side: nothing crosses from beyond the blob
            crossed = crossing[start - 1] & crossing[end]
            # A stroke crossing aslant moves along the line as it goes through: as far as the line is
            # thick at 45 degrees, and its edge pixels beside the crossing stay too.
            keep[start:end] = grown(crossed[None, :], end - start)[0]
        return self.on(lines) & ~keep[self.row, self.col]


def _longest_runs(grid):
    """Per row of a boolean grid, its longest unbroken run of True."""
    padded = np.zeros((grid.shape[0], grid.shape[1] + 2), np.int8)
    padded[:, 1:-1] = grid
    step = np.diff(padded, axis=1)
    at, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)
    longest = np.zeros(len(grid), np.int64)
    np.maximum.at(longest, at, ends - starts)
    return longest


def _straight(profile):
    """The slope of the straight line along which SIDE_COVER of a side's outermost ink lies, or None."""
    at = np.arange(len(profile), dtype=np.float64)
    half = len(profile) // 2
    if half < 2:
        return None
    # A first line through the two halves' medians, which a digit touching the side or a tilted
    # corner's other side does not move; then least squares on what lies along it.
    slope = (np.median(profile[-half:]) - np.median(profile[:half])) / (len(profile) - half)
    offset = np.median(profile - slope * at)
    for _ in range(2):
        keep = np.abs(profile - (slope * at + offset)) <= TOLERANCE
        if keep.mean() < SIDE_COVER:
            return None
        slope, offset = np.polyfit(at[keep], profile[keep], 1)
    return float(slope) if abs(slope) <= math.tan(math.radians(MAX_TILT)) else None


def _runs(on):
    edges = np.flatnonzero(np.diff(np.concatenate([[False], on, [False]]).astype(np.int8)))
    return edges.reshape(-1, 2)


def _holds_writing(found, label, lines):
    """Whether there is ink inside the box of blob `label` besides its lines: another blob within it,
    or the blob's own ink off its lines (a digit touching a side)."""
    x0, y0, x1, y1 = found.boxes[label - 1]
    own = found.labels[y0:y1, x0:x1] == label
    if (own & ~lines).sum() >= MIN_BOX:
        return True
    others = np.delete(found.boxes, label - 1, axis=0)
    inside = (others[:, 0] >= x0) & (others[:, 1] >= y0) & (others[:, 2] <= x1) & (others[:, 3] <= y1)
    tall = (others[:, 3] - others[:, 1]) >= WRITING * (y1 - y0)
    return bool((inside & tall).any())
