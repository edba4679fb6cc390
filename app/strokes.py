"""Group a drawing's strokes into digits: the canvas is on-line handwriting.

Strokes are read by their place and their order, not by their ink, so digits whose ink touches or
overlaps stay apart. Three steps, each linear-log in the number of strokes:
- `plan`: a ring drawn round the number or a line drawn under it (app.marks) and taps (tiny strokes)
  are set aside; a stroke that is plainly part of another (a flat bar or base over its span, one
  lying inside its box: a 5's bar, a crossed 7, a 1's base, a slash through a 0; or a loop right
  above another: an 8's) joins it into an "atom", never across rows of writing (strokes standing in
  rows are grouped as a picture's blobs are, app.segment.group_lines); atoms are ordered row by row,
  left to right, and every run of up to MAX_RUN neighbouring atoms of a row that could be one digit
  becomes a candidate for the model to score;
- `choose`: the best split of the atoms into digits from the model's scores (dynamic programming);
- `arrange`: the chosen digits row by row, left to right, with a tap on the baseline between or
  after digits as a decimal point; other taps are dropped, never read as a digit. A flat stroke
  standing apart at the middle height of the digits after it (a minus sign, a hyphen) is set aside
  by `plan` as a dash and placed among them.
Pure geometry on numpy: the model's scores come in from app.recognize.
"""

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from app import dashes
from app.marks import marking_strokes

TAP_SHARE = 0.12  # a stroke smaller than this share of the tallest stroke is a tap or a dot ...
TAP_PX = 3.0  # ... and so is one within a few pixels: a click with the mouse's jitter
FLAT = 0.4  # a stroke at most this share of another's height, lying over its span, is part of it
OVER = 0.5  # share of the flat stroke's width that must lie over the other's span
THIN = 0.15  # a stroke narrower than this share of its height (a 1, a 4's bar) is never "inside" another
INSIDE = 0.9  # share of a stroke's box inside another's box that makes it part of that digit
# Two strokes one above the other, sharing at most STACKED of the shorter one's height, each at least
# ROUND of the wider one's width tall (no bar, no base), are one digit (an 8 in two loops, a 3 in two
# arcs). UNIPEN training writers, window path, 20,000 single digits (4 seeds): 20 more read right
# (8s read "00" or "08", 3s read "27"), none fewer; 8,000 numbers, natural and touching: the same.
# Without ROUND, a 1's long base under the next digit joined it (touching numbers: 5 of 1,000 fewer).
STACKED = 0.5
ROUND = 0.5
MAX_RUN = 3  # atoms one digit may be made of
MAX_WIDTH = 1.6  # a candidate of several atoms wider than this share of the line's height: no digit
POINT_LOW = 0.35  # a decimal point's centre lies in this lowest share of its neighbour's height ...
POINT_BELOW = 0.3  # ... or at most this share of it below the neighbour's bottom
COMMA = 0.4  # a stroke at most this share of the line's height standing that low is a comma (app.segment.DOT_SIZE)
DIGIT_GAP = 0.1  # strokes of one row this share of the line's height apart or closer are one digit beside a dash
# Log-priors of a candidate digit, added to the model's log-probability; fitted on numbers and
# single digits made from the UNIPEN training writers (never the validation writers). Sizes are
# shares of the line's height (the tallest stroke).
SPLIT_BONUS = 0.0  # per digit: above 0 favours reading more, smaller digits
WIDE, WIDE_COST = 0.6, 2.0  # wider than WIDE costs this per line height
LOW, LOW_COST = 0.75, 6.0  # lower than LOW (a bar, the top of a 4) costs this per line height
# Log-odds that two neighbouring atoms belong to one digit (a 4's L and bar, a 0 and its slash, the
# two loops of an 8), summed over the neighbours a candidate joins:
PAIR_BIAS = 0.6
GAP_COST = 1.15  # per line height of empty space between them
EDGE_COST = 2.4  # the narrower one's centre at the wider one's edge or beyond (not over its middle) ...
TALL_EDGE_COST = 1.0  # ... and more when both are TALL (shares of the line): a 1 beside a digit
TALL = 0.8
TIME_BONUS = 0.95  # drawn one right after the other (no other stroke in between)
STACK_BONUS = 0.8  # one above the other (sharing little of their heights): an 8's loops


