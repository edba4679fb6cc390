"""From a drawing or a picture to what is written in it: pieces, centring, one batched model run.

Shared by the GUI and the command line. Two front doors converge on the same pieces: a drawing's
strokes are grouped into digits by app.strokes (on-line: by place, order and the model's scores),
a picture's ink is split by app.segment (off-line). Each piece is centred MNIST-style and all of
them go through the model in one predict call; a picture's piece that may hold touching digits is
read whole by the number reader (app.numbers) when the model comes with one. A drawing's groups are
also read from their pen path by the stroke reader (app.trajectory) when the model comes with one, and
the two answers are fused.
"""

import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from app import cuts, numbers, strip, trajectory
from app import strokes as pen_strokes
from app.pen import model_input
from app.predictor import NOT_A_DIGIT
from app.preprocess import drop_specks, ink_and_blobs, picture_input
from app.raster import INK_THRESHOLD
from app.segment import Piece, split_digits

LOW_CONFIDENCE = 0.6  # below this a guess is shown as a guess, unless the model says otherwise
DIGITS = tuple(str(d) for d in range(10))
DECIMAL_POINT = "."
DASH = "-"  # a minus sign before a number, a hyphen between digits ("555-1234")
SEPARATORS = (DECIMAL_POINT, DASH)  # marks read from their shape, with no scores of their own
SIZEABLE = 0.3  # a not-a-digit piece this tall next to the digits (longer side) spoils a reading
INPUT_CACHE = 256  # stroke groups whose model inputs (and answers, per model) are kept between reads


@dataclass(frozen=True)
class Guess:
    """The model's answer for one piece; `image` is the 28x28x1 input it saw, `box` the piece's
    box (x0, y0, x1, y1) in canvas or picture pixels. A decimal point (".") and a dash ("-") are
    Guesses with no probabilities of their own (all zero)."""

    label: str
    confidence: float
    probabilities: np.ndarray
    image: np.ndarray
    box: tuple
    labels: tuple = DIGITS
    threshold: float = LOW_CONFIDENCE

    @property
    def sure(self):
        return self.confidence >= self.threshold

    @property
    def is_digit(self):
        return self.label in DIGITS

    @property
    def is_separator(self):
        """A decimal point or a dash: read from its shape and place, not by the model."""
        return self.label in SEPARATORS

    @property
    def runner_up(self):
        """The most likely other label: the number reader's voted label need not top its bars."""
        order = np.argsort(self.probabilities)[::-1]
        return next((self.labels[k] for k in order if self.labels[k] != self.label), self.labels[order[0]])


@dataclass(frozen=True)
class Reading:
    """Every piece found, left to right (digits, decimal points, dashes, not-a-digit pieces); empty
    when there is no ink. `number` holds the digits, decimal points and dashes only."""

    guesses: tuple = field(default_factory=tuple)

    @property
    def digits(self):
        """The digit guesses, left to right."""
        return tuple(g for g in self.guesses if g.is_digit)

    @property
    def number(self):
        if not self.digits:
            return ""
        return "".join(g.label for g in self.guesses if g.is_digit or g.is_separator)

    @property
    def not_a_digit(self):
        """True when there is something, and none of it is a digit."""
        return bool(self.guesses) and not self.digits

    @property
    def confidence(self):
        """The weakest digit's confidence (for no digit: the weakest piece's, or 0)."""
        read = self.digits or tuple(g for g in self.guesses if not g.is_separator)
        return min((g.confidence for g in read), default=0.0)

    @property
    def sure(self):
        """Every digit sure and no sizeable not-a-digit piece beside them (or: surely no digit)."""
        if self.not_a_digit:
            return all(g.sure for g in self.guesses if not g.is_separator)
        if not self.digits or not all(g.sure for g in self.digits):
            return False
        height = max(_side(g.box) for g in self.digits)
        return not any(g.label == NOT_A_DIGIT and _side(g.box) >= SIZEABLE * height for g in self.guesses)

    def summary(self):
        """One line: '7 (99.1%)', 'not sure: maybe 7 (41.0%)', 'not a digit' or 'no digit'."""
        if not self.guesses:
            return "no digit"
        if self.not_a_digit:
            return NOT_A_DIGIT
        if self.sure:
            return f"{self.number} ({self.confidence:.1%})"
        return f"not sure: maybe {self.number} ({self.confidence:.1%})"

    def as_json(self):
        """A JSON-ready dict: number (None for no digit), not_a_digit, sure, confidence, a list of
        the pieces ("digits"), and for exactly one piece its digit, confidence and probabilities."""
        pieces = [
            {
                "label": g.label,
                "digit": int(g.label) if g.is_digit else None,
                "confidence": round(g.confidence, 6),
                "sure": g.sure,
                "probabilities": [round(float(p), 6) for p in g.probabilities],
                "box": [int(round(v)) for v in g.box],
            }
            for g in self.guesses
        ]
        one = pieces[0] if len(pieces) == 1 else None
        return {
            "number": self.number or None,
            "not_a_digit": self.not_a_digit,
            "sure": self.sure,
            "digit": one["digit"] if one else None,
            "confidence": round(self.confidence, 6) if pieces else None,
            "probabilities": one["probabilities"] if one else None,
            "digits": pieces,
        }


