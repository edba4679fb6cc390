"""Split touching digits by recognition: candidate cuts, one batched model run, dynamic programming.

A piece of ink wider than a digit of its line usually is may hold several touching digits.
Candidate cuts start at valleys of its column profile and at even spacings, and each is a straight
line through its start, upright or leaning as handwriting does (SLANTS), so that neighbours whose
boxes overlap are still parted. Every span between two cuts that could be one digit is centred MNIST-style; all
of them, from all pieces, go through the model in ONE predict call; then, per piece, dynamic
programming picks the cuts whose digits are most probable, weighed by how much ink each cut
crosses and how wide and tall a digit is next to the line's digit height. A piece narrow for a
digit, flat (a bar, a dash) or far too wide to be a row of digits is never cut.

Work is bounded: a piece is planned on a copy shrunk to about PLAN_ROWS rows per digit height,
with at most MAX_CUTS cut starts (LINES straight cuts each), and a read needing more than
MAX_CANDIDATES model inputs is refused.
"""

import math
from dataclasses import dataclass

import numpy as np

from app.predictor import NOT_A_DIGIT
from app.image_files import BadImage
from app.preprocess import picture_input
from app.raster import INK_THRESHOLD, stroke_width

SPLIT_RATIO = 0.8  # a piece narrower than this share of the line's digit height is one digit
MAX_DIGITS = 20  # a piece wider than this many digit heights is no row of digits (a rule): never cut
MAX_CUTS = 40  # candidate cuts per piece ...
CUTS_PER_HEIGHT = 4  # ... and per digit height of its width
MAX_SPAN = 4  # cut-slices one digit may span
MAX_WIDTH = 1.6  # no candidate digit wider than this share of the digit height
MIN_GAP = 0.15  # candidate cuts closer than this share of the digit height are one (at 0.1, with
# straight cuts, slivers between close cuts read as extra 1s: training writers' numbers from pictures,
# natural gaps 75.0 -> 79.3 %, touching 22.5 -> 24.0 %)
PLAN_ROWS = 64  # a piece is planned on a copy shrunk to at most this many rows per digit height ...
PLAN_PIXELS = 256 * 1024  # ... and at most this many pixels
MAX_CANDIDATES = 1500  # model inputs per read: more is refused (a page of writing, not a number)
SLANTS = (0.0, -0.25, 0.25)  # cuts lean this much sideways per row (0: upright; < 0: top to the right)
LINES = 2  # per cut start, the lines crossing the least ink are kept (all three: twice the model
# inputs for the same exact-number accuracy on training writers)
# Weights of the piece score (log-probabilities of the model plus these log-priors): grid searches
# on numbers made from UNIPEN training writers (never the validation writers), with an 11-class
# model (its "not a digit" for halves and pairs is what keeps cuts honest). A 10-class model is
# sure of halves: with it each extra digit and each crossed stroke cost more (TEN_CLASS_COSTS, the
# earlier search's values, DIGIT_COST raised so that single MNIST digits are not cut).
# Widths of pen digits of training writers (pictures-single's measure): median 0.70 of the height,
# p95 1.28, p99 1.61. At 1.05 the prior cut a third of lone 0s, 2s and 5s into pieces.
WIDE = 1.6  # wider than this share of the digit height a digit becomes unlikely ...
WIDE_COST = 1.0  # ... at this cost per tenth of the height
NARROW = 0.12  # narrower than this share of the digit height (or than the pen): not a digit at all
LOW = 0.6  # a digit shorter than this share of the digit height is unlikely ...
LOW_COST = 1.0  # ... at this cost per tenth
# A piece too narrow to cut (a 1 touching its neighbour is narrower than two digits) but at least
# this share of its line's digit height wide goes to the number reader too (app.recognize.read). On
# numbers pictured from training writers (seed 7, 400 each) at 0.5: natural gaps 87.00 -> 90.75 %,
# touching 69.25 -> 71.50 %, single digits 97.80 -> 98.00 % (1,500). Two 1s a thick pen's width
# apart are about 0.45 of their height wide and, read whole by the digit model, "not a digit": at
# 0.3 (seeds 5 and 9: 1,000 numbers with natural gaps, 1,000 touching, 3,000 single digits) 2 more
# numbers with natural gaps and 1 more single digit read right than at 0.5, touching ones the same;
# 0 read everything as 0.3 did.
NARROW_PAIR = 0.3
DIGIT_COST = -0.5  # each extra digit (negative: a bonus; the model's doubt about parts is the cost)
CROSS_COST = 0.25  # per stroke a cut crosses (0.5 for least-ink seams; straight cuts cross more)
TEN_CLASS_COSTS = (1.5, 1.0)  # (DIGIT_COST, CROSS_COST) for a model without "not a digit"
# A piece fewer pen widths tall than this is a stroke (a bar), not digits; a thick pen's digits
# are under 3 pen widths tall.
FLAT = 2.0
# Ink whose spread across its main axis is under this many pen widths is one straight stroke at any
# tilt (a dash, an underline, a 1 written flat): never cut. The spread of a band of width t is
# sqrt(12 var) = t; a row of digits spreads about its digit height, 3-8 pen widths. The median runs
# that _flat measures the pen by break on a tilted bar or on one the paper's lines or a photo's
# noise cut through (a flat 1 photographed big read as 28 ones), so this measures it by area over
# outline (app.raster.stroke_width), on a copy of at most STRAIGHT_SIDE pixels a side.
STRAIGHT = 1.5
STRAIGHT_SIDE = 256
# An 11-class model's "not a digit" for a whole piece against reading digits in it: a touching pair
# is no single digit either, so the refusal must be clearly more likely. A piece wider than any one
# digit may be (MAX_WIDTH of the line's digit height) holds several and is never refused whole:
# its parts are read (on training writers 28 % of touching numbers were refused whole).
REJECT_COST = 2.0