@dataclass(frozen=True)
class Stroke:
    """One pen-down stroke: float (n, 2) points in canvas pixels, brush width, place in time."""

    points: np.ndarray
    width: float
    order: int

    @cached_property
    def box(self):
        """(x0, y0, x1, y1) of the points, as floats (worked out once: plan and arrange ask often)."""
        low, high = self.points.min(axis=0), self.points.max(axis=0)
        return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))


@dataclass(frozen=True)
class Plan:
    """Atoms (tuples of stroke indices) line by line, left to right, candidate runs (start, end) of
    atoms to score with their log-priors, the taps and dashes (stroke indices) set aside, and the line
    of each stroke that is neither (0 at the top; -1 for the others)."""

    strokes: tuple
    atoms: tuple
    candidates: tuple
    taps: tuple
    priors: np.ndarray = None
    dashes: tuple = ()
    lines: tuple = ()


@dataclass(frozen=True)
class Group:
    """One piece of the number: `kind` "digit", "point" or "dash", its stroke indices, its points' box,
    for a digit the run (start, end) of atoms it was chosen as, and its line of writing."""

    kind: str
    members: tuple
    box: tuple
    run: tuple = None
    line: int = 0


def from_drawing(strokes):
    """Strokes of app.drawing.Drawing.strokes ((width, [(x, y), ...]) in drawing order)."""
    return tuple(
        Stroke(np.asarray(points, dtype=np.float64).reshape(-1, 2), float(width), i)
        for i, (width, points) in enumerate(strokes)
        if points
    )


def plan(strokes):
    """Plan of a tuple of Strokes: atoms, candidate digits to score, taps and dashes."""
    if not strokes:
        return Plan((), (), (), (), np.zeros(0))
    boxes = [s.box for s in strokes]  # plain floats: a few strokes, read every few dozen ms
    heights = [b[3] - b[1] for b in boxes]
    marks = marking_strokes(strokes)  # a ring round the number, a line under it: no part of it
    if len(marks) == len(strokes):
        return Plan(tuple(strokes), (), (), (), np.zeros(0))
    tap = max(TAP_SHARE * max(h for i, h in enumerate(heights) if i not in marks), TAP_PX)
    tiny = [max(b[2] - b[0], h) <= tap for b, h in zip(boxes, heights)]
    big = [i for i, t in enumerate(tiny) if not t and i not in marks]
    row_of = dict(zip(big, _rows([boxes[i] for i in big])))
    parent = {i: i for i in big}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Sweep in x: only strokes of one row whose spans overlap can be parts of one another.
    order = sorted(big, key=lambda i: boxes[i][0])  # stable, as the argsort it replaces
    open_ = []
    for i in order:
        open_ = [j for j in open_ if boxes[j][2] >= boxes[i][0]]
        for j in open_:
            if row_of[i] == row_of[j] and (_part_of(boxes[i], boxes[j]) or _part_of(boxes[j], boxes[i])):
                parent[root(i)] = root(j)
        open_.append(i)
    members = {}
    for i in big:
        members.setdefault(root(i), []).append(i)
    atoms = [tuple(m) for m in members.values()]
    atom_boxes = [_union([boxes[i] for i in a]) for a in atoms]

    # A tap inside a digit's box is part of it (a pen lift); the rest wait for `arrange`.
    taps = []
    for t in (i for i, small in enumerate(tiny) if small and i not in marks):
        x0, y0, x1, y1 = boxes[t]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        home = next((k for k, b in enumerate(atom_boxes) if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]), None)
        if home is None:
            taps.append(t)
        else:
            atoms[home] = atoms[home] + (t,)

    rows = [row_of[atom[0]] for atom in atoms]
    order = sorted(range(len(atoms)), key=lambda k: (rows[k], (atom_boxes[k][0] + atom_boxes[k][2]) / 2))
    atoms = tuple(tuple(sorted(atoms[k])) for k in order)
    atom_boxes = [atom_boxes[k] for k in order]
    rows = [rows[k] for k in order]
    stroke_lines = [-1] * len(strokes)
    for atom, row in zip(atoms, rows):
        for i in atom:
            stroke_lines[i] = row
    # The line's height: its tallest stroke, never zero (a dash drawn perfectly flat has no height).
    line = max(max(heights[i] for i in big), TAP_PX) if big else 1.0
    found = _dashes(atoms, atom_boxes, rows, line)
    dash_strokes = tuple(i for k in sorted(found) for i in atoms[k])
    if found:
        atoms = tuple(a for k, a in enumerate(atoms) if k not in found)
        atom_boxes = [b for k, b in enumerate(atom_boxes) if k not in found]
        rows = [r for k, r in enumerate(rows) if k not in found]
    commas = _commas(atoms, atom_boxes, rows, line)
    if commas:
        taps += [atoms[k][0] for k in sorted(commas)]
        atoms = tuple(a for k, a in enumerate(atoms) if k not in commas)
        atom_boxes = [b for k, b in enumerate(atom_boxes) if k not in commas]
        rows = [r for k, r in enumerate(rows) if k not in commas]
    # Time order among the strokes that are not taps: neighbours drawn one right after the other.
    rank = {i: r for r, i in enumerate(sorted(big, key=lambda i: strokes[i].order))}
    pairs = [_pair_odds(atom_boxes[k], atom_boxes[k + 1], line,
                        any(abs(rank[i] - rank[j]) == 1 for i in atoms[k] if i in rank
                            for j in atoms[k + 1] if j in rank))
             for k in range(len(atoms) - 1)]
    candidates, priors = [], []
    for start in range(len(atoms)):
        for end in range(start + 1, min(start + MAX_RUN, len(atoms)) + 1):
            box = _union(atom_boxes[start:end])
            if rows[end - 1] != rows[start] or end > start + 1 and box[2] - box[0] > MAX_WIDTH * line:
                break
            candidates.append((start, end))
            priors.append(_prior(pairs[start:end - 1], box, line))
    return Plan(tuple(strokes), atoms, tuple(candidates), tuple(taps), np.array(priors), dash_strokes,
                tuple(stroke_lines))


