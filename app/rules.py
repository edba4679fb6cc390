"""The printed lines of ruled and squared paper, found and erased from a picture's ink map.

A photo of a number written in a notebook holds the paper's lines as well as the digits; as ink they
join the digits into one blob or cross them (a 4 on ruled paper read "848", an 8 on squared paper read
as no digit). A set of lines is taken for the paper's when at least MIN_LINES of them cross the whole
picture (each row of them inked along COVER of its width or more), thin for their spacing and evenly
spaced, as printed rulings are and a digit's strokes are not (a long stroke among them is left out);
a slight tilt of the photo (up to MAX_TILT degrees) is searched, and once the ruling is known, fainter
lines in its places (uneven light, the picture's edge) count too. The lines are erased except where
writing crosses them (ink just beyond the line on both sides that is no line itself) or runs along
them far darker than they are, so the digits keep their strokes. On a ruled page, a margin line down
the whole picture goes with the ruling. Pure numpy; a picture without such lines comes back unchanged.
"""

import math

import numpy as np

from app import components
from app.raster import grown, spans

COVER = 0.6  # share of a row's width that must be ink for the row to lie on a line
FAINT = 0.2  # once a ruling is found, a row inked along this share of the width at its place is a line
MIN_LINES = 3  # fewer lines could be a digit's own bars (a 5's, a tight 3's)
THIN = 0.25  # a line is at most this share of the spacing thick
EVEN = 0.2  # lines lie within this share of their spacing of an even lattice
MAX_TILT = 2.0  # degrees either way a photo's lines may be tilted
TILT_STEP = 0.25  # a line 560 px long is then at most 1.2 px off level once straightened
JOIN = 2  # rows: runs of line-like rows this close are one line
EDGE = 2  # pixels around a crossing of two lines where writing makes it writing's
CHUNK = 96  # columns over which a line's cross-section is measured: its light and course change slowly
DARKER = 2.0  # ink this many times the line's own level, along it, is writing: kept
MARGIN_COVER = 0.9  # a ruled page's margin line runs along this share of the picture's height ...
MAX_MARGINS = 2  # ... and a page has one, or two side by side
SQUARE = 1.25  # squared paper's upright lines are spaced as its level ones, within this factor (a tilt, a lens)
MIN_SIDE = 48  # narrower pictures (a digit cropped to its box, MNIST) have no paper around the digit
TILTS = tuple(sorted(np.arange(-MAX_TILT, MAX_TILT + 1e-9, TILT_STEP), key=abs))  # searched level first


def remove_rules(ink, threshold):
    """`ink` (float (H, W), ink > 0 on 0) with ruled or squared paper's lines erased; `ink` itself when
    it holds none. `threshold`: the ink level that counts as ink.

    Upright lines go only with level ones (squared paper): a tightly cropped "1111" or "00" has
    upright strokes as long, straight and evenly spaced as a ruling's, and no level line does."""
    level = _find(ink)
    if level is None:
        return ink
    upright = _find(ink.T)
    if upright is not None and not _squares(level, upright):
        upright = None  # a tall digit's upright strokes, evenly spaced by chance: no ruling
    margin = upright is None
    if margin:
        upright = _margin(ink, level)
    bands = level.band
    if upright is not None:
        bands = bands | upright.band.T
    inked = ink > threshold
    writing = inked & ~bands  # what crosses a line is judged without the other lines
    erased = level.erase(ink, writing)
    if upright is not None:
        erased |= upright.erase(ink.T, writing.T, straight=not margin).T
        # Where lines cross, neither sees writing beyond it (the other line is there): a crossing
        # that writing touches is writing's, the others are the paper's.
        both = level.band & upright.band.T
        found = components.label(both)
        touched = np.unique(found.labels[both & grown(writing, EDGE)])
        erased &= ~np.isin(found.labels, touched[touched > 0])
    if not (inked & ~erased).any():  # nothing but lines: no paper around writing
        return ink
    out = ink.copy()
    out[erased] = 0.0
    return out


def _squares(level, upright):
    """True when `upright` lines are spaced as the `level` ones are, within SQUARE of it: squared paper's
    cells are square. A digit as tall as the photo has upright strokes that reach across it too, and
    two or three of them could lie on some lattice of their own (an 8's two sides, its crossing)."""
    ratio = _spacing(upright) / _spacing(level)
    return 1 / SQUARE <= ratio <= SQUARE


