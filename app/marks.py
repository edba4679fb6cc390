"""Marks a person draws round a number on paper, found and erased: a ring round it (a circle, or a box
drawn by hand) and a line drawn under it; and the same drawn on the canvas, set aside from its strokes.

Read as ink, a ring swallows what it holds (a circled "482" read "0") and a line under a number joins
the digits that touch it into one blob. A blob is taken for a ring when it has holes, a thin stroke, and,
peeled of its own stroke (the first ink met from outside along rays from its middle), holds writing
that is not all its own ink: a slashed 0's slash, an 8's crossing and the insides of touching digits
are a digit's own, a circled number stands apart from its ring in one place at least, or, where every
digit touches it, what it encloses is one convex shape wider than tall holding a number's ink. A blob is taken
for a line drawn under writing when its bottom follows one smooth, thin curve along its whole width,
LONG times as long as the writing over it is tall, with that writing standing on it (its own ink, or
blobs just above it) and none under it. Unlike a form's printed lines (app.boxes), these wobble. Pure numpy.
"""

import math

import numpy as np

from app import components
from app.raster import component_mask, erased, grown, row_runs, stroke_width

MIN_MARK = 24  # px: a ring or a line shorter than this marks nothing readable
MAX_MARKS = 20  # the biggest blobs looked at (a ring or a line is the biggest thing about its number)
HOLLOW = 0.3  # a ring's holes are at least this share of what it encloses
THIN_RING = 0.25  # a ring's stroke is at most this share of its shorter side wide
WRITING = 0.25  # what a ring holds is writing when this share of the ring's height tall (a speck is not)
STRAIGHT = 1.3  # one stroke whose ink is at most this many times its box's diagonal times its width is straight
LONG = 1.5  # a line under writing is at least this many times as long as the writing over it is tall
COVER = 0.85  # share of the blob's columns whose bottom lies on the line
BEND = 0.05  # the line's curve strays at most this share of its length from its chord
TOLERANCE = 3.0  # px: how far off the curve a column's bottom may lie (the hand's wobble), at least
STANDING = 0.25  # the blob's own ink off the line is writing when this share of the line's ink
CLOSED = 0.15  # a ring drawn on the canvas ends within this share of its longer side of where it began
REACH = 0.1  # ... and a slash reaches it: an end this share of the ring's shorter side from it, or 2 pens
FLAT = 0.25  # a line drawn on the canvas is at most this share of its length tall
# A ring every digit inside touches holds no writing apart from it. It is one still where what it
# encloses is one convex shape (a digit pair's humps, "00", are not: their rows hold two runs) wider than
# tall (a 0, an 8 are not), and the writing peeled of it weighs as much as a number (a 0's slash does not).
CONVEX = 0.9  # share of the enclosed shape's rows, and of its columns, that are one run
HELD = 0.35  # ink of the writing it holds against the ring's own
TOUCHED_HOLLOW = 0.2  # its holes' share of what it encloses (less than HOLLOW: the digits fill it)
HALF = 0.5  # share of the line's band, from its bottom, erased under a digit resting on it
CRUMB = 2.0  # pens: a blob the erasing of a mark left this long or shorter, touching it, is a crumb of it


def remove_marks(ink, found, threshold):
    """(`ink`, `found`) with hand-drawn rings and lines under writing erased and the ink labelled again;
    the arguments themselves when there are none. `found` is the labelling of `ink > threshold`."""
    b = found.boxes
    sides = b[:, 2:] - b[:, :2]
    big = np.flatnonzero(sides.max(axis=1) >= MIN_MARK)
    big = big[np.argsort(-(sides[big, 0] * sides[big, 1]), kind="stable")][:MAX_MARKS]
    erase = np.zeros(ink.shape, bool)
    pen = 0.0
    for index in big:
        # Cheap first: a ring holds another blob within its box, or every digit touches it and it is
        # wider than tall; a line under writing is about as long as the writing on it is tall, which is
        # most digits' own height.
        holds = ((b[:, :2] >= b[index, :2]) & (b[:, 2:] <= b[index, 2:])).all(axis=1).sum() > 1
        wide = sides[index, 0] > sides[index, 1]
        mark = _ring(found, index) if holds or wide else None
        if mark is None and sides[index, 0] >= 0.9 * sides[index, 1]:
            mark = _underline(found, index)
        if mark is not None:
            x0, y0, x1, y1 = found.boxes[index]
            erase[y0:y1, x0:x1] |= mark
            pen = max(pen, stroke_width(mark))
    if not erase.any():
        return ink, found
    ink, found = erased(ink, erase, threshold)
    return _without_crumbs(ink, found, erase, pen, threshold)


