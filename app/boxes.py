"""A form's printing around handwritten digits, found and erased: a row of boxes, a box to write a
digit in, a line to write on (with or without ticks parting its places).

Read as ink, a box's sides are 1s ("97265" in a row of five boxes read "1911216151", a 3 in a box
"131") and a line joins the digits that sit on it. A blob is taken for boxes when each of its four
outer sides is a straight line along SIDE_COVER of its length (a photo's slight tilt allowed), its
lines are thin for it and there is writing inside (a digit drawn as a rectangle, or an empty box, has
none): its lines, outer and dividing, are erased. A blob is taken for a line to write on when its
bottom is such a line, thin, LONG times as long as what stands on it is tall (a 2's base is not), and
writing stands on it: the line goes, and with it the ticks on it (thin stubs of one height, evenly
spaced or short beside the writing). Strokes of a digit touching a line stay but where they cross it;
hand-drawn boxes and lines wobble and are left as they are. Pure numpy.
"""

import math

import numpy as np

from app import components
from app.raster import component_mask, erased, grown, spans

MIN_BOX = 24  # px: both sides of a box at least this long (a smaller one holds no readable digit)
SIDE_COVER = 0.85  # share of a side's length along which its outermost ink lies on one straight line
TOLERANCE = 2.0  # px: how far off that line the outermost ink may lie (blur, a photo's noise)
MAX_TILT = 3.0  # degrees either way the boxes may be tilted
OUTER = 3  # px: the outermost lines start this close to the blob's edge (a tilted corner juts out)
LONG = 1.5  # a line to write on is at least this many times as long as what stands on it is tall
THIN_LINE = 0.02  # ... and at most this share of its length thick (4 px more for a blurred photo)
EVEN = 0.15  # ticks lie within this share of their spacing of an even lattice
STANDING = 0.25  # writing on a line holds at least this share of the line's ink, where it touches it
SHORT = 0.6  # ... or are at most this share of the tallest writing on the line tall
SQUARE = 0.02  # how far (as a slope) the sides may be from parallel and square: a printed box's are
THIN = 0.1  # a printed line is at most this share of the shorter side of the blob thick
LINE = 0.85  # share of the blob's width (height) a row (column) straightened is inked along to be a line
FRAGMENT = 0.1  # a bit of the blob left by its lines under this share of its shorter side is theirs
SLIVER = 2  # px: ... and so is one this thin (a line's edge along it)
WRITING = 0.2  # a blob inside the box this share of its height tall is writing (a speck is not)
EDGE = 0.2  # the row beside a line, inked this much along, is the line's blurred edge


def remove_boxes(ink, found, threshold):
    """(`ink`, `found`) with a form's boxes and lines to write on erased and the ink labelled again; the
    arguments themselves when there are none. `found` is the labelling of `ink > threshold`."""
    erase = np.zeros(ink.shape, bool)
    for index in np.flatnonzero((found.boxes[:, 2] - found.boxes[:, 0]) >= MIN_BOX):
        lines = _printed_lines(found, index + 1)
        if lines is not None:
            x0, y0, x1, y1 = found.boxes[index]
            erase[y0:y1, x0:x1] |= lines
    if not erase.any():
        return ink, found
    return erased(ink, erase, threshold)


def _printed_lines(found, label):
    """The pixels (in the blob's box) of blob `label`'s printed lines to erase, or None when it is
    neither a form's boxes nor a line to write on. Where writing crosses a line (ink just beyond it on
    both sides, none of it a line) the line stays, so that a digit written across a side keeps its stroke."""
    mask = component_mask(found, label - 1)
    h, w = mask.shape
    bottom = _straight(h - 1 - np.argmax(mask[::-1], axis=0))
    if bottom is None:
        return None
    sides = [
        _straight(np.argmax(mask, axis=0)),  # top
        _straight(np.argmax(mask, axis=1)),  # left
        _straight(w - 1 - np.argmax(mask[:, ::-1], axis=1)),  # right
    ] if h >= MIN_BOX else [None]
    if all(side is not None for side in sides):
        erase = _box(mask, sides[0], bottom, sides[1], sides[2])
        if erase is not None:  # an empty box is no line to write on either
            return erase if _holds_writing(found, label, mask, erase) else None
    erase = _line_to_write_on(mask, bottom)
    return erase if erase is not None and _writing_on(found, label, mask, erase) else None