def _rows(boxes):
    """The row of writing of each stroke box (0 at the top), grouped as a picture's blobs are
    (app.segment.group_lines), where the strokes stand in rows: bands of them apart, one at least
    holding strokes side by side, each under the one above over OVER of the narrower's width. Else 0
    for all: two strokes alone one above the other are an 8's loops as often as two digits, and the
    plan joins them as one."""
    reach, bands = -np.inf, 0
    for top, bottom in sorted((b[1], b[3]) for b in boxes):  # a sweep on plain floats first: one band is common
        bands += top >= reach
        reach = max(reach, bottom)
    if bands < 2:
        return [0] * len(boxes)
    from app.segment import group_lines, side_by_side

    rows = [0] * len(boxes)
    lines = group_lines(np.asarray(boxes, np.float64))
    for row, members in enumerate(lines):
        for k in members:
            rows[int(k)] = row
    if not any(side_by_side([boxes[k] for k in members]) for members in lines):
        return [0] * len(boxes)
    spans = [(min(boxes[k][0] for k in members), max(boxes[k][2] for k in members)) for members in lines]
    if any(min(a[1], b[1]) - max(a[0], b[0]) < OVER * min(a[1] - a[0], b[1] - b[0]) for a, b in zip(spans, spans[1:])):
        return [0] * len(boxes)  # bands side by side, not one under the other: one line written uphill
    return rows


def _dashes(atoms, boxes, rows, line):
    """Indices of the atoms (row by row, left to right; `boxes` and `rows` theirs) that are one stroke
    and a dash (app.dashes) between the digits of its row beside it (`_beside`)."""
    return {k for k, box in enumerate(boxes)  # flat ones only look for their neighbours: a read pays for no more
            if len(atoms[k]) == 1 and box[3] - box[1] <= dashes.FLAT * (box[2] - box[0])
            and dashes.is_dash(box, _beside(boxes, rows, k, -1, line), _beside(boxes, rows, k, +1, line), line)}