def _spacing(lines):
    """The median distance between neighbouring lines of a _Lines."""
    return float(np.median(np.diff([(top + bottom) / 2 for top, bottom in lines.lines])))


class _Lines:
    """An ink map's rows straightened for one tilt (`shift` per column), and once `place`d, the level
    lines found there: `lines` as (top, bottom) rows of the sheared map, `band` the map's pixels on them."""

    def __init__(self, shape, shift):
        h, w = shape
        self.rows = np.arange(h)[:, None] + shift[None, :]  # the sheared row of every pixel
        self.cols = np.broadcast_to(np.arange(w), (h, w))
        self.height = h + int(np.ptp(shift)) + 1
        self.lines, self.band = [], None

    def place(self, lines):
        """These lines, `self`."""
        on = np.zeros(self.height, bool)
        for top, bottom in lines:
            on[top:bottom] = True
        self.lines, self.band = lines, on[self.rows]
        return self

    def shear(self, a):
        out = np.zeros((self.height, a.shape[1]), a.dtype)
        out[self.rows, self.cols] = a
        return out

    def erase(self, ink, writing, straight=True):
        """The pixels of the lines to erase: all but where `writing` crosses or ink far darker runs.
        `straight`: a ruling's lines lie straight along their rows, and ink beside a line's course is
        kept (_cross_section); a margin line may be a tall 1 the whole of its band (see `_margin`)."""
        sheared, crossing = self.shear(ink), self.shear(writing)
        w = ink.shape[1]
        erase = np.zeros(sheared.shape, bool)
        paper = np.zeros(w, bool)  # beyond the picture's edge nothing crosses a line
        for top, bottom in self.lines:
            above = crossing[top - 1] if top >= 1 else paper
            crossed = above | (crossing[bottom] if bottom < self.height else paper)
            crossed[1:] |= crossed[:-1].copy()  # a stroke's edge pixel beside the crossing stays too
            crossed[:-1] |= crossed[1:].copy()
            band = sheared[top:bottom]
            if straight:
                level = _cross_section(band)
            else:  # the line's own ink, at its core, where the light on it is strongest but for a fifth
                level = float(np.percentile(band.max(axis=0), 80))
            erase[top:bottom] |= ~crossed & (band <= DARKER * level)
        return erase[self.rows, self.cols]


