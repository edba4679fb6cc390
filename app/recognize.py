"""From a picture to what is written in it: preprocessing, splitting, one model run.

Shared by the GUI and the command line so both read pictures the same way.
"""

from dataclasses import dataclass, field

import numpy as np

from app.preprocess import center_digit, drop_specks, to_ink
from app.segment import Piece, split_digits

LOW_CONFIDENCE = 0.6  # below this a guess is shown as a guess


@dataclass(frozen=True)
class Guess:
    """The model's answer for one digit; `image` is the 28x28x1 input it saw."""

    label: str
    confidence: float
    probabilities: np.ndarray
    image: np.ndarray
    box: tuple

    @property
    def sure(self):
        return self.confidence >= LOW_CONFIDENCE

    @property
    def runner_up(self):
        return str(int(np.argsort(self.probabilities)[-2]))


@dataclass(frozen=True)
class Reading:
    """Every digit found, left to right; empty when the picture holds no ink."""

    guesses: tuple = field(default_factory=tuple)

    @property
    def number(self):
        return "".join(g.label for g in self.guesses)

    @property
    def confidence(self):
        """The weakest digit's confidence (0 for no digit)."""
        return min((g.confidence for g in self.guesses), default=0.0)

    @property
    def sure(self):
        return bool(self.guesses) and all(g.sure for g in self.guesses)

    def summary(self):
        """One line: '7 (99.1%)', 'not sure: maybe 7 (41.0%)', or 'no digit'."""
        if not self.guesses:
            return "no digit"
        if self.sure:
            return f"{self.number} ({self.confidence:.1%})"
        return f"not sure: maybe {self.number} ({self.confidence:.1%})"


def read_drawing(predictor, drawing):
    """Read a canvas Drawing (app.drawing): the window's read path, the one benchmarks time."""
    if drawing.empty:
        return Reading()
    return read(predictor, drawing.pixels)


def read(predictor, image, single=False):
    """Read the digits in a Pillow image or array; `single` treats all ink as one digit."""
    ink = to_ink(image)
    if ink is None:
        return Reading()
    if single:
        h, w = ink.shape
        pieces = [Piece((0, 0, w, h), drop_specks(ink))]
    else:
        pieces = split_digits(ink)
    inputs, boxes = [], []
    for piece in pieces:
        model_input = center_digit(piece.ink)
        if model_input is not None:
            inputs.append(model_input)
            boxes.append(piece.box)
    if not inputs:
        return Reading()
    batch = np.stack(inputs)
    probabilities = predictor.predict(batch)
    guesses = []
    for model_input, box, p in zip(batch, boxes, probabilities):
        best = int(np.argmax(p))
        guesses.append(Guess(predictor.labels[best], float(p[best]), p, model_input, box))
    return Reading(tuple(guesses))