def read_drawing(predictor, drawing):
    """Read a canvas Drawing (app.drawing) from its strokes: the window's read path."""
    strokes = pen_strokes.from_drawing(drawing.strokes)
    plan = pen_strokes.plan(strokes)
    if not plan.candidates:
        return Reading()  # nothing, or only taps: no digit
    reader = getattr(predictor, "trajectory", None)
    threshold = reader.sure_threshold if reader is not None else None
    # The single atoms first; then only the merges that could still beat them (usually none).
    images, probabilities = {}, np.zeros((len(plan.candidates), len(predictor.labels)), np.float32)
    scores = np.full(len(plan.candidates), -np.inf)
    todo = pen_strokes.singles(plan)
    while todo:
        groups = [_members(plan, plan.candidates[k]) for k in todo]
        keys = [_stroke_key(strokes, members) for members in groups]
        for k, members, key in zip(todo, groups, keys):
            images[k] = _stroke_input(strokes, members, key)
        probabilities[todo] = _group_answers(predictor, reader, keys, [images[k] for k in todo],
                                             [[strokes[i].points for i in members] for members in groups])
        scores[todo] = _digit_scores(predictor, probabilities[todo])
        todo = [k for k in pen_strokes.worth_scoring(plan, scores) if k not in images]
    runs = pen_strokes.choose(plan, scores)
    chosen = {c: k for k, c in enumerate(plan.candidates)}
    width, height = drawing.size
    guesses = []
    for group in pen_strokes.arrange(plan, runs):
        pad = max(strokes[i].width for i in group.members) / 2
        x0, y0, x1, y1 = group.box
        box = (max(0, math.floor(x0 - pad)), max(0, math.floor(y0 - pad)),
               min(width, math.ceil(x1 + pad) + 1), min(height, math.ceil(y1 + pad) + 1))
        if group.kind in ("point", "dash"):
            guesses.append(_separator(predictor, box, DECIMAL_POINT if group.kind == "point" else DASH))
            continue
        k = chosen[group.run]
        guesses.append(_guess(predictor, probabilities[k], images[k], box, threshold=threshold))
    return Reading(_separators_in_place(tuple(guesses), point_last=True))