def _commas(atoms, boxes, rows, line):
    """Indices of the atoms (row by row, left to right; `boxes` and `rows` theirs) that are one short
    stroke standing low after a digit of its row: at most COMMA of the line's height on its longer
    side, its centre in the lowest POINT_LOW of the digits beside it or below.
    A comma, or a point drawn as a short stroke: it goes with the taps (`arrange` makes it a decimal
    point where it stands as one, else drops it), never a digit of its own."""
    out = set()
    for k, box in enumerate(boxes):
        if len(atoms[k]) != 1 or max(box[2] - box[0], box[3] - box[1]) > COMMA * line:
            continue
        cy = (box[1] + box[3]) / 2
        left, right = _beside(boxes, rows, k, -1, line), _beside(boxes, rows, k, +1, line)
        # One within a digit's span is no atom of its own (`_part_of`: a bar or a base).
        if left is None or any(d is not None and cy < d[3] - POINT_LOW * (d[3] - d[1]) for d in (left, right)):
            continue
        out.add(k)
    return out


def _beside(boxes, rows, k, step, line):
    """The box of the digit of its row next to atom k on the side `step` (+1: right), or None where
    none is within a `line`'s height: the nearest atom, with the atoms past it that overlap or all but
    touch it (DIGIT_GAP; a 4's L alone sits high beside its stem), never the next digit (a 1's flag
    drawn apart is at the top of its stem, not at the middle of the digits after it)."""
    j = k + step
    if not (0 <= j < len(boxes) and rows[j] == rows[k]):
        return None
    digit = boxes[j]
    if (digit[0] - boxes[k][2] if step > 0 else boxes[k][0] - digit[2]) > line:
        return None
    for i in range(j + step, j + step * (MAX_RUN + 1), step):
        if not (0 <= i < len(boxes) and rows[i] == rows[k]):
            break
        if (boxes[i][0] - digit[2] if step > 0 else digit[0] - boxes[i][2]) > DIGIT_GAP * line:
            break
        digit = _union([digit, boxes[i]])
    return digit


def _prior(pairs, box, line):
    """Log-prior of reading neighbouring atoms as one digit: the log-odds of each neighbouring
    pair it joins (`pairs`), less the costs of a wide or low shape."""
    width, height = (box[2] - box[0]) / line, (box[3] - box[1]) / line
    return (SPLIT_BONUS + float(sum(pairs)) - WIDE_COST * max(0.0, width - WIDE)
            - LOW_COST * max(0.0, LOW - height))


def _pair_odds(a, b, line, consecutive):
    """Log-odds that atoms with boxes `a` and `b` (neighbours, left to right) are one digit."""
    wa, wb, ha, hb = a[2] - a[0], b[2] - b[0], a[3] - a[1], b[3] - b[1]
    gap = max(0.0, max(a[0], b[0]) - min(a[2], b[2])) / line
    wide, thin = (a, b) if wa >= wb else (b, a)
    half = max((wide[2] - wide[0]) / 2, 1e-9)
    edge = min(1.0, abs((thin[0] + thin[2]) / 2 - (wide[0] + wide[2]) / 2) / half)
    tall = min(ha, hb) >= TALL * line
    shared_y = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    stacked = 1.0 - min(1.0, shared_y / max(min(ha, hb), 1e-9))
    return (PAIR_BIAS - GAP_COST * gap - (EDGE_COST + TALL_EDGE_COST * tall) * edge
            + TIME_BONUS * consecutive + STACK_BONUS * stacked)


def singles(plan):
    """Indices of the candidates that are one atom each: always scored, first."""
    return [k for k, (start, end) in enumerate(plan.candidates) if end == start + 1]


def worth_scoring(plan, scores):
    """Indices of the multi-atom candidates that could still win, given the single atoms' scores.

    A model's log-probability is at most 0, so a run whose own prior is already below the sum of
    its atoms' scores read apart can never be chosen: skipping it changes no answer.
    """
    priors = plan.priors.tolist()  # plain floats, as in `choose`
    alone = [0.0] * len(plan.atoms)
    for k in singles(plan):
        alone[plan.candidates[k][0]] = float(scores[k]) + priors[k]
    return [k for k, (start, end) in enumerate(plan.candidates)
            if end > start + 1 and priors[k] > sum(alone[start:end])]