@dataclass(frozen=True)
class Found:
    """A piece as read: its box in the ink map, the 28x28x1 model input, the probabilities, and
    `digit`: read as its most probable digit (False: as "not a digit"). A part of a cut piece is a
    digit even where the model finds it unlike one: the cuts were chosen for the digits in them."""

    box: tuple
    image: np.ndarray
    probabilities: np.ndarray
    digit: bool = True


def read_pieces(predictor, pieces):
    """For each digit piece (app.segment.Piece) the digits it holds, as lists of Found, in order.

    One predictor.predict call for all candidates of all pieces; BadImage when the pieces
    would need more than MAX_CANDIDATES model inputs.
    """
    check_work(pieces)
    plans = [_plan(p) for p in pieces]
    images = [img for plan in plans for img in plan.images if img is not None]
    if images:
        probabilities = predictor.predict(np.stack(images))
    else:
        probabilities = np.zeros((0, len(predictor.labels)), np.float32)
    reject = len(predictor.labels) == 11 and predictor.labels[-1] == NOT_A_DIGIT
    out, start = [], 0
    for piece, plan in zip(pieces, plans):
        model_run = np.array([img is not None for img in plan.images], bool)
        p = np.zeros((len(plan.images), probabilities.shape[1]), np.float32)
        p[model_run] = probabilities[start : start + int(model_run.sum())]
        start += int(model_run.sum())
        found = []
        for k, digit in _best_path(plan, p, reject):
            x0, y0, x1, y1 = plan.boxes[k]
            box = (piece.box[0] + x0, piece.box[1] + y0, piece.box[0] + x1, piece.box[1] + y1)
            found.append(Found(box, plan.images[k], p[k], digit))
        out.append(found)
    return out


@dataclass
class _Plan:
    """Candidate digits of one piece: spans (i, j) of cut-slices with their box (in the piece's
    pixels), model input and shape; `crossed[i]` the strokes cut i crosses (0 at the edges)."""

    ends: int  # cut indices run 0..ends
    spans: list
    boxes: list
    images: list
    shapes: list  # (width, height) as shares of the digit height; None: never cut, or blank
    crossed: list