def read(predictor, image, single=False):
    """Read the digits in a Pillow image or array; `single` treats all ink as one digit.

    The ink is labelled once; a piece that may hold touching digits is read whole by the number
    reader (app.numbers) when the model has one, else (or when it finds nothing there) split by
    recognition (app.cuts) in one predict call; a piece too narrow to cut (cuts.may_touch) goes to
    both, and the digit model's one digit stands only where it is sure of it; neighbours that
    overlap across, one read as "not a digit", are one digit where together they surely are (one
    more run, only then); a short mark the model is unsure of is "not a digit"; a dot or comma
    between digits reads as ".", a dash before a digit as "-"; BadImage for absurd pictures.
    """
    inked = ink_and_blobs(image)
    if inked is None:
        return Reading()
    ink, found = inked
    if single:
        h, w = ink.shape
        pieces = [Piece((0, 0, w, h), drop_specks(ink, found), whole=True)]
    else:
        pieces = split_digits(ink, found)
    digit_pieces = [p for p in pieces if p.kind == "digit"]
    cuts.check_work(digit_pieces)
    wide = [cuts.may_cut(p) for p in digit_pieces]
    # More digit pieces than a row of digits holds is a page, not a number: its narrow pieces stay
    # with the digit model alone, so that the read stays as bounded as before.
    few = len(digit_pieces) <= cuts.MAX_DIGITS
    narrow = [few and not cut and cuts.may_touch(p) for p, cut in zip(digit_pieces, wide)]
    texts = _read_texts(predictor, digit_pieces, [a or b for a, b in zip(wide, narrow)])
    # The digit model reads what the number reader does not, and the narrow pieces it does: one run.
    asked = [i for i, text in enumerate(texts) if text is None or narrow[i]]
    by_cuts = dict(zip(asked, cuts.read_pieces(predictor, [digit_pieces[i] for i in asked])))
    line = getattr(getattr(predictor, "numbers", None), "sure_threshold", None)
    read_as = []  # per piece, its guesses
    k = 0
    for piece in pieces:
        if piece.kind in ("separator", "dash"):
            read_as.append([_separator(predictor, piece.box, DECIMAL_POINT if piece.kind == "separator" else DASH)])
            continue
        if k in by_cuts and (texts[k] is None or not _unsure_of_one(predictor, by_cuts[k])):
            read_as.append([_guess(predictor, one.probabilities, one.image, one.box, one.digit) for one in by_cuts[k]])
        else:
            row, chars = texts[k]
            columns = numbers.char_columns(row, chars, piece.ink)
            read_as.append([_char_guess(predictor, piece, char, span, line) for char, span in zip(chars, columns)])
        k += 1
    _stray_marks(predictor, pieces, read_as)
    _join_split_digits(predictor, pieces, read_as)
    return Reading(_separators_in_place(tuple(g for found in read_as for g in found)))


# A digit piece under this share of its line's digit height, read as a digit the model is not sure of,
# is a stray mark (a scratch, a speck of a neighbour's stroke at a crop's edge). MNIST training images
# 20,000-26,000 re-drawn as the robustness benchmark draws them: 99.17 -> 99.30 % read right (split
# into two digits 16 -> 8; 0.4: 99.28 %, 0.6 as 0.5); training writers' pictures: single digits +2 of
# 4,000, numbers the same (2,000).
STRAY = 0.5


def _stray_marks(predictor, pieces, read_as):
    """A digit piece under STRAY of its line's digit height read as one digit the model is not sure
    of is a stray mark (a speck of a neighbour's stroke, a scratch): "not a digit" (changed in place)."""
    labels = tuple(predictor.labels)
    if NOT_A_DIGIT not in labels:
        return
    for piece, found in zip(pieces, read_as):
        if piece.kind != "digit" or len(found) != 1 or not found[0].is_digit or found[0].sure:
            continue
        if piece.box[3] - piece.box[1] < STRAY * piece.digit_height:
            found[0] = replace(found[0], label=NOT_A_DIGIT,
                               confidence=float(found[0].probabilities[labels.index(NOT_A_DIGIT)]))


# Neighbours on a line, one of them "not a digit", this share of the line's digit height apart or closer
# are read together too (a 4 whose L stands apart from its stem). Training writers' numbers in pictures,
# 300 each with natural gaps, a point, a hyphen, a minus sign (L read "not a digit": "4132" read "1132"):
# 0 (boxes must overlap) -> 0.2: 7 more read right, 0.35: 8, none fewer; touching numbers and 1,000
# single digits the same.
JOIN_GAP = 0.35


