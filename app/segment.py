"""Split an ink map holding a written number into pieces: digits and decimal separators.

Lines first (digits stacked vertically are read as rows, top to bottom), then, in each line,
columns: a digit is one or more blobs of connected ink whose horizontal extents mostly overlap
(the bar of a 5 written apart, the two strokes of a 4). A small mark low between two digits is a
decimal separator; a flat one at their middle height before a digit is a dash (app.dashes), and so
is a flat band at a piece's end run into its one digit (a minus sign written close, a hyphen touching
the digit before or after it). Digits whose ink touches stay one piece here; app.cuts splits them.
Every step is linear or n log n in the number of blobs, and a picture with more separate marks
than a number could hold is refused (BadImage) rather than read.
"""

from dataclasses import dataclass

import numpy as np

from app import components, dashes
from app.image_files import BadImage
from app.preprocess import speck_components
from app.raster import INK_THRESHOLD, component_mask, stroke_width

OVERLAP = 0.5  # share of the narrower extent two blobs must share to be one digit
MAX_MARKS = 300  # more separate (non-speck) marks than this is no number
LINE_SHARE = 0.5  # a band of ink this much as tall as the tallest is a line of its own ...
LINE_GAP = 0.2  # ... when paper this share of the taller one's height parts it from the next
# Paper this share of the taller's height parts two rows of writing, and two marks side by side in one: an
# erased grid line leaves less across a stroke it cut (a training writer's 6 on squared paper read "111").
APART = 0.1
SMALL_ROW = 0.25  # a row of marks side by side this share as tall as the tallest band is a line of its own too
RULE_WIDTH = 1.6  # a mark wider than this share of the line's digit height ...
RULE_HEIGHT = 0.4  # ... and lower than this share is a rule, not part of a digit
DOT_SIZE = 0.4  # a separator is at most this share of its line's digit height on its longer side
DOT_LOW = 0.55  # ... and its centre lies below this share of the way down the digits beside it
THIN_RUN = 1.5  # a column of a piece no more than this many pen widths thick (and 2 px) is a band of one stroke
# A dash whose ink runs into the digit after it is weaker evidence than one apart: it is at least JOINED_LONG
# of that digit's height long, its middle rises or falls by at most JOINED_FLAT of its length (a minus sign
# is level; a lead-in stroke is not) ...
JOINED_LONG = 0.25
JOINED_FLAT = 0.15
JOINED_MIDDLE = 0.2  # ... and it meets the digit within this share of its height from its middle
# ... or this, run out of the digit before it: a 2's base rising into the gap meets it lower, 0.68 of the
# way down (a training writer's "6139291" read "61392-91"); the hyphens of 300 training writers' numbers
# cut so met their digit 0.42-0.64 of the way down.
RUN_OUT_MIDDLE = 0.15
# A hyphen run into the digit before it must end there: its band of rows holds ink for at most this many
# pen widths into that digit (one stroke met, even aslant). A 4's bar runs on through its stem. Training
# writers' hyphens in pictures, 300: 66.0 % read right cutting none, 81.7 % cutting every such dash
# (but a 4's long bar read "4-" in 7 of 1,200 numbers with none), 79.3 % at 2.5 (1 of 1,200; 2 or 3: alike).
CROSS_RUN = 2.5
MIN_TAP_PX = 3  # a point is at least this many pixels across ...
SOLID = 0.35  # ... and a point written close (small, or reaching into a neighbour's span) carries this much ink of its box
TAP_OF_PEN = 0.75  # ... and is this share of the pen's width across (which counts its soft edge too)
MAX_CLOSE_POINTS = 20  # small marks reaching into a neighbour's span looked at as points, per line (a noisy photo's are many)


@dataclass(frozen=True)
class Piece:
    """One digit or separator: its box (x0, y0, x1, y1, ends exclusive) in the ink map, an ink
    map of the same size as the box with every other piece's ink removed, its kind ("digit",
    "separator" or "dash"), the line (row of writing, 0 at the top) it belongs to, that line's digit
    height in pixels (0: unknown, judge the piece by its own height), and `whole`: the caller
    knows it is one digit (app.cuts never cuts it)."""

    box: tuple
    ink: np.ndarray
    kind: str = "digit"
    line: int = 0
    digit_height: float = 0.0
    whole: bool = False