def check_work(pieces):
    """BadImage when cutting `pieces` could need more than MAX_CANDIDATES model inputs: a page of
    writing, not a number. The picture reader asks before any reader (this or app.numbers) runs,
    so such a page is refused the same way with or without the number reader."""
    needed = sum(_most_candidates(p) for p in pieces)
    if needed > MAX_CANDIDATES:
        raise BadImage(f"too much writing to read as a number (up to {needed} candidate digits)")


def may_cut(piece):
    """Whether `piece` may hold several digits: read_pieces tries cuts in it (it is wide for one
    digit of its line, not flat, not whole)."""
    return _geometry(piece)[2]


def may_touch(piece):
    """Whether a piece too narrow to cut may still hold touching digits (a 1 beside another digit):
    not known to be one digit, as tall as its line, at least NARROW_PAIR of it wide, not flat."""
    height, line, _ = _geometry(piece)
    mask = piece.ink > INK_THRESHOLD
    return (height > 0 and height >= LOW * line and piece.ink.shape[1] >= NARROW_PAIR * max(line, height)
            and not _flat(mask, height) and not _straight(mask))


def _geometry(piece):
    """(ink height, digit height, whether the piece may be cut) of a piece."""
    mask = piece.ink > INK_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0 or piece.whole:
        return 0, 0.0, False
    height = int(rows[-1] + 1 - rows[0])
    line = float(piece.digit_height) or float(height)
    w = piece.ink.shape[1]
    # Judged against the line's digits: a flat mark (a bar, a dash: low for the line, or only a
    # few pen widths tall) is no row of digits, nor is a piece many digit heights wide.
    cut = SPLIT_RATIO * max(line, height) <= w <= MAX_DIGITS * line and height >= LOW * line
    return height, line, cut and not _flat(mask, height) and not _straight(mask)


def _flat(mask, height):
    """Whether ink `height` rows tall is a stroke (a bar, a dash) rather than digits: under FLAT pen widths."""
    return height < FLAT * _stroke_width(mask)


def _straight(mask):
    """Whether the ink is one straight stroke at any tilt: its spread across its main axis (principal
    axes of the ink's pixels) is under STRAIGHT pen widths."""
    step = max(1, -(-max(mask.shape) // STRAIGHT_SIDE))
    small = mask[::step, ::step]
    ys, xs = np.nonzero(small)
    if len(xs) < 3:
        return False
    spread = np.sqrt(12 * max(float(np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))[0]), 0.0))
    return bool(spread < STRAIGHT * stroke_width(small))


def _most_candidates(piece):
    """An upper bound on the model inputs _plan makes for `piece` (cheap: no planning)."""
    _, line, cut = _geometry(piece)
    if not cut:
        return 1
    return (_cut_limit(piece.ink.shape[1], line) * LINES + 1) * MAX_SPAN * LINES + 1


def _cut_limit(width, line):
    return min(MAX_CUTS, math.ceil(CUTS_PER_HEIGHT * width / line))


def _plan(piece):
    ink = piece.ink
    height, line, cut = _geometry(piece)
    if not cut:
        return _whole(ink)
    h, w = ink.shape
    f = max(1, math.ceil(line / PLAN_ROWS), math.ceil(math.sqrt(h * w / PLAN_PIXELS)))
    small = _shrink(ink, f)
    line_s = line / f
    mask = small > INK_THRESHOLD
    stroke = _stroke_width(mask)
    starts = _cut_starts(mask, line_s, stroke, _cut_limit(w, line))
    if not starts:
        return _whole(ink)
    seams, crossed = _lines(small, starts)
    hs, ws = small.shape
    seams = [np.zeros(hs, np.int64)] + seams + [np.full(hs, ws, np.int64)]
    plan = _Plan(len(seams) - 1, [], [], [], [], [0.0] + [c / stroke for c in crossed])
    # The whole piece is always a candidate: the fallback, and an 11-class model's "not a digit".
    _add(plan, (0, plan.ends), small, 0, f, (w, h), line_s, stroke)
    middle = [float(np.mean(seam)) for seam in seams]
    for i in range(len(seams) - 1):
        for j in range(i + 1, min(i + MAX_SPAN * LINES, len(seams) - 1) + 1):
            if (i, j) == (0, plan.ends):
                continue
            if middle[j] - middle[i] > MAX_WIDTH * line_s and j > i + 1:
                break
            # Cuts that cross inside the piece, or a part thinner than a digit, are no candidate.
            if middle[j] - middle[i] < NARROW * line_s or np.any(seams[j] < seams[i]):
                continue
            lo, hi = int(seams[i].min()), int(seams[j].max())
            xs = np.arange(lo, hi)
            inside = (xs >= seams[i][:, None]) & (xs < seams[j][:, None])
            part = np.where(inside, small[:, lo:hi], np.float32(0))
            _add(plan, (i, j), part, lo, f, (w, h), line_s, stroke)
    return plan