def _join_split_digits(predictor, pieces, read_as):
    """A digit the picture split in two (a 4's stem apart from the rest): neighbours on a line whose
    boxes overlap across or stand at most JOIN_GAP apart, each read as one thing and one of them "not
    a digit", are read together (one more model run, only when there are such pairs); where together
    they are surely one digit, that digit stands for both (`read_as` changed in place)."""
    pairs = [i for i in range(len(pieces) - 1)
             if pieces[i].kind == pieces[i + 1].kind == "digit" and pieces[i].line == pieces[i + 1].line
             and pieces[i + 1].box[0] - pieces[i].box[2] < JOIN_GAP * _line_height(pieces[i], pieces[i + 1])
             and len(read_as[i]) == len(read_as[i + 1]) == 1
             and NOT_A_DIGIT in (read_as[i][0].label, read_as[i + 1][0].label)]
    together = []  # (left piece's index, box around both, model input of both)
    for i in pairs:
        box = _union(pieces[i].box, pieces[i + 1].box)
        image = picture_input(_joined_ink(box, pieces[i], pieces[i + 1]))
        if image is not None:
            together.append((i, box, image))
    if not together:
        return
    probabilities = _run(predictor, [image for _, _, image in together])
    taken = set()
    for (i, box, image), p in zip(together, probabilities):
        if i in taken:
            continue
        joined = _guess(predictor, p, image, box)
        if joined.is_digit and joined.sure:
            read_as[i], read_as[i + 1] = [joined], []
            taken |= {i, i + 1}


def _line_height(*pieces):
    """The digit height of the pieces' line, or where it is unknown the tallest piece's height."""
    return pieces[0].digit_height or max(p.box[3] - p.box[1] for p in pieces)


def _union(a, b):
    """The box (x0, y0, x1, y1) around boxes `a` and `b`."""
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _joined_ink(box, *parts):
    """The ink of `parts` (app.segment.Piece) in one map covering `box`."""
    ink = np.zeros((box[3] - box[1], box[2] - box[0]), np.float32)
    for part in parts:
        x0, y0, x1, y1 = part.box
        region = ink[y0 - box[1] : y1 - box[1], x0 - box[0] : x1 - box[0]]
        np.maximum(region, part.ink, out=region)
    return ink


def _separators_in_place(guesses, point_last=False):
    """`guesses` without the separators out of place: a decimal point needs a digit on either side (a
    mark beside "not a digit", a stub of a ruled line beside a desk cut in two, is no decimal point;
    `point_last`: or nothing after it, as the window shows "3." before the 1 of "3.1" is drawn), a
    dash a digit after it and nothing but a digit before it ("-5", "555-1234")."""
    def digit(i):
        return 0 <= i < len(guesses) and guesses[i].label in DIGITS

    def in_place(i, g):
        if g.label == DECIMAL_POINT:
            return digit(i - 1) and (digit(i + 1) or (point_last and i == len(guesses) - 1))
        if g.label == DASH:
            return (i == 0 or digit(i - 1)) and digit(i + 1)
        return True

    return tuple(g for i, g in enumerate(guesses) if in_place(i, g))


def _unsure_of_one(predictor, found):
    """Whether the digit model, reading a narrow piece whole (`found`: its app.cuts.Found list),
    is not sure that it is one digit: then the number reader's reading of the piece stands."""
    if len(found) != 1:
        return False
    return float(np.max(found[0].probabilities[_digit_columns(predictor)])) < _threshold(predictor)


def _read_texts(predictor, pieces, chosen):
    """Per digit piece, (its app.strip.Strip, the Chars the number reader reads in it) where
    `chosen` and the reader finds something, else None (app.cuts reads it): one run for all. The
    reader's symbols are sure from its own line (its metadata), else from the digit model's."""
    reader = getattr(predictor, "numbers", None)
    out = [None] * len(pieces)
    sent = [i for i, piece in enumerate(pieces) if reader is not None and chosen[i]]
    if not sent:
        return out
    for i, (row, chars) in zip(sent, reader.read([pieces[i].ink for i in sent])):
        if chars:
            out[i] = (row, chars)
    return out