def split_digits(ink, found=None):
    """Pieces of `ink` (float (H, W), from preprocess.to_ink), line by line, left to right.

    `found` is the ink's labelling (preprocess.ink_and_blobs) when the caller has it.
    Raises BadImage when the picture holds too many separate marks to be a number.
    """
    if found is None:
        found = components.label(ink > INK_THRESHOLD, ink)
    if found.count == 0:
        return []
    specks = speck_components(found)
    kept = np.flatnonzero(~specks)
    if len(kept) > MAX_MARKS:
        raise BadImage(f"too many separate marks ({len(kept)}) to be a number")
    boxes = found.boxes
    pieces = []
    for line, members in enumerate(group_lines(boxes[kept])):
        ids = kept[members]
        rule = _rules(boxes[ids])
        columns = [ids[~rule][c] for c in group_columns(boxes[ids[~rule]])] + [np.array([i]) for i in ids[rule]]
        columns.sort(key=lambda c: _span(boxes[c], 0, 2))
        heights = [_span(boxes[c], 1, 3) for c in columns]
        digit_height = _digit_height([y1 - y0 for y0, y1 in heights])
        kinds = ["digit"] * len(columns)
        # Dashes first: a short hyphen a little below the middle is small and low enough for a point.
        tall = None  # the nearest column so far at least half a digit tall: the digit before a dash
        for i in range(len(columns) - 1):
            if kinds[i] == "digit" and _is_dash(found, columns, i, digit_height, tall):
                kinds[i] = "dash"
            if heights[i][1] - heights[i][0] >= 0.5 * digit_height:
                tall = i
        for i in range(1, len(columns) - 1):
            if kinds[i] == "digit" and _is_separator(boxes[columns[i]], heights[i - 1], heights[i + 1], digit_height):
                kinds[i] = "separator"
        columns, kinds = _with_speck_dots(found, specks, columns, kinds, heights, digit_height)
        line_pieces = [_piece(ink, found, c, kind, line, digit_height) for c, kind in zip(columns, kinds)]
        pieces += _dashes_joined(line_pieces)
    return pieces


def _rules(boxes):
    """Boolean per box: a flat mark wider than a digit (an underline, a dash): a column of its own,
    never the part of a digit that swallows the digits above it."""
    boxes = np.asarray(boxes)
    heights = boxes[:, 3] - boxes[:, 1]
    digit_height = _digit_height(heights)
    return (boxes[:, 2] - boxes[:, 0] > RULE_WIDTH * digit_height) & (heights < RULE_HEIGHT * digit_height)


def _digit_height(heights):
    """The line's digit height: the median over its columns at least LINE_SHARE of the tallest
    (dots, commas and bars do not pull it down)."""
    heights = np.asarray(heights, np.float64)
    return float(np.median(heights[heights >= LINE_SHARE * heights.max()]))


