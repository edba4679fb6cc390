"""A row of digits as the sequence model reads it: one 28-row strip in, per-column frames out (CTC).

One definition for training and the app. A piece of ink (several digits that touch or overlap) is
cut to its ink, its strokes thinned if far thicker than MNIST's, scaled so the ink is INK_ROWS tall
(aspect kept), placed between empty margins and padded to a multiple of STRIDE columns. The model
answers one frame per STRIDE columns: class 0 is CTC's blank, 1-10 the digits 0-9, 11 "not a
digit" (a letter or mark among digits). `decode` reads the frames greedily (best class per frame,
repeats merged, blanks dropped); `decode_best` reads the most probable text over all paths (a
prefix beam search), which the app uses.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from app.pen import NORM_WIDTH
from app.preprocess import THICK_SHARE, _erode, _ink_crop, scaled
from app.raster import INK_THRESHOLD, stroke_width

HEIGHT = 28  # strip rows: the digit model's field
INK_ROWS = 20  # the ink's height in the strip: MNIST's 20-pixel box
STRIDE = 2  # strip columns per frame (the model pools once by 2 across): room for the blank between touching 1s
SIDE = 8  # empty columns before and after the ink: the first and last digit get context
MAX_COLUMNS = 640  # a wider strip (some 30 digits) is no number: refused (the caller falls back)
WORK_ROWS = 40  # thick strokes are thinned at this height, twice the rows they end at
# Strokes thicker than THICK_SHARE of the ink's height are thinned. In a piece wider than ONE_DIGIT_ASPECT of its
# height (touching digits, most likely) to STRIP_WIDTH of it: eroding touching digits to the window's pen
# (app.pen.NORM_WIDTH, an eighth) leaves them too little of their shape. A narrower piece, one digit, is thinned
# to the window's pen as the digit model's preprocessing does. Tuned on the training writers' pictures (the
# default 28 px brush): touching numbers 77.5 % -> 82.0 % exact of 400, natural gaps 95.25 -> 96.75 %, numbers
# written in a form's boxes or on its line within a number or two of 400.
STRIP_WIDTH = 0.2
ONE_DIGIT_ASPECT = 0.8
BLANK = 0
LABELS = ("blank",) + tuple(str(d) for d in range(10)) + ("not a digit",)
CLASSES = len(LABELS)
INPUT_NAME = "strip"
OUTPUT_NAME = "frames"
NOT_A_DIGIT = CLASSES - 1
BEAM = 8  # texts kept per frame by decode_best
UNLIKELY = 1e-3  # a class this improbable in a frame extends no text there
NEGLIGIBLE = 1e-6  # a text this much less probable than the best is dropped
FLOOR = 1e-30  # least frame probability in log_likelihoods: RESCALE frames of it stay above float64's range
RESCALE = 8


@dataclass(frozen=True)
class Strip:
    """The model input `pixels` float32 (HEIGHT, W, 1) in [0, 1], W a multiple of STRIDE, and where
    it came from: strip column c shows ink column x0 + (c - SIDE) / scale."""

    pixels: np.ndarray
    x0: int
    scale: float

    @property
    def frames(self):
        return self.pixels.shape[1] // STRIDE

    def ink_columns(self, first, last):
        """The ink columns (start, end) that frames first..last (inclusive) cover."""
        start = self.x0 + (first * STRIDE - SIDE) / self.scale
        end = self.x0 + ((last + 1) * STRIDE - SIDE) / self.scale
        return start, end


@dataclass(frozen=True)
class Char:
    """One decoded symbol: class index (1-10 digits, 11 not a digit), its confidence (its best
    frame's probability as decoded; read_frames gives it the reading's), that frame's probabilities
    over all classes, and its frames (inclusive)."""

    index: int
    confidence: float
    probabilities: np.ndarray
    first: int
    last: int

    @property
    def label(self):
        return LABELS[self.index]


def strip_input(ink):
    """The Strip of a float ink map (white ink on black, 0..1), or None: no ink, or too wide."""
    crop = _ink_crop(np.asarray(ink, np.float32))
    if crop is None:
        return None
    h, w = crop.shape
    scale = WORK_ROWS / h
    if w * scale * INK_ROWS / WORK_ROWS + 2 * SIDE > MAX_COLUMNS:
        return None
    work = scaled(crop, WORK_ROWS / h)
    width = stroke_width(work > 0.5)
    if width > THICK_SHARE * WORK_ROWS:  # the line app.preprocess.thin_thick_strokes draws for one digit
        share = STRIP_WIDTH if w > ONE_DIGIT_ASPECT * h else NORM_WIDTH
        steps = int(round((width - share * WORK_ROWS) / 2))
        thinned = _erode(np.pad(work, 1), steps)[1:-1, 1:-1]
        if (thinned > INK_THRESHOLD).any():
            work = thinned
    small = np.clip(scaled(work, INK_ROWS / WORK_ROWS), 0.0, None)
    peak = float(small.max())
    if peak <= 0:
        return None
    small = np.minimum(small / peak, 1.0)  # every MNIST digit reaches full white
    columns = small.shape[1] + 2 * SIDE
    columns += -columns % STRIDE
    pixels = np.zeros((HEIGHT, columns, 1), np.float32)
    top = (HEIGHT - small.shape[0]) // 2
    pixels[top : top + small.shape[0], SIDE : SIDE + small.shape[1], 0] = small
    x0 = int(np.flatnonzero((np.asarray(ink) > INK_THRESHOLD).any(axis=0))[0])
    return Strip(pixels, x0, INK_ROWS / h)


def batch(strips):
    """Strips of different widths as one float32 (n, HEIGHT, W, 1) batch, right-padded with paper."""
    columns = max(s.pixels.shape[1] for s in strips)
    out = np.zeros((len(strips), HEIGHT, columns, 1), np.float32)
    for i, s in enumerate(strips):
        out[i, :, : s.pixels.shape[1]] = s.pixels
    return out


def decode(frames):
    """Greedy CTC decoding of (T, CLASSES) probabilities: the Chars, left to right."""
    frames = np.asarray(frames, np.float32)
    best = frames.argmax(axis=1)
    chars, t = [], 0
    while t < len(best):
        k = int(best[t])
        end = t
        while end + 1 < len(best) and best[end + 1] == k:
            end += 1
        if k != BLANK:
            peak = t + int(np.argmax(frames[t : end + 1, k]))
            chars.append(Char(k, float(frames[peak, k]), frames[peak].copy(), t, end))
        t = end + 1
    return chars


def decode_best(frames, beam=BEAM):
    """The most probable text of (T, CLASSES) probabilities summed over all CTC paths (prefix beam
    search keeping `beam` texts), as Chars placed by the most probable path that spells it.

    Greedy decoding follows the best path only; where a symbol's probability is spread over
    several paths (a digit half blank, half itself across its frames) the text can differ. Where
    the best path alone holds more than half the probability its text is returned at once."""
    frames = np.asarray(frames, np.float32)
    greedy = decode(frames)
    # The greedy text is at least as probable as the best path; past one half no other text can beat it.
    if not len(frames) or float(np.log(np.maximum(frames.max(axis=1), 1e-30)).sum()) > math.log(0.5):
        return greedy
    beams = {(): (1.0, 0.0)}  # text -> (probability ending in a blank, ending in its last symbol)
    for p in frames.astype(np.float64):
        likely = np.flatnonzero(p[1:] > UNLIKELY) + 1
        grown = {}
        for text, (blank, symbol) in beams.items():
            b, s = grown.get(text, (0.0, 0.0))
            b += (blank + symbol) * p[BLANK]
            if text and text[-1] in likely:
                s += symbol * p[text[-1]]  # the last symbol goes on
            grown[text] = (b, s)
            for k in likely:
                longer = text + (int(k),)
                b2, s2 = grown.get(longer, (0.0, 0.0))
                # A repeat of the last symbol needs a blank between.
                s2 += (blank if text and text[-1] == k else blank + symbol) * p[k]
                grown[longer] = (b2, s2)
        kept = sorted(grown.items(), key=lambda item: -sum(item[1]))[:beam]
        total = sum(sum(v) for _, v in kept)
        if total <= 0:
            return greedy
        # Texts a millionth as probable as the best cost time and as good as never win: dropped.
        floor = sum(kept[0][1]) * NEGLIGIBLE
        beams = {text: (b / total, s / total) for text, (b, s) in kept if b + s >= floor}
    best = max(beams, key=lambda text: sum(beams[text]))
    if best == tuple(c.index for c in greedy):
        return greedy
    return _aligned(frames, best)


def _aligned(frames, text):
    """Chars of `text` placed on its most probable path through `frames` (Viterbi)."""
    if not text:
        return []
    states = [BLANK]
    for k in text:
        states += [k, BLANK]
    states = np.array(states)
    n, t_max = len(states), len(frames)
    logp = np.log(np.maximum(frames[:, states], 1e-30))
    skip = np.zeros(n, bool)  # a state may be reached from two back: a symbol after a blank, unless repeated
    skip[3::2] = states[3::2] != states[1:-2:2]
    score = np.full(n, -np.inf)
    score[:2] = logp[0, :2]
    back = np.zeros((t_max, n), np.int64)
    for t in range(1, t_max):
        stay = score
        step = np.concatenate([[-np.inf], score[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        choices = np.stack([stay, step, jump])
        move = choices.argmax(axis=0)
        back[t] = np.arange(n) - move
        score = choices[move, np.arange(n)] + logp[t]
    state = n - 1 if n == 1 or score[n - 1] >= score[n - 2] else n - 2
    path = np.zeros(t_max, np.int64)
    for t in range(t_max - 1, -1, -1):
        path[t] = state
        state = back[t, state]
    chars = []
    for s in range(1, n, 2):
        on = np.flatnonzero(path == s)
        if not len(on):  # cannot happen on a path that spells the text; kept safe
            return decode(frames)
        k = int(states[s])
        peak = int(on[0] + np.argmax(frames[on[0] : on[-1] + 1, k]))
        chars.append(Char(k, float(frames[peak, k]), frames[peak].copy(), int(on[0]), int(on[-1])))
    return chars


def log_likelihood(frames, text):
    """log P(text | frames): the probability of the text (class indices, blank excluded) summed over
    every CTC path through the (T, CLASSES) frames; -inf where no path spells it."""
    return float(log_likelihoods(np.asarray(frames)[None], text)[0])


def log_likelihoods(members, text):
    """log_likelihood of `text` under each of several readers' frames (K, T, CLASSES), at once.

    The CTC forward pass in probabilities: one step is a product with the fixed matrix of allowed
    moves (stay, step, skip a blank), rescaled every RESCALE frames with the scale's log kept. Frame
    probabilities are floored at FLOOR, so RESCALE frames cannot underflow between rescalings."""
    members = np.maximum(np.asarray(members, np.float64), FLOOR)
    states = [BLANK]
    for k in text:
        states += [int(k), BLANK]
    n = len(states)
    moves = np.eye(n) + np.eye(n, k=1)
    for s in range(3, n, 2):  # a symbol may follow the one before it without a blank unless repeated
        moves[s - 2, s] = states[s] != states[s - 2]
    p = members[:, :, states]  # (K, T, states)
    alpha = np.zeros((len(members), n))
    alpha[:, :2] = p[:, 0, :2]
    log_scale = np.zeros(len(members))
    with np.errstate(divide="ignore"):
        for t in range(1, p.shape[1] + 1):
            if t % RESCALE == 0 or t == p.shape[1]:
                total = alpha.sum(axis=1)
                log_scale += np.log(total)
                alpha /= np.where(total > 0, total, 1.0)[:, None]
            if t < p.shape[1]:
                alpha = (alpha @ moves) * p[:, t]
        end = alpha[:, -1] + (alpha[:, -2] if n > 1 else 0.0)
        return log_scale + np.log(end)


def decode_members(members, beam=BEAM):
    """The Chars that several readers' frames (K, T, CLASSES) agree on best.

    Averaging frames does not work: each reader puts its spikes in its own frames. So each reader's
    most probable text (decode_best) is a candidate, and the candidate with the highest summed
    log-likelihood under all readers wins (ties: the first reader's). Its Chars are placed on the
    first reader's frames, whose confidences and ink columns the app was measured with."""
    lead = decode_best(members[0], beam)
    text = tuple(c.index for c in lead)
    candidates = {text} | {tuple(c.index for c in decode_best(f, beam)) for f in members[1:]}
    if len(candidates) == 1:
        return lead
    score = {t: float(log_likelihoods(members, t).sum()) for t in sorted(candidates)}
    best = max(score, key=lambda t: (score[t], t == text))
    return lead if best == text else _aligned(np.asarray(members[0], np.float32), best)


def read_frames(frames):
    """The Chars of one strip's frames, one reader's (T, CLASSES) or several readers' (T, K, CLASSES),
    each with the reading's confidence (text_probability) instead of its own frame's: a symbol is as
    sure as the text it is part of. The app's and the export's sure line are drawn on that."""
    frames = np.asarray(frames)
    members = frames[None] if frames.ndim == 2 else np.moveaxis(frames, 1, 0)
    chars = decode_best(members[0]) if len(members) == 1 else decode_members(members)
    confidence = text_probability(members, tuple(c.index for c in chars))
    return [replace(c, confidence=confidence) for c in chars]


def text_probability(members, text):
    """The probability of `text` (class indices) that the least convinced of the readers' frames
    (K, T, CLASSES) gives it, summed over all its CTC paths. Per symbol, a frame's probability says
    little: of the held-out rows, those whose every symbol's best frame was 0.9998 or more were still
    misread 1 time in 100; the text's own probability sorts them better (README, "A reading as sure as
    its text")."""
    return float(np.exp(log_likelihoods(members, text).min()))