def _char_guess(predictor, piece, char, columns, threshold=None):
    """The Guess of one app.strip.Char read in `piece`, standing for its ink columns (x0, x1), sure
    from `threshold` (None: the digit model's line).

    The bars are the char's frame over the digit model's labels (blank dropped, renormalised), so
    they read like a digit's. The confidence is the reading's (app.strip.read_frames): the probability
    of the whole text the char is part of, which the reader's sure line was chosen on. The image is
    that stretch of ink centred as a digit, for the why-view and corrections."""
    labels = tuple(predictor.labels)
    frame = np.asarray(char.probabilities, np.float32)
    probabilities = np.array([frame[strip.LABELS.index(label)] for label in labels], np.float32)
    total = float(probabilities.sum())
    if total > 0:
        probabilities /= total
    label = char.label if char.label in labels else labels[int(np.argmax(probabilities))]
    x0, x1 = columns
    part = piece.ink[:, x0:x1]
    image = picture_input(part)
    mask = part > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows):
        x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
        y0, y1 = int(rows[0]), int(rows[-1]) + 1
    else:
        y0, y1 = 0, piece.ink.shape[0]
    box = (piece.box[0] + x0, piece.box[1] + y0, piece.box[0] + x1, piece.box[1] + y1)
    return Guess(label, float(char.confidence), probabilities,
                 image if image is not None else np.zeros((28, 28, 1), np.float32), box, labels,
                 _threshold(predictor) if threshold is None else float(threshold))


# -- the shared end of both paths -------------------------------------------------


def _run(predictor, images):
    """Probabilities (n, K) of the model inputs: one predict call."""
    if not images:
        return np.zeros((0, len(predictor.labels)), np.float32)
    return predictor.predict(np.stack(images))


def _guess(predictor, probabilities, image, box, digit=False, threshold=None):
    """`digit`: the piece is known to be a digit (a part of a cut piece): its most probable digit.
    `threshold`: the line of sure answers when it is not the model's (fused answers have their own)."""
    labels = tuple(predictor.labels)
    columns = [k for k, label in enumerate(labels) if label in DIGITS] if digit else []
    best = columns[int(np.argmax(probabilities[columns]))] if columns else int(np.argmax(probabilities))
    return Guess(labels[best], float(probabilities[best]), probabilities, image, tuple(box), labels,
                 _threshold(predictor) if threshold is None else threshold)


def _separator(predictor, box, label):
    """A decimal point or a dash (`label`): sure, with no scores of its own."""
    labels = tuple(predictor.labels)
    return Guess(label, 1.0, np.zeros(len(labels), np.float32), np.zeros((28, 28, 1), np.float32),
                 box, labels, _threshold(predictor))


def _threshold(predictor):
    return float(getattr(predictor, "sure_threshold", LOW_CONFIDENCE))


def _digit_columns(predictor):
    """The model's output columns that are digits (all of them for a model without "not a digit")."""
    return [k for k, label in enumerate(predictor.labels) if label in DIGITS] or slice(None)


def _digit_scores(predictor, probabilities):
    """Log of each candidate's most probable digit (a not-a-digit answer scores low)."""
    best = probabilities[:, _digit_columns(predictor)].max(axis=1)
    return np.log(np.maximum(best, 1e-6))


# -- strokes to model inputs --------------------------------------------------------


def _members(plan, run):
    start, end = run
    return tuple(sorted(i for atom in plan.atoms[start:end] for i in atom))


class _Cache:
    """The newest `size` values by key (least recently used dropped first)."""

    def __init__(self, size):
        self.size = size
        self.items = OrderedDict()

    def get(self, key):
        """The value kept for `key`, or None."""
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key, value):
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value

    def rows(self, keys, compute):
        """The rows kept for `keys`, stacked; those missing come from ONE call of `compute(indices)`
        (rows for those of `keys`) and are kept."""
        known = [self.get(key) for key in keys]
        missing = [i for i, row in enumerate(known) if row is None]
        if missing:
            for i, row in zip(missing, compute(missing)):
                known[i] = self.put(keys[i], row)
        return np.stack(known)