def choose(plan, scores):
    """The runs (start, end) of atoms that make the best reading, left to right.

    `scores[k]` is the model's log-score of `plan.candidates[k]` read as one digit (-inf where it
    was not scored); the plan's own log-priors (shape and order) are added to it.
    """
    n = len(plan.atoms)
    best = [0.0] + [-math.inf] * n  # plain floats: a live read's few candidates, not numpy scalars
    back = [None] * (n + 1)
    ending = {}
    for k, (start, end) in enumerate(plan.candidates):
        ending.setdefault(end, []).append((start, k))
    scores, priors = np.asarray(scores, np.float64).tolist(), plan.priors.tolist()
    for end in range(1, n + 1):
        for start, k in ending.get(end, ()):
            value = best[start] + scores[k] + priors[k]
            if value > best[end]:
                best[end], back[end] = value, (start, end)
    runs, end = [], n
    while end > 0:
        runs.append(back[end])
        end = back[end][0]
    return runs[::-1]


def arrange(plan, runs):
    """Groups line by line, left to right: the chosen digits, the dashes, and taps that stand for a
    decimal point."""
    def box_of(members):
        return _union([plan.strokes[i].box for i in members])

    def line_of(i):
        return plan.lines[i] if plan.lines else 0

    digits = []
    for start, end in runs:
        members = tuple(sorted(i for atom in plan.atoms[start:end] for i in atom))
        digits.append(Group("digit", members, box_of(members), (start, end), line_of(members[0])))
    points = []
    for t in plan.taps:
        x0, y0, x1, y1 = plan.strokes[t].box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        # Only the digits of its own line, those whose height (down to a point's depth below) it is at.
        beside = [g for g in digits if g.box[1] <= cy <= g.box[3] + POINT_BELOW * (g.box[3] - g.box[1])]
        if any(g.box[0] <= x1 and x0 <= g.box[2] for g in beside):
            continue  # over or under a digit: a stray mark
        left = [g for g in beside if g.box[2] < cx]
        if not left:
            continue  # before the first digit
        near = max(left, key=lambda g: g.box[2])
        bottom, height = near.box[3], near.box[3] - near.box[1]
        if bottom - POINT_LOW * height <= cy <= bottom + POINT_BELOW * height:
            points.append(Group("point", (t,), (x0, y0, x1, y1), line=near.line))
    dashes_ = [Group("dash", (i,), plan.strokes[i].box, line=line_of(i)) for i in plan.dashes]
    return sorted(digits + points + dashes_, key=lambda g: (g.line, (g.box[0] + g.box[2]) / 2))


def _part_of(a, b):
    """Whether stroke box `a` is plainly a part of the digit of stroke box `b`."""
    aw, ah = a[2] - a[0], a[3] - a[1]
    bh = b[3] - b[1]
    shared_x = min(a[2], b[2]) - max(a[0], b[0])
    if ah <= FLAT * bh and shared_x >= OVER * max(aw, 1e-9):
        # A bar or base: flat, over the other's span, and near it in height.
        return a[1] >= b[1] - 0.5 * bh and a[3] <= b[3] + 0.5 * bh
    shared_y = min(a[3], b[3]) - max(a[1], b[1])
    if _stacked(a, b, shared_x, shared_y):
        return True
    if shared_x <= 0 or shared_y <= 0 or aw < THIN * ah:
        return False
    return shared_x * shared_y >= INSIDE * max(aw, 1e-9) * max(ah, 1e-9)


def _stacked(a, b, shared_x, shared_y):
    """Whether stroke boxes `a` and `b` are loops or arcs one above the other over one span (an 8's
    loops, a 3's arcs): neither flat, sharing OVER of the narrower's width and at most STACKED of the
    shorter one's height. A row's digits stand side by side, so these are never two of them (rows of
    digits are told apart before, by `_rows`)."""
    aw, ah, bw, bh = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
    low = min(ah, bh)
    return (low >= ROUND * max(aw, bw) and shared_x >= OVER * max(min(aw, bw), 1e-9)
            and shared_y <= STACKED * max(low, 1e-9))


def _union(boxes):
    """The box around (x0, y0, x1, y1) boxes, as floats."""
    x0, y0, x1, y1 = zip(*boxes)
    return (float(min(x0)), float(min(y0)), float(max(x1)), float(max(y1)))