def _box(mask, top, bottom, left, right):
    """What to erase of a form's boxes (`mask` and its sides' slopes), or None when they are none."""
    level, upright = (top + bottom) / 2, -(left + right) / 2
    if abs(top - bottom) > SQUARE or abs(left - right) > SQUARE or abs(level - upright) > SQUARE:
        return None  # the sides of a printed box are parallel and square
    h, w = mask.shape
    level_lines, upright_lines = _straightened(mask, level), _straightened(mask, level, upright=True)
    rows, cols = level_lines.lines(w, min(h, w)), upright_lines.lines(h, min(h, w))
    if rows is None or cols is None:
        return None
    rows, cols = _lattice(rows), _lattice(cols)
    writing = mask & ~level_lines.on(rows) & ~upright_lines.on(cols)
    return _with_bits(mask, level_lines.erase(rows, writing) | upright_lines.erase(cols, writing))


def _lattice(lines):
    """The outer two of `lines` and those between that part the boxes evenly (a form's dividers): the
    most boxes whose every division has a line within EVEN of a box's width of it. A 1 written from
    side to side of its box is a line as long, but off the divisions."""
    centres = np.array([(start + end) / 2 for start, end in lines])
    for cells in range(len(lines) - 1, 1, -1):
        step = (centres[-1] - centres[0]) / cells
        near = [np.flatnonzero(np.abs(centres - (centres[0] + k * step)) <= EVEN * step) for k in range(1, cells)]
        if all(len(found) for found in near):
            return [lines[0]] + [lines[found[0]] for found in near] + [lines[-1]]
    return [lines[0], lines[-1]]


def _line_to_write_on(mask, slope):
    """What to erase of a printed line along the bottom of `mask` (with the ticks that part a form's
    places on it), or None when there is none: the line runs along the whole blob, thin, and at least
    LONG times as long as what stands on it is tall (a 2's base is not)."""
    h, w = mask.shape
    level_lines = _straightened(mask, slope)
    bands = level_lines.bands(w, w)
    if not bands:
        return None
    first, last = level_lines.outer(w)
    start, end = bands[-1]
    if end < last + 1 - OUTER or end - start > max(THIN_LINE * w, 2) + 4 or w < LONG * (start - first):
        return None
    line = [(start, end)]
    erase = level_lines.erase(line, mask & ~level_lines.on(line))
    return _with_bits(mask, erase | _ticks(level_lines, mask & ~erase, start, end - start))


def _ticks(straight, left, line, thickness):
    """The ticks standing on a line to write on that part its places (`left`: the blob without the
    line, `straight` its _Straightened with the line along row `line`): thin upright stubs of one
    height standing on the line, one of them at an end of it, and either three or more evenly spaced
    or, where digits touching them hide the others, two under SHORT of the tallest writing on the
    line. None otherwise: a 1 standing on the line is as thin, but not of their height at their places."""
    found = components.label(straight.shear(left))
    if found.count < 2:
        return np.zeros(left.shape, bool)
    x0, y0, x1, y1 = found.boxes.T
    tall = y1 - y0
    wide = found.mass / tall  # across, on average: a photo's blur leaves a tick a foot on the line
    stubs = (wide <= thickness + 3) & (tall >= 2 * wide) & (y1 >= line - 3)
    top = np.median(y0[stubs]) if stubs.any() else 0  # of one height: their tops level (a foot or
    height = line - top  # a gap the line's blur leaves under one moves its bottom, not its top)
    stubs &= np.abs(y0 - top) <= max(2, 0.1 * height)
    at_end = (stubs & ((x0 <= thickness + 3) | (x1 >= left.shape[1] - thickness - 3))).any()
    centres = np.sort((x0 + x1)[stubs] / 2)
    steps = np.diff(centres) / max(np.diff(centres).min(), 1) if len(centres) >= 2 else np.zeros(0)
    even = len(centres) >= 3 and (np.abs(steps - np.round(steps)) <= EVEN).all()
    short = len(centres) >= 2 and height <= SHORT * tall[~stubs].max(initial=0)
    if not (at_end and (even or short)):
        return np.zeros(left.shape, bool)
    return np.concatenate([[False], stubs])[found.labels][straight.row, straight.col]