def group_lines(boxes):
    """Indices of `boxes` grouped into lines of writing, top to bottom (each sorted).

    Bands are the union of the boxes' vertical extents (a sort and a sweep); a band much
    shorter than the tallest (the bar of a 5 written apart, a dot) joins the nearest line.
    """
    n = len(boxes)
    if n == 0:
        return []
    boxes = np.asarray(boxes)
    order = np.argsort(boxes[:, 1], kind="stable")
    tops, bottoms = boxes[order, 1], boxes[order, 3]
    reach = np.maximum.accumulate(bottoms)
    # A new band starts where a box begins below everything above it.
    starts = np.concatenate(([True], tops[1:] >= reach[:-1]))
    first = np.flatnonzero(starts)
    band_top = tops[starts]
    band_bottom = np.maximum.reduceat(bottoms, first)
    # A band holding marks side by side is a row of writing, not a piece of one digit.
    row = np.array([side_by_side(band) for band in np.split(boxes[order], first[1:])])
    # Bands parted by a narrow strip of paper (the bar of a 5 above its body, a 3 broken in two) are one;
    # but a row of writing and a band about as tall are two lines from APART of a line's height apart (a
    # number continued close on the line below).
    joined = [0]
    for k in range(1, len(band_top)):
        j = joined[-1]
        taller, shorter = sorted((band_bottom[k] - band_top[k], band_bottom[j] - band_top[j]))[::-1]
        gap = band_top[k] - band_bottom[j]
        lines = shorter >= LINE_SHARE * taller and (row[j] or row[k]) and gap >= APART * taller
        if gap < LINE_GAP * taller and not lines:
            band_bottom[j] = max(band_bottom[j], band_bottom[k])
            row[j] |= row[k]
        else:
            joined.append(k)
    merged_into = np.searchsorted(joined, np.arange(len(band_top)), side="right") - 1
    band = merged_into[np.cumsum(starts) - 1]
    band_top, band_bottom, row = band_top[joined], band_bottom[joined], row[joined]
    height = band_bottom - band_top
    # A line is a band about as tall as the tallest, or a row of smaller writing apart from it.
    major = np.flatnonzero((height >= LINE_SHARE * height.max()) | row & (height >= SMALL_ROW * height.max()))
    # Each band joins the major band nearest to it (itself when major).
    centre = (band_top + band_bottom) / 2
    major_centre = centre[major]
    pos = np.clip(np.searchsorted(major_centre, centre), 1, max(len(major) - 1, 1))
    below, above = major[np.minimum(pos, len(major) - 1)], major[pos - 1]
    gap_below = np.maximum(band_top[below] - band_bottom, 0)
    gap_above = np.maximum(band_top - band_bottom[above], 0)
    target = np.where(gap_below < gap_above, below, above)
    target[major] = major
    line_of_band = np.searchsorted(major, target)
    line = np.empty(n, np.int64)
    line[order] = line_of_band[band]
    return [np.sort(np.flatnonzero(line == k)) for k in range(len(major))]


def side_by_side(boxes):
    """Whether two of `boxes` (x0, y0, x1, y1), each at least half as tall as the tallest, stand APART
    of its height apart across: marks side by side (a row of writing), not the parts of one mark (a
    loop cut by an erased grid line, a crumb beside it)."""
    boxes = np.asarray(boxes, np.float64)
    heights = boxes[:, 3] - boxes[:, 1]
    if len(boxes) < 2:
        return False
    tall = boxes[heights >= heights.max() / 2]
    return bool(tall[:, 2].min() + APART * heights.max() <= tall[:, 0].max())


def group_columns(boxes):
    """Indices of `boxes` grouped into digits by horizontal overlap, groups left to right.

    Sort by left edge, then sweep with a stack of groups: each box joins the last group when
    they overlap by OVERLAP of the narrower, and the last two groups merge while they do.
    """
    n = len(boxes)
    if n == 0:
        return []
    boxes = np.asarray(boxes)
    order = np.argsort(boxes[:, 0], kind="stable")
    stack = []  # [x0, x1, members]
    for i in order.tolist():
        x0, x1 = int(boxes[i, 0]), int(boxes[i, 2])
        stack.append([x0, x1, [i]])
        while len(stack) > 1 and _same_digit(stack[-2], stack[-1]):
            last = stack.pop()
            top = stack[-1]
            top[0], top[1] = min(top[0], last[0]), max(top[1], last[1])
            top[2] += last[2]
    stack.sort(key=lambda g: g[0] + g[1])
    return [sorted(g[2]) for g in stack]


def _same_digit(a, b):
    shared = min(a[1], b[1]) - max(a[0], b[0])
    narrower = min(a[1] - a[0], b[1] - b[0])
    return shared >= OVERLAP * narrower


