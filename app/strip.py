"""A row of digits as the sequence model reads it: one 28-row strip in, per-column frames out (CTC).

One definition for training and the app. A piece of ink (several digits that touch or overlap) is
cut to its ink, its strokes thinned if far thicker than MNIST's, scaled so the ink is INK_ROWS tall
(aspect kept), placed between empty margins and padded to a multiple of STRIDE columns. The model
answers one frame per STRIDE columns: class 0 is CTC's blank, 1-10 the digits 0-9, 11 "not a
digit" (a letter or mark among digits). `decode` reads the frames greedily (best class per frame,
repeats merged, blanks dropped).
"""

from dataclasses import dataclass

import numpy as np

from app.pen import NORM_WIDTH
from app.preprocess import INK_THRESHOLD, THICK_SHARE, _erode, _ink_crop, scaled, stroke_width

HEIGHT = 28  # strip rows: the digit model's field
INK_ROWS = 20  # the ink's height in the strip: MNIST's 20-pixel box
STRIDE = 2  # strip columns per frame (the model pools once by 2 across): room for the blank between touching 1s
SIDE = 8  # empty columns before and after the ink: the first and last digit get context
MAX_COLUMNS = 640  # a wider strip (some 30 digits) is no number: refused (the caller falls back)
WORK_ROWS = 40  # thick strokes are thinned at this height, twice the rows they end at
BLANK = 0
LABELS = ("blank",) + tuple(str(d) for d in range(10)) + ("not a digit",)
CLASSES = len(LABELS)
INPUT_NAME = "strip"
OUTPUT_NAME = "frames"
NOT_A_DIGIT = CLASSES - 1


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
    """One decoded symbol: class index (1-10 digits, 11 not a digit), its best frame's
    probability, that frame's probabilities over all classes, and its frames (inclusive)."""

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
    if width > THICK_SHARE * WORK_ROWS:  # as app.preprocess.thin_thick_strokes does for one digit
        steps = int(round((width - NORM_WIDTH * WORK_ROWS) / 2))  # to the window's width
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