def _straightened(mask, slope, upright=False):
    """`mask` with its level lines (or upright ones) tilted by `slope` along rows."""
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w]
    if upright:
        down = xx + np.round(slope * yy).astype(np.int64)  # each pixel's column, the tilt undone
        return _Straightened(mask, down - down.min(), yy)
    across = yy - np.round(slope * xx).astype(np.int64)  # each pixel's row, the tilt undone
    return _Straightened(mask, across - across.min(), xx)


def _with_bits(mask, erase):
    """`erase` and what the lines leave of the blob in bits (a tilted line's stair steps, a corner);
    a digit touching a side leaves itself."""
    h, w = mask.shape
    left = components.label(mask & ~erase)
    sides = left.boxes[:, 2:] - left.boxes[:, :2]
    bits = (sides.max(axis=1) < FRAGMENT * min(h, w)) | (sides.min(axis=1) <= SLIVER)
    return erase | np.concatenate([[False], bits])[left.labels]


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
        for `side`; None unless the blob's outermost rows both are lines."""
        found = self.bands(length, side)
        if len(found) < 2:
            return None
        first, last = self.outer(length)
        return found if found[0][0] <= first + OUTER and found[-1][1] >= last + 1 - OUTER else None

    def bands(self, length, side):
        """Every line's (start, end) rows, as `lines` finds them, whether or not the outermost are."""
        # A thin line straightened in whole pixels steps a row where the tilt rounds the other way:
        # it runs unbroken through a row and the next.
        paired = self.grid.copy()
        paired[:-1] |= self.grid[1:]
        longest = _longest_runs(paired)
        found = []
        for start, end in spans(longest >= LINE * length):
            if end - start > max(THIN * side, 2):
                continue  # a thick bar: a digit's stroke along the side, no printed line
            # A row either side holds the line's stair steps where the tilt is undone in whole pixels
            # (the pairing put the one above in already); one more, inked along EDGE of the length,
            # its blurred edge (more would be writing).
            end = min(end + 1, len(longest))
            start -= start > 0 and longest[start - 1] >= EDGE * length
            end += end < len(longest) and longest[end] >= EDGE * length
            found.append((int(start), int(end)))
        return found

    def outer(self, length):
        """The first and last rows inked along EDGE of `length`: a stroke out through a side is not one."""
        inked = np.flatnonzero(self.grid.sum(axis=1) >= EDGE * length)
        return int(inked[0]), int(inked[-1])

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


def _writing_on(found, label, mask, lines):
    """Whether writing stands on the line of blob `label`: the blob's own ink off its lines, STANDING
    of the line's ink or more (a pen's straight stroke with a hook at its end, a 1 written flat, is
    no line with writing on it), or another blob over the line, half MIN_BOX tall or more (a speck
    is not), its foot nearer the line than its height. `mask`: the blob's, in its box."""
    off = int((mask & ~lines).sum())
    if off >= max(MIN_BOX, STANDING * int(lines.sum())):
        return True
    x0, y0, x1, y1 = found.boxes[label - 1]
    b = found.boxes
    over = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 3] <= y1)
    tall = b[:, 3] - b[:, 1]
    near = (y1 - b[:, 3]) <= tall
    over[label - 1] = False
    return bool((over & near & (tall >= MIN_BOX / 2)).any())


def _holds_writing(found, label, mask, lines):
    """Whether there is ink inside the box of blob `label` besides its lines: another blob within it,
    or the blob's own ink off its lines (a digit touching a side). `mask`: the blob's, in its box."""
    if (mask & ~lines).sum() >= MIN_BOX:
        return True
    x0, y0, x1, y1 = found.boxes[label - 1]
    others = np.delete(found.boxes, label - 1, axis=0)
    inside = (others[:, 0] >= x0) & (others[:, 1] >= y0) & (others[:, 2] <= x1) & (others[:, 3] <= y1)
    tall = (others[:, 3] - others[:, 1]) >= WRITING * (y1 - y0)
    return bool((inside & tall).any())