def _without_crumbs(ink, found, erase, pen, threshold):
    """(`ink`, `found`) without the crumbs a mark's erasing left: blobs at most CRUMB pens long that
    touched it (the wobble of its stroke, the tip of a digit cut where it ran along it), which would
    read as decimal points or stray marks. A point written apart from the mark is kept."""
    sides = (found.boxes[:, 2:] - found.boxes[:, :2]).max(axis=1)
    small = np.flatnonzero(sides <= CRUMB * pen)
    if not len(small):
        return ink, found
    near = grown(erase, 2)
    crumbs = [i for i in small if (near[found.boxes[i, 1]:found.boxes[i, 3], found.boxes[i, 0]:found.boxes[i, 2]]
                                   & component_mask(found, i)).any()]
    if not crumbs:
        return ink, found
    return erased(ink, np.isin(found.labels, np.array(crumbs) + 1), threshold)


def _ring(found, index):
    """The pixels (in the blob's box) of blob `index`'s ring to erase, or None when it is none."""
    mask = component_mask(found, index)
    h, w = mask.shape
    if min(h, w) < MIN_MARK:
        return None
    outside = _outside(mask)
    filled = ~outside
    holes = filled & ~mask
    hollow = holes.sum() / filled.sum()
    if hollow < TOUCHED_HOLLOW:
        return None  # most digits: cheaper to tell here than by the band
    pen = stroke_width(mask)
    if pen > THIN_RING * min(h, w):
        return None
    band = _band(mask, filled)
    x0, y0, x1, y1 = found.boxes[index]
    inside = found.labels[y0:y1, x0:x1]
    others = holes & (inside > 0) & (inside != index + 1)
    pieces = components.label((mask & ~band) | others)
    tall = np.flatnonzero((pieces.boxes[:, 3] - pieces.boxes[:, 1]) >= WRITING * h)
    writing = np.isin(pieces.labels, tall + 1)
    apart = (writing & others).any()
    if not (apart and hollow >= HOLLOW or not apart and _touched_ring(filled, band, pieces, tall, pen)):
        # All it holds is its own ink, and no number touching its ring all round: a digit's (a slashed
        # 0's slash, an 8's crossing, two 0s touching, a touching number's insides).
        return None
    return band


def _touched_ring(filled, band, pieces, tall, pen):
    """Whether a blob whose writing (`tall` of `pieces`) all touches its ring (`band`) is a ring still:
    what it encloses (`filled`) is one convex shape wider than tall, and the writing weighs HELD of the
    ring or more and is not one straight stroke (a wide 0's slash)."""
    h, w = filled.shape
    if w <= h or pieces.mass[tall].sum() < HELD * band.sum():
        return False
    if len(tall) == 1:
        x0, y0, x1, y1 = pieces.boxes[tall[0]]
        if pieces.mass[tall[0]] <= STRAIGHT * math.hypot(x1 - x0, y1 - y0) * pen:
            return False
    return all((row_runs(runs) <= 1).mean() >= CONVEX for runs in (filled, filled.T))