def _whole(ink):
    plan = _Plan(1, [], [], [], [], [0.0])
    _add(plan, (0, 1), ink, 0, 1, ink.shape[::-1], None, 0.0)
    return plan


def _add(plan, span, part, left, scale, size, line, narrowest):
    """Candidate digit `part` (columns from `left` of the ink shrunk by `scale`) and its shape."""
    mask = part > INK_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    image = picture_input(part) if len(rows) else None
    plan.spans.append(span)
    if image is None:  # blank: a stretch of paper the path may pass over, no digit
        plan.boxes.append(None)
        plan.images.append(None)
        plan.shapes.append(None)
        return
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, left + int(cols[0]), left + int(cols[-1]) + 1
    w, h = size
    plan.boxes.append((x0 * scale, y0 * scale, min(w, x1 * scale), min(h, y1 * scale)))
    plan.images.append(image)
    if line is None:
        plan.shapes.append(None)
    else:  # a sliver narrower than the pen can be no digit (width 0; _prior rules it out)
        plan.shapes.append(((x1 - x0) / line if x1 - x0 >= narrowest else 0.0, (y1 - y0) / line))


def _shrink(ink, f):
    """`ink` box-filtered by a whole factor f (the mean of each f x f block)."""
    if f == 1:
        return ink
    h, w = ink.shape
    hs, ws = math.ceil(h / f), math.ceil(w / f)
    padded = np.zeros((hs * f, ws * f), np.float32)
    padded[:h, :w] = ink
    return padded.reshape(hs, f, ws, f).mean(axis=(1, 3))


def _best_path(plan, probabilities, reject):
    """(index, read as a digit) of the candidates on the best-scoring path from cut 0 to the last cut.

    With an 11-class model the whole piece may also be "not a digit" (at REJECT_COST, unless it is
    wider than MAX_WIDTH digit heights); its parts are only ever scored, and read, as digits. A
    piece never cut reads as the model says.
    """
    nad = reject and int(np.argmax(probabilities[0])) == probabilities.shape[1] - 1 if len(probabilities) else False
    if plan.shapes == [None]:  # never cut (or blank): no choice to make
        return [] if plan.images[0] is None else [(0, not nad)]
    digit_cost, cross_cost = (DIGIT_COST, CROSS_COST) if reject else TEN_CLASS_COSTS
    digits = probabilities[:, :10] if reject else probabilities
    blank = np.array([img is None for img in plan.images], bool)
    prior = np.array([_prior(shape) for shape in plan.shapes])
    score = np.where(blank, 0.0, np.log(np.maximum(digits.max(axis=1), 1e-6)) - digit_cost + prior)
    refused = np.full(len(score), -np.inf)
    if reject:
        whole = np.array([span == (0, plan.ends) for span in plan.spans], bool)
        if plan.shapes[0] is not None and plan.shapes[0][0] > MAX_WIDTH:
            whole[:] = False
        refused[whole] = np.log(np.maximum(probabilities[whole, -1], 1e-6)) - REJECT_COST - digit_cost
    best = np.full(plan.ends + 1, -np.inf)
    best[0] = digit_cost  # the first digit is free
    back = [None] * (plan.ends + 1)
    # Spans are generated in order of their start, so each start is final when used.
    for k, (i, j) in enumerate(plan.spans):
        value = best[i] + max(score[k], refused[k]) - cross_cost * plan.crossed[i]
        if value > best[j]:
            best[j], back[j] = value, k
    if back[plan.ends] is None:  # every reading ruled out (slivers): the piece as one, as the model says
        return [] if blank[0] else [(0, not nad)]
    path, j = [], plan.ends
    while j and back[j] is not None:
        k = back[j]
        path.append(k)
        j = plan.spans[k][0]
    return [(k, bool(score[k] >= refused[k])) for k in path[::-1] if not blank[k]]