def _cross_section(band):
    """The line's own ink at each pixel of `band` (its rows of the straightened map): per CHUNK columns,
    each row's median over the columns the line is in, the most of it and its neighbour rows (the line
    wanders by a pixel). A line's blur reaches a few rows either side of its core, faintly: a thin stroke
    running along it there is far darker than the line is, and kept."""
    rows, w = band.shape
    chunks = -(-w // CHUNK)
    parts = np.full((rows, chunks * CHUNK), np.nan, np.float32)
    parts[:, :w] = band
    parts = parts.reshape(rows, chunks, CHUNK)
    parts[:, ~(parts > 0).any(axis=0)] = np.nan  # beyond the picture's edge a tilted line is not
    parts.sort(axis=2)  # NaN last: the median of each row's present columns, chunk by chunk
    present = (~np.isnan(parts[0])).sum(axis=1)  # (chunks,)
    lo, hi = np.maximum(present - 1, 0) // 2, np.maximum(present, 1) // 2
    middle = [np.take_along_axis(parts, k[None, :, None], 2)[..., 0] for k in (lo, hi)]
    level = (middle[0] + middle[1]) / 2
    level = np.where(present > 0, np.nan_to_num(level), 0).astype(band.dtype)  # (rows, chunks)
    near = level.copy()
    near[1:] = np.maximum(near[1:], level[:-1])
    near[:-1] = np.maximum(near[:-1], level[1:])
    return np.repeat(near, CHUNK, axis=1)[:, :w]


def _find(ink):
    """The paper's level lines in `ink` (a _Lines), or None."""
    h, w = ink.shape
    if min(h, w) < MIN_SIDE:
        return None
    # Found by any ink at all: a light line, blurred, falls below the ink threshold along stretches,
    # which would otherwise be left behind as dashes and dots.
    ys, xs = np.nonzero(ink > 0)
    if len(ys) < MIN_LINES * COVER * w:
        return None
    best = _straightest(ys, xs, h, w)
    if best is None:
        return None
    _, _, shift, runs, cover = best
    straight = _Lines(ink.shape, shift)
    lines = _ruling(straight.shear(ink > 0), runs, cover)
    return straight.place(lines) if lines else None


def _margin(ink, level):
    """A ruled page's margin (one or two upright lines inked along MARGIN_COVER of its height, thin for
    the ruling's spacing) as a _Lines of `ink.T`, or None. A notebook's red margin line is as dark as
    the pen in grey and read as a "1" beside every digit; a digit's stroke crosses the ruled lines
    but reaches across the whole picture only when cropped to it, and then it is no ruled page.

    Each tilt is judged by its thin lines alone: a big digit's thick strokes reach from top to bottom
    too, and straightened best at their own tilt they hid the margin line, then read as a 1 beside it."""
    upright = ink.T > 0
    h, w = upright.shape
    ys, xs = np.nonzero(upright)
    centres = [(top + bottom) / 2 for top, bottom in level.lines]
    limit = int(THIN * float(np.median(np.diff(centres))))
    best = None
    for tilt in TILTS:
        _, _, shift, runs, cover = _straightened(ys, xs, h, w, tilt, MARGIN_COVER, 1)
        lines, sharp = [], 0.0
        for top, bottom in runs:
            peak = top + int(np.argmax(cover[top:bottom]))
            lo, hi = max(peak - limit, 0), min(peak + limit + 1, len(cover))
            t = math.ceil(_thickness(_sheared_rows(upright, shift, lo, hi), peak - lo, limit))
            if 0 < t <= limit:
                lines.append((max(peak - t, 0), peak + t + 1))
                sharp += float(np.sum(np.square(cover[max(peak - t, 0) : peak + t + 1])))
        if 0 < len(lines) <= MAX_MARGINS and (best is None or sharp > best[0]):
            best = (sharp, shift, lines)
    return _Lines(upright.shape, best[1]).place(best[2]) if best is not None else None


def _sheared_rows(mask, shift, lo, hi):
    """Rows lo..hi-1 of `mask` straightened by `shift` (those of _Lines.shear), without the rest of it."""
    rows = np.arange(lo, hi)[:, None] - shift[None, :]
    inside = (rows >= 0) & (rows < mask.shape[0])
    out = np.zeros(rows.shape, bool)
    out[inside] = mask[rows[inside], np.broadcast_to(np.arange(mask.shape[1]), rows.shape)[inside]]
    return out


def _straightest(ys, xs, h, w, along=COVER, least=MIN_LINES):
    """`_straightened` at the tilt that inks the lines' rows most sharply, or None when none has `least`
    lines. The lines' own tilt does; a near one may pass `along` too. Level first on ties, then halfway
    to the best one's neighbours: a long line is straightened to within a pixel."""
    best = max((_straightened(ys, xs, h, w, t, along, least) for t in TILTS), key=lambda c: c[0])
    if best[0] == 0.0:
        return None
    near = [_straightened(ys, xs, h, w, best[1] + d, along, least) for d in (-TILT_STEP / 2, TILT_STEP / 2)]
    return max([best] + near, key=lambda c: c[0])


def _straightened(ys, xs, h, w, tilt, along=COVER, least=MIN_LINES):
    """(how sharply the rows that may be lines are inked, tilt, shift, those rows' runs, row coverage)
    of the ink at (ys, xs) with `tilt` undone; rows inked along `along` of the width may be lines, and
    fewer than `least` of them are none."""
    shift = _shifts(w, tilt)
    cover = _cover(np.bincount(ys + shift[xs], minlength=h + int(np.ptp(shift)) + 1), shift, h)
    runs = _joined(spans(cover >= along))
    # Squared coverage: a line straightened exactly inks few rows fully, one nearly so smears over more
    # rows partly (and may break into several runs, so counting runs or their peaks would prefer it).
    sharp = float(np.sum(np.square(cover[cover >= along]))) if len(runs) >= least else 0.0
    return sharp, tilt, shift, runs, cover


def _shifts(width, tilt):
    """Per column, how many rows a line tilted by `tilt` degrees has moved there (made >= 0)."""
    shift = np.round(np.arange(width) * math.tan(math.radians(tilt))).astype(np.int64)
    return shift - shift.min()


def _cover(inked, shift, h):
    """Per sheared row, the share of its pixels inside the picture that are ink (0 where fewer than a
    quarter of the columns are inside): a tilted line that leaves the picture still counts."""
    inside = np.zeros(len(inked) + 1, np.int64)
    np.add.at(inside, shift, 1)
    np.add.at(inside, shift + h, -1)
    inside = np.cumsum(inside)[: len(inked)]
    return np.where(inside >= len(shift) / 4, inked / np.maximum(inside, 1), 0.0)


def _joined(runs):
    """`runs` with those JOIN rows or fewer apart made one: a thick line straightened at a tilt near its
    own dips under the coverage for a row, and its two halves are no two lines (a form's box's top
    line so split made three with its bottom one, and the box's level lines went as a ruling's)."""
    if len(runs) < 2:
        return runs
    apart = np.concatenate([[True], runs[1:, 0] - runs[:-1, 1] > JOIN])
    group = np.cumsum(apart) - 1
    joined = np.zeros((int(group[-1]) + 1, 2), runs.dtype)
    joined[:, 0] = runs[apart, 0]
    np.maximum.at(joined[:, 1], group, runs[:, 1])
    return joined


def _ruling(sheared, runs, cover):
    """The rows (top, bottom) of the lines among `runs` (of rows inked along COVER of the width) that
    are a ruling: thin for their spacing and evenly spaced (a long stroke of a digit among them is
    left out); [] when fewer than MIN_LINES are. A run is placed by its fullest row, so a line that a
    digit beside it widens stays where it is, and spans its own thickness either side of it."""
    peaks = np.array([top + int(np.argmax(cover[top:bottom])) for top, bottom in runs])
    spacing = float(np.median(np.diff(peaks)))
    limit = int(THIN * spacing)
    thickness = np.array([_thickness(sheared, p, limit) for p in peaks])
    thin = thickness <= limit
    best = np.zeros(len(runs), bool)
    for anchor in peaks[thin]:  # the lattice through each thin run; the one most runs lie on
        steps = (peaks - anchor) / spacing
        on_it = thin & (np.abs(steps - np.round(steps)) <= EVEN)
        if on_it.sum() > best.sum():
            best = on_it
    if best.sum() < MIN_LINES:
        return []
    # The lattice's other places: lines fainter there (uneven light) or cut short by the picture's edge.
    on = peaks[best]
    places = np.round((on - on[0]) / spacing)  # lines a few pixels apart can share one place
    step = float(np.polyfit(places, on, 1)[0]) if np.ptp(places) > 0 else spacing
    lines = dict(zip(on.tolist(), thickness[best].tolist()))
    window = int(EVEN * step)
    for k in range(-int(on[0] / step) - 1, int((len(cover) - on[0]) / step) + 2):
        guess = int(round(on[0] + k * step))
        lo, hi = max(guess - window, 0), min(guess + window + 1, len(cover))
        if lo >= hi or any(lo <= p < hi for p in lines):
            continue
        peak = lo + int(np.argmax(cover[lo:hi]))
        if cover[peak] >= FAINT:
            t = _thickness(sheared, peak, limit)
            if 0 < t <= limit:
                lines[peak] = t
    return [(max(int(p - t), 0), int(p + t) + 1) for p, t in sorted((p, math.ceil(t)) for p, t in lines.items())]


def _thickness(sheared, row, limit):
    """The height of the ink through `row` along the quarter of its length where it is thinnest (a
    digit may lie along the rest), counted up to 2 * limit + 1: a line seen at a tilt near its own
    still measures its real thickness, a thick bar its own."""
    inked = sheared[row]
    height = inked.astype(np.int64)
    for step in (-1, 1):
        going = inked.copy()
        for k in range(1, limit + 1):
            r = row + step * k
            if not 0 <= r < len(sheared):
                break
            going &= sheared[r]
            height += going
    return float(np.percentile(height[inked], 25)) if inked.any() else 0.0