def _band(mask, filled):
    """The ring's own stroke: along each ray from the middle of `filled` in, the first run of ink met
    from outside, cut where a stroke as wide as the ring's would end (its width across the stroke,
    the median over the turn, over the cosine of the ray's angle to the ring's normal there), so a
    digit touching the ring from inside keeps the ink it adds to it."""
    h, w = mask.shape
    ys, xs = np.nonzero(filled)
    radius = math.hypot(h, w) / 2 + 2
    angles = np.linspace(0, 2 * np.pi, int(np.clip(2 * np.pi * radius, 64, 4096)), endpoint=False)
    steps = np.arange(radius, -0.5, -1.0)  # outside in
    yy = np.rint(ys.mean() + np.sin(angles)[:, None] * steps).astype(np.int64)
    xx = np.rint(xs.mean() + np.cos(angles)[:, None] * steps).astype(np.int64)
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    ink = np.zeros(yy.shape, bool)
    ink[inside] = mask[yy[inside], xx[inside]]
    start = np.argmax(ink, axis=1)
    at = np.arange(len(steps))
    beyond = ~ink & (at >= start[:, None])
    run = np.where(beyond.any(axis=1), np.argmax(beyond, axis=1), len(steps)) - start
    run[~ink.any(axis=1)] = 0
    # A ray crosses a stroke one pen wide in 1 / cos of its angle to the normal: from the slope of the
    # ring's outer edge (smoothed, so a pixel's rounding is no slope), as in polar coordinates.
    outer = radius - start.astype(np.float64)
    k = max(1, len(angles) // 64)
    edge = np.median(np.lib.stride_tricks.sliding_window_view(np.concatenate([outer[-k:], outer, outer[:k]]),
                                                              2 * k + 1), axis=1)
    slope = (np.roll(edge, -1) - np.roll(edge, 1)) / (2 * (angles[1] - angles[0]))
    across = np.sqrt(1 + (slope / np.maximum(edge, 1.0)) ** 2)
    # The ring's width: the median over the whole turn, which the digits touching it along a good share
    # of it do not move as they moved the median over an eighth of a turn this used before (training
    # writers' circled numbers in pictures: 73.0 -> 83.7 % and 71.0 -> 81.3 % read, 2 x 300).
    crossed = run > 0
    width = float(np.median(run[crossed] / across[crossed])) if crossed.any() else 0.0
    cut = np.minimum(run, np.ceil(width * across))
    on = (at >= start[:, None]) & (at < (start + cut)[:, None]) & inside
    band = np.zeros_like(mask)
    band[yy[on], xx[on]] = True
    # The rays' pixels leave pinholes in the band: closed over one pixel.
    return mask & ~grown(~grown(band, 1), 1)


def _outside(mask):
    """The pixels of `mask`'s box outside it: the background reaching the box's edge."""
    padded = np.pad(~mask, 1, constant_values=True)
    around = components.label(padded)
    return (around.labels == around.labels[0, 0])[1:-1, 1:-1]


def _underline(found, index):
    """The pixels (in the blob's box) of a line drawn under writing along blob `index`'s bottom, or None."""
    mask = component_mask(found, index)
    h, w = mask.shape
    if w < MIN_MARK:
        return None
    bottom = h - 1 - np.argmax(mask[::-1], axis=0)
    curve = _smooth_curve(bottom)
    if curve is None:
        return None
    rows = np.arange(h)[:, None]
    # Each column's bottom run: the line where the column holds only it, the line and a stroke joining it
    # where one does; the line's thickness is the usual run's.
    above = ~mask & (rows < bottom)
    top = np.where(above.any(axis=0), h - 1 - np.argmax(above[::-1], axis=0), -1) + 1
    run = bottom - top + 1
    thick = float(np.median(run))
    near = np.abs(bottom - curve) <= TOLERANCE
    foot = np.where(near, bottom, curve)
    line = mask & (rows >= foot - thick - 1) & (rows <= foot + TOLERANCE)
    off = mask & ~line
    contact = np.zeros(w, bool)
    from_corner = False
    if off.sum() >= STANDING * line.sum():  # writing joins the line: its own ink stands on it
        pen = stroke_width(mask)
        contact = (off & grown(line, 1)).any(axis=0)
        from_corner = np.argmax(contact) <= max(2.0, pen / 2)
        # Where a digit rests on the line its stroke's foot lies in the line's upper half: that half
        # stays under it, the lower half goes (kept whole, it read as a foot: a 0 on it as a 6).
        contact = grown(contact[None, :], math.ceil(pen / 2))[0]
    else:
        off = np.zeros_like(off)
    standing = _standing(found, index, off, line, thick)
    if not standing or thick > 0.5 * max(standing):
        return None
    # Drawn on from a digit's corner it may be that digit's base (a 2's), unless several pieces stand on it
    # and it is LONG times as long as they are tall: a line drawn under a number from its left edge
    # (training writers' underlined numbers in pictures: 81.0 -> 84.0 % and 83.0 -> 85.0 % read, 2 x 300).
    if from_corner and len(standing) == 1:
        return None
    # A number over it (two pieces or more) is often shorter than a 2 with a long base is wide.
    if w < (LONG if len(standing) == 1 or from_corner else 1.0) * max(standing):
        return None
    # Under one digit alone it may be its own base run long (a 2's): there the band stays whole.
    if len(standing) > 1:
        contact = contact & (rows < foot - HALF * thick)
    return line & ~contact


def _smooth_curve(bottom):
    """Per column, the row of the smooth curve (a parabola bending at most BEND) along which COVER of
    `bottom` lies within TOLERANCE; None when there is none."""
    at = np.arange(len(bottom), dtype=np.float64)
    fit = np.polyfit(at, bottom, 2)
    for _ in range(3):
        near = np.abs(bottom - np.polyval(fit, at)) <= TOLERANCE
        if near.mean() < COVER or near.sum() < 3:
            return None
        fit = np.polyfit(at[near], bottom[near], 2)
    curve = np.polyval(fit, at)
    chord = np.linspace(curve[0], curve[-1], len(at))
    if np.abs(curve - chord).max() > BEND * len(at):
        return None
    return curve


def _standing(found, index, off, line, thick):
    """The heights of the pieces of writing standing on blob `index`'s line (`thick` px), MIN_MARK / 2
    tall or more: its own ink off the line (`off`) and other blobs just over it. None when there is
    writing under the line too (a fraction's bar)."""
    x0, y0, x1, y1 = found.boxes[index]
    b = found.boxes
    tall = b[:, 3] - b[:, 1]
    overlap = np.minimum(b[:, 2], x1) - np.maximum(b[:, 0], x0)
    top = y0 + int(np.flatnonzero(line.any(axis=1))[0])
    over = (overlap >= 0.5 * (b[:, 2] - b[:, 0])) & (b[:, 3] <= y1) & (b[:, 1] < y1 - 2 * thick)
    over &= (top - b[:, 3] <= tall) & (tall >= MIN_MARK / 2)
    under = (overlap > 0) & (b[:, 1] >= y1) & (b[:, 1] - y1 <= tall) & (tall >= MIN_MARK / 2)
    under &= (b[:, 2] - b[:, 0]) < 3 * tall  # a second line drawn under it is no writing
    over[index] = under[index] = False
    if under.any():
        return None
    heights = list(y1 - b[over, 1])
    if off.any():
        own = components.label(off)
        heights += [y1 - y0 - t for t in own.boxes[:, 1][(own.boxes[:, 3] - own.boxes[:, 1]) >= MIN_MARK / 2]]
    return [float(height) for height in heights]


def marking_strokes(strokes):
    """Indices of the canvas strokes (app.strokes.Stroke) that mark the writing rather than write it: a
    closed stroke drawn round others (the same rules as a picture's ring) or a flat one drawn under them."""
    if len(strokes) < 2:
        return set()
    boxes = [s.box for s in strokes]  # plain floats first: read live as the pen moves, mostly no mark

    def holds(i):
        x0, y0, x1, y1 = boxes[i]
        return any(j != i and b[0] >= x0 and b[1] >= y0 and b[2] <= x1 and b[3] <= y1
                   for j, b in enumerate(boxes))

    sizes = [(b[2] - b[0], b[3] - b[1]) for b in boxes]
    rings = [i for i, (w, h) in enumerate(sizes) if min(w, h) >= MIN_MARK and holds(i)]
    lines = [i for i, (w, h) in enumerate(sizes) if w >= MIN_MARK and h <= FLAT * w]
    if not rings and not lines:
        return set()
    array = np.array(boxes, np.float64)
    big = sorted(set(rings) | set(lines), key=lambda i: -sizes[i][0] * sizes[i][1])[:MAX_MARKS]
    return {i for i in big
            if (i in rings and _ring_stroke(strokes, array, i)) or (i in lines and _line_stroke(array, i))}


def _ring_stroke(strokes, boxes, i):
    """Whether stroke `i` is a ring: closed, holding writing, which is not one straight stroke reaching it."""
    ring = strokes[i].points
    x0, y0, x1, y1 = boxes[i]
    if min(x1 - x0, y1 - y0) < MIN_MARK or _gap(ring) > CLOSED * max(x1 - x0, y1 - y0):
        return False
    inside = (boxes[:, 0] >= x0) & (boxes[:, 1] >= y0) & (boxes[:, 2] <= x1) & (boxes[:, 3] <= y1)
    inside[i] = False
    # Within its box is not enough: a neighbour overlapping a 0 is, too. Within the ring, every point.
    held = [j for j in np.flatnonzero(inside) if _within(strokes[j].points, ring).all()]
    if not ((boxes[held, 3] - boxes[held, 1]) >= WRITING * (y1 - y0)).any():
        return False
    if len(held) == 1:
        path = strokes[held[0]].points
        length = np.hypot(*np.diff(path, axis=0).T).sum()
        chord = np.hypot(*(path[-1] - path[0]))
        reach = max(2 * strokes[i].width, REACH * min(x1 - x0, y1 - y0))
        ends = np.hypot(*(ring[:, None, :] - path[[0, -1]][None]).transpose(2, 0, 1)).min(axis=0)
        if length <= STRAIGHT * max(chord, 1e-9) and (ends <= reach).any():
            return False  # a slashed zero
    return True


def _gap(path):
    """How far the end of `path` stops from its first half, or its start from its second (a ring drawn
    past where it began ends on itself, not at its start)."""
    half = len(path) // 2
    return min(np.hypot(*(path[:half] - path[-1]).T).min(initial=np.inf),
               np.hypot(*(path[half:] - path[0]).T).min(initial=np.inf))


def _within(points, ring):
    """Whether each of `points` lies inside the closed polygon `ring` (even-odd rule)."""
    a, b = ring, np.roll(ring, -1, axis=0)
    x, y = points[:, :1], points[:, 1:]
    spans = (a[:, 1] > y) != (b[:, 1] > y)
    at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / np.where(a[:, 1] == b[:, 1], 1e-12, b[:, 1] - a[:, 1])
    return (spans & (x < at)).sum(axis=1) % 2 == 1


def _line_stroke(boxes, i):
    """Whether stroke `i` is a line drawn under writing: flat, LONG times as long as the writing over
    it is tall (as long, when that writing is wider than tall: a number), with none under it."""
    x0, y0, x1, y1 = boxes[i]
    w, h = x1 - x0, y1 - y0
    if h > FLAT * w:
        return False
    b = boxes
    tall = b[:, 3] - b[:, 1]
    overlap = np.minimum(b[:, 2], x1) - np.maximum(b[:, 0], x0)
    flat = tall <= FLAT * (b[:, 2] - b[:, 0])
    over = (overlap >= 0.5 * (b[:, 2] - b[:, 0])) & (b[:, 3] <= y1) & (b[:, 1] < y0) & ~flat
    over &= (y0 - b[:, 3]) <= tall
    under = (overlap > 0) & (b[:, 1] >= (y0 + y1) / 2) & (b[:, 1] - y1 <= tall) & ~flat
    over[i] = under[i] = False
    if not over.any() or under.any():
        return False
    writing = b[over, 0].min(), b[over, 1].min(), b[over, 2].max(), b[over, 3].max()
    height = (y0 + y1) / 2 - writing[1]
    return bool(w >= (1.0 if writing[2] - writing[0] >= writing[3] - writing[1] else LONG) * height)