def _prior(shape):
    """Log-prior of a candidate digit's shape: too wide or too low is unlikely, a sliver impossible."""
    if shape is None:
        return 0.0
    wide, tall = shape
    if wide < NARROW:
        return -np.inf
    return -WIDE_COST * max(0.0, wide - WIDE) * 10 - LOW_COST * max(0.0, LOW - tall) * 10


def _stroke_width(mask):
    """About the pen's width: the smaller of the median horizontal and vertical run of ink
    (a long bar's horizontal runs are its length, its vertical ones the pen)."""
    return min(_median_run(mask), _median_run(mask.T))


def _median_run(mask):
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    _, cols = np.nonzero(edges)
    runs = cols[1::2] - cols[0::2]
    return float(max(np.median(runs), 1.0)) if len(runs) else 1.0


def _cut_starts(mask, height, stroke, limit=MAX_CUTS):
    """Columns where a cut may start: valleys of the smoothed column profile and even spacings."""
    w = mask.shape[1]
    # A cut starts strictly inside the piece (column 0 and column w are its edges).
    lo, hi = max(1, int(0.15 * height)), min(w, int(w - 0.15 * height))
    if hi <= lo:
        return []
    profile = mask.sum(axis=0).astype(np.float64)
    k = min(max(1, int(round(stroke))), w)  # np.convolve "same" is longer than w for k > w
    smooth = np.convolve(profile, np.ones(k) / k, mode="same")
    inner = smooth[1:-1]
    valley = np.flatnonzero((inner <= smooth[:-2]) & (inner < smooth[2:])) + 1
    most = min(MAX_SPAN + 1, max(2, math.ceil(w / (0.45 * height))))
    even = {int(round(w * k / n)) for n in range(2, most + 1) for k in range(1, n)}
    # Wide pieces: also every quarter of a digit height, so that no stretch goes without a cut.
    even |= {int(round(x)) for x in np.arange(0.25 * height, w, 0.25 * height)}
    # Only columns inside [lo, hi) are ranked: even spacings of a tiny piece round onto its edge.
    valley = [int(x) for x in valley if lo <= x < hi]
    even = [x for x in even if lo <= x < hi]
    # Valleys first (deepest first), then even spacings, each kept if far from those kept.
    ordered = sorted(valley, key=lambda x: smooth[x]) + sorted(even, key=lambda x: smooth[x])
    kept = []
    for x in ordered:
        if all(abs(x - y) >= MIN_GAP * height for y in kept):
            kept.append(x)
        if len(kept) == limit:
            break
    return sorted(kept)


def _lines(ink, starts):
    """One straight cut through each start column: of the upright and the leaning lines (SLANTS),
    the one crossing the least ink; (per cut int x per row, ink crossed per cut), by mean column.

    Handwriting leans, and neighbours that overlap lean together: a cut along the slant parts them
    where an upright one takes a piece of each (measured on training writers: straight cuts also
    beat least-ink paths, which wander around one digit into the next)."""
    h, w = ink.shape
    rows = np.arange(h) - (h - 1) / 2
    xs = np.asarray(starts, np.float64)[:, None, None] + np.asarray(SLANTS)[None, :, None] * rows
    xs = np.clip(np.round(xs), 0, w).astype(np.int64)  # (starts, slants, rows)
    crossed = np.where(xs < w, ink[np.arange(h), np.minimum(xs, w - 1)], 0.0).sum(axis=2)
    pick = np.argsort(crossed, axis=1, kind="stable")[:, :LINES]
    xs = np.take_along_axis(xs, pick[:, :, None], axis=1).reshape(-1, h)
    crossed = np.take_along_axis(crossed, pick, axis=1).ravel()
    order = np.argsort(xs.mean(axis=1), kind="stable")
    return list(xs[order]), crossed[order].tolist()