# The live window re-reads a drawing every few dozen milliseconds and only the newest stroke's
# groups change: their model inputs, and each predictor's answers for them, are kept between reads.
_inputs = _Cache(INPUT_CACHE)
_answered = weakref.WeakKeyDictionary()  # predictor -> (its adapter when it answered, _Cache)


def _stroke_key(strokes, members):
    """What a group's model input depends on: each member's brush width and exact points."""
    return tuple((strokes[i].width, strokes[i].points.tobytes()) for i in members)


def _stroke_input(strokes, members, key):
    """The window's model input of one group of strokes (`key`: its _stroke_key): width-normalised
    ink, centred."""
    image = _inputs.get(key)
    if image is None:
        chosen = [strokes[i] for i in members]
        # A tap with a pixel of jitter stays a dot instead of being blown up into a line.
        image = model_input(tuple(s.points for s in chosen), min_extent=max(s.width for s in chosen))
        _inputs.put(key, image)
    return image


def _answers(predictor, keys, images):
    """Probabilities (n, K) of model inputs known by `keys`: one predict call for those `predictor`
    has not answered yet. A predictor whose answers change (app.adapt.Personal) swaps its `adapter`
    when they do, which forgets what it answered before."""
    try:
        adapter, answered = _answered.get(predictor, (None, None))
    except TypeError:  # a predictor that cannot be weakly referenced: nothing kept
        return _run(predictor, images)
    state = getattr(predictor, "adapter", None)
    if answered is None or adapter is not state:
        answered = _Cache(INPUT_CACHE)
        _answered[predictor] = (state, answered)
    return answered.rows(keys, lambda missing: _run(predictor, [images[i] for i in missing]))


_paths = weakref.WeakKeyDictionary()  # stroke reader -> _Cache of its answers by _stroke_key
_fused = weakref.WeakKeyDictionary()  # predictor -> ((adapter, stroke reader, weight) when it answered, _Cache)


def _group_answers(predictor, reader, keys, images, paths):
    """Probabilities (n, K) of stroke groups known by `keys` (`images` their model inputs, `paths` their
    strokes' points): the digit model's, fused with the stroke reader's (`reader`, or None) where that
    could change them. Kept per predictor as `_answers` keeps its own, so a live re-read of the groups
    it has seen does no arithmetic at all."""
    if reader is None:
        return _answers(predictor, keys, images)
    try:
        state, fused = _fused.get(predictor, (None, None))
    except TypeError:  # a predictor that cannot be weakly referenced: nothing kept
        return _fuse_groups(predictor, reader, keys, images, paths)
    now = (getattr(predictor, "adapter", None), reader, reader.weight)
    if fused is None or state[0] is not now[0] or state[1] is not now[1] or state[2] != now[2]:
        fused = _Cache(INPUT_CACHE)
        _fused[predictor] = (now, fused)
    return fused.rows(keys, lambda missing: _fuse_groups(
        predictor, reader, [keys[i] for i in missing], [images[i] for i in missing], [paths[i] for i in missing]))


def _fuse_groups(predictor, reader, keys, images, paths):
    """`_group_answers` worked out: the stroke reader reads only the groups whose answer it could change."""
    probabilities = _answers(predictor, keys, images)
    ask = np.flatnonzero(~trajectory.settled(probabilities, reader.weight))
    if len(ask):
        answers = _path_answers(reader, [keys[j] for j in ask], [paths[j] for j in ask])
        probabilities[ask] = trajectory.fuse(probabilities[ask], answers, reader.weight)
    return probabilities


def _path_answers(reader, keys, groups):
    """The stroke reader's probabilities (n, K) of groups of strokes known by `keys`: one run for those
    it has not answered yet (as _answers does for the digit model)."""
    try:
        answered = _paths.setdefault(reader, _Cache(INPUT_CACHE))
    except TypeError:  # a reader that cannot be weakly referenced: nothing kept
        return reader.predict(groups)
    return answered.rows(keys, lambda missing: reader.predict([groups[i] for i in missing]))


def _side(box):
    return max(box[2] - box[0], box[3] - box[1])