def _solid(found, blobs):
    """Boolean per blob: a solid dot, its ink at least SOLID of its box (a pen's tap; a stub of a
    ruled line, paper grain or a hair is fainter or thinner)."""
    b = found.boxes[blobs]
    return found.mass[blobs] >= SOLID * (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _owners(found, columns):
    """Per label (0: paper), the index of the column (of `columns`) its blob is in; -1 for none."""
    owner = np.full(found.count + 1, -1, np.int64)
    for k, column in enumerate(columns):
        owner[np.asarray(column) + 1] = k
    return owner


def _nearest_owners(found, d, owner):
    """(column of the nearest ink left of blob `d`, of the nearest right of it), `owner` giving each
    label's column (_owners), in the rows of `d` widened by its height each way; None: none."""
    x0, y0, x1, y1 = (int(v) for v in found.boxes[d])
    h = found.labels.shape[0]
    band = found.labels[max(0, y0 - (y1 - y0)) : min(h, y1 + (y1 - y0))]
    columns = np.where(band == d + 1, -1, owner[band])
    sides = []
    for part, pick in ((columns[:, :x0], -1), (columns[:, x1:], 0)):
        inked = np.flatnonzero((part >= 0).any(axis=0))
        if not len(inked):
            sides.append(None)
            continue
        at = part[:, inked[pick]]
        sides.append(int(at[at >= 0][0]))
    return tuple(sides)


def _span(boxes, lo, hi):
    return int(boxes[:, lo].min()), int(boxes[:, hi].max())


def _is_separator(boxes, left, right, digit_height):
    """A small mark whose centre lies low between two digits (their vertical spans `left`, `right`)."""
    x0, x1 = _span(boxes, 0, 2)
    y0, y1 = _span(boxes, 1, 3)
    if max(x1 - x0, y1 - y0) > DOT_SIZE * digit_height:
        return False
    top = (left[0] + right[0]) / 2
    bottom = (left[1] + right[1]) / 2
    return (y0 + y1) / 2 >= top + DOT_LOW * (bottom - top)


def _is_dash(found, columns, i, digit_height, before):
    """Whether column i of a line (`digit_height` tall) is a dash (app.dashes), judged on the pen's
    path: its box and its neighbours' shrunk by half its pen width. `before`: the index of the digit
    before it, the nearest column at least half a digit tall (a bar drawn apart from its digit, a 5's,
    is a column of its own, flat and high, and the dash is not at its middle height), or None."""
    x0, x1 = _span(found.boxes[columns[i]], 0, 2)
    y0, y1 = _span(found.boxes[columns[i]], 1, 3)
    if y1 - y0 > min(x1 - x0, 0.5 * digit_height):
        return False  # no dash whatever its pen: measure only the flat ones
    half = stroke_width(np.isin(found.labels[y0:y1, x0:x1], columns[i] + 1)) / 2

    def path(column):
        (bx0, bx1), (by0, by1) = _span(found.boxes[column], 0, 2), _span(found.boxes[column], 1, 3)
        return (bx0 + half, by0 + half, bx1 - half, by1 - half)

    return dashes.is_dash(path(columns[i]), None if before is None else path(columns[before]), path(columns[i + 1]),
                          digit_height - 2 * half)


def _dashes_joined(line_pieces):
    """The line's pieces with each dash whose ink runs into one digit cut from it (a pen's band thick,
    THIN_RUN, judged as app.dashes judges one, meeting the digit at its middle height): a minus sign
    written close to the line's first digit, a hyphen run into the digit after it or before it. A
    dash run into the digits on both sides is left to the readers."""
    out = []
    for k, piece in enumerate(line_pieces):
        if piece.kind != "digit":
            out.append(piece)
            continue
        before = out[-1] if out else None
        after = line_pieces[k + 1] if k + 1 < len(line_pieces) else None
        cut = []
        if before is None or before.kind == "digit":
            cut = _dash_at_left(piece, before)
        rest = cut[-1] if cut else piece
        if after is not None and after.kind == "digit":
            right = _dash_at_left(_mirrored(rest), _mirrored(after, rest), crossing=True)
            if right:
                cut = cut[:-1] + [_mirrored(p, rest) for p in reversed(right)]
        out += cut or [piece]
    return out


def _mirrored(piece, about=None):
    """`piece` flipped left to right about the middle of `about`'s box (its own by default): a dash at
    a piece's right end becomes one at its left, and mirroring back restores it."""
    x0, x1 = (about or piece).box[0], (about or piece).box[2]
    b = piece.box
    return Piece((x0 + x1 - b[2], b[1], x0 + x1 - b[0], b[3]), piece.ink[:, ::-1], piece.kind, piece.line,
                 piece.digit_height, piece.whole)


def _dash_at_left(piece, before, crossing=False):
    """[dash, rest] where `piece` begins with a dash whose ink runs into the digit after it, the digit
    piece `before` it (None: the line's first) standing clear of it; [] otherwise. `crossing`: not
    where the dash's band runs on through the digit's first stroke (a mirrored piece: a bar reaching
    out of a digit to the right, as a 4's and a crossed 7's do, is a hyphen only if it ends there)."""
    mask = piece.ink > INK_THRESHOLD
    inked = mask.any(axis=0)
    if not inked.any() or not inked[0]:
        return []
    h = mask.shape[0]
    tops = np.argmax(mask, axis=0)
    bottoms = h - 1 - np.argmax(mask[::-1], axis=0)
    pen = stroke_width(mask)
    thick = ~inked | (bottoms - tops + 1 > THIN_RUN * pen + 2)
    cut = int(np.argmax(thick)) if thick.any() else mask.shape[1]
    if cut == 0 or cut == mask.shape[1]:
        return []
    # A dash is level. Where the ink leaves the band of its first columns (a pen thick about their middle,
    # give or take JOINED_FLAT of the way along) a pen's width or so before the digit's stroke thickens it,
    # the dash has run into that stroke at another height (a 4's corner, below the dash): the dash ends
    # there. A lead-in stroke rising for longer stays whole, to be judged rising below.
    line = float(np.median(((tops + bottoms) / 2)[: max(1, cut // 3)]))
    give = 2 + JOINED_FLAT * np.arange(cut)
    leaves = int(np.argmax((tops[:cut] < line - pen / 2 - give) | (bottoms[:cut] > line + pen / 2 + give)))
    if 0 < leaves and cut - leaves <= THIN_RUN * pen:  # 0: the ink never leaves the band
        cut = leaves
    rest_rows = np.flatnonzero(mask[:, cut:].any(axis=1))
    half = pen / 2
    dash = (half, tops[:cut].min() + half, cut - half, bottoms[:cut].max() + 1 - half)
    rest = (cut + half, rest_rows[0] + half, mask.shape[1] - half, rest_rows[-1] + 1 - half)
    height = rest_rows[-1] + 1 - rest_rows[0]
    x0, y0 = piece.box[:2]
    # The digit before it, in the piece's frame, along its pen's path as the dash's.
    other = None if before is None else (before.box[0] - x0 + half, before.box[1] - y0 + half,
                                         before.box[2] - x0 - half, before.box[3] - y0 - half)
    if height < LINE_SHARE * max(piece.digit_height, h) or not dashes.is_dash(dash, other, rest, height - pen):
        return []
    meets = ((tops[cut - 1] + bottoms[cut - 1]) / 2 - rest[1]) / max(rest[3] - rest[1], 1e-9)
    if abs(meets - 0.5) > (RUN_OUT_MIDDLE if crossing else JOINED_MIDDLE):
        return []  # it meets the digit high or low: a 7's bar, a 2's base
    middles = (tops[:cut] + bottoms[:cut]) / 2
    if cut - half < JOINED_LONG * (height - pen) or np.ptp(middles) > JOINED_FLAT * cut:
        return []  # short or rising: a stroke led into the digit (an 8's, a 9's)
    dash_rows = slice(int(tops[:cut].min()), int(bottoms[:cut].max()) + 1)
    if crossing:
        inside = mask[dash_rows, cut:].any(axis=0)  # columns from where it meets the digit
        if (len(inside) if inside.all() else int(np.argmin(inside))) > CROSS_RUN * pen:
            return []  # its band runs on through the digit's stroke: a bar crossing a stem (a 4's, a 7's)
    rest_slice = slice(int(rest_rows[0]), int(rest_rows[-1]) + 1)
    return [Piece((x0, y0 + dash_rows.start, x0 + cut, y0 + dash_rows.stop), piece.ink[dash_rows, :cut], "dash",
                  piece.line, piece.digit_height),
            Piece((x0 + cut, y0 + rest_slice.start, piece.box[2], y0 + rest_slice.stop), piece.ink[rest_slice, cut:],
                  "digit", piece.line, piece.digit_height)]


def _with_speck_dots(found, specks, columns, kinds, heights, digit_height):
    """Add specks (too light to be kept as ink) that are separators: between two digit columns."""
    if len(columns) < 2 or not specks.any():
        return columns, kinds
    boxes = found.boxes
    spans = np.array([_span(boxes[c], 0, 2) for c in columns])
    line_top = min(h[0] for h in heights)
    line_bottom = max(h[1] for h in heights) + DOT_SIZE * digit_height
    dots = np.flatnonzero(specks)
    b = boxes[dots]
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    near = (size >= 0.05 * digit_height) & (size <= DOT_SIZE * digit_height)
    # A thin pen's tap is as small as its pen is wide, under 5 % of the digits' height: taken where it
    # is a solid dot about a pen wide (noise and paper grain are fainter or smaller).
    tap = (size >= MIN_TAP_PX) & (size < 0.05 * digit_height) & (cy >= line_top) & (cy <= line_bottom)
    tap &= _solid(found, dots)
    if tap.any():
        heaviest = max((i for c in columns for i in c.tolist()), key=lambda i: found.mass[i])
        near |= tap & (size >= TAP_OF_PEN * stroke_width(component_mask(found, heaviest)))
    near &= (cy >= line_top) & (cy <= line_bottom)
    # The column whose right edge is the last one left of the dot; the dot must end before the next.
    after = np.searchsorted(spans[:, 1], cx, side="right") - 1
    ok = near & (after >= 0) & (after < len(columns) - 1)
    after = np.clip(after, 0, len(columns) - 2)
    ok &= (b[:, 0] >= spans[after, 1]) & (b[:, 2] <= spans[after + 1, 0])
    # A point written close may reach into a neighbour's span (under a 7's overhang, beside a 3's
    # tail): then the nearest ink at its height on either side must be the two neighbours'.
    owner = _owners(found, columns)
    for j in np.flatnonzero(near & ~ok & _solid(found, dots))[:MAX_CLOSE_POINTS]:
        sides = _nearest_owners(found, int(dots[j]), owner)
        if None not in sides and sides[1] == sides[0] + 1:
            ok[j], after[j] = True, sides[0]
    # At most one separator per gap: the heaviest dot in it.
    dots, after = dots[ok], after[ok]
    heaviest = {}
    for d, a in zip(dots.tolist(), after.tolist()):
        if a not in heaviest or found.mass[d] > found.mass[heaviest[a]]:
            heaviest[a] = d
    out_columns, out_kinds = list(columns), list(kinds)
    for a in sorted(heaviest, reverse=True):  # from the right, so earlier positions stay valid
        d = heaviest[a]
        if kinds[a] == kinds[a + 1] == "digit" and _is_separator(boxes[[d]], heights[a], heights[a + 1], digit_height):
            out_columns.insert(a + 1, np.array([d]))
            out_kinds.insert(a + 1, "separator")
    return out_columns, out_kinds


def _piece(ink, found, members, kind, line, digit_height):
    ids = np.asarray(members) + 1
    boxes = found.boxes[ids - 1]
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    labels = found.labels[y0:y1, x0:x1]
    window = ink[y0:y1, x0:x1]
    # Faint unlabelled pixels (anti-aliasing) stay; only other blobs' ink goes.
    mine = np.isin(labels, ids) | (labels == 0)
    box = (int(x0), int(y0), int(x1), int(y1))
    return Piece(box, np.where(mine, window, np.float32(0)), kind, line, digit_height)
