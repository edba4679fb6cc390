"""The number reader: numbers.onnx (a CNN trained with CTC) behind one reusable onnxruntime session, guarded.

It reads a piece of ink that holds several touching digits as a whole (app.strip). The contract:
input `strip` float32 [batch, 28, width, 1] (width dynamic, a multiple of app.strip.STRIDE), output
`frames` float32 [batch, width / STRIDE, 12], each frame a softmax over app.strip.LABELS (CTC's
blank, the ten digits, "not a digit"), or [batch, width / STRIDE, members, 12] for several readers
trained apart that vote on the text (app.strip.decode_members; the first one leads); metadata
`labels`, `stride` and `height`, where given, must be those of app.strip. The file is optional: it
lives beside the digit model as NUMBERS_FILE, and without it pictures are read by app.cuts alone. A
file that is there but breaks the contract is refused with a one-line ModelError, as app.predictor
refuses a digit model: a probe batch runs at load, and every run is checked for finite frames that
sum to 1.
"""

import json
from pathlib import Path

import numpy as np

from app.predictor import (ModelError, _reason, _shape_text, _type_name, check_probabilities, named_io,
                           open_session, sure_threshold_of)
from app.printable import printable
from app.strip import CLASSES, HEIGHT, INPUT_NAME, LABELS, OUTPUT_NAME, STRIDE, Strip, batch, read_frames, strip_input

NUMBERS_FILE = "numbers.onnx"


class NumberReader:
    """Load once, then `read` many times; `metadata` holds the model's metadata_props, `sure_threshold`
    the confidence from which a symbol it reads counts as sure (None: not in the metadata)."""

    def __init__(self, path, threads=1):
        self.path = Path(path)
        self._where = f"number reader {printable(self.path, limit=None)}"
        self._session, self.metadata = open_session(self.path, self._where, threads)
        self._check_metadata()
        # Chosen by the export on held-out writers' rows; None: the digit model's line applies.
        self.sure_threshold = sure_threshold_of(self.metadata, self._where, None)
        self._check_contract()
        self._probe()

    def read(self, inks):
        """For each ink map (float, white ink on black), (its app.strip.Strip, the Chars read in it,
        left to right, app.strip.read_frames); (None, []) for ink that makes no strip (none, or too
        wide). All strips go through the model in one run."""
        strips = [strip_input(ink) for ink in inks]
        made = [s for s in strips if s is not None]
        frames = iter(self.frames(made))
        return [(s, read_frames(next(frames))) if s is not None else (None, []) for s in strips]

    def frames(self, strips):
        """Per strip, its frames float32 (strip.frames, CLASSES), or (strip.frames, members, CLASSES)
        from a file of several readers: one model run for all of them."""
        if not strips:
            return []
        out = self._run(batch(strips))
        return [out[i, : s.frames] for i, s in enumerate(strips)]

    def _run(self, pixels):
        n, width = len(pixels), pixels.shape[2]
        try:
            (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: pixels})
        except Exception as exc:  # onnxruntime's run-time failures have no common type
            raise ModelError(f"{self._where} failed on {n} strip(s) of {width} columns: {_reason(exc)}") from None
        out = np.asarray(out)
        expected = (n, width // STRIDE) + ((out.shape[2],) if out.ndim == 4 else ()) + (CLASSES,)
        if out.shape != expected or 0 in out.shape[2:]:
            raise ModelError(
                f"{self._where}: '{OUTPUT_NAME}' has shape {list(out.shape)} for {n} strip(s) of {width} "
                f"columns; expected {list(expected)} (one frame per {STRIDE} columns, {CLASSES} classes)"
            )
        return check_probabilities(out, f"{self._where}: '{OUTPUT_NAME}'", "frames")

    def _probe(self):
        """Run two strips of different widths now (one batch, the narrower padded), so that a model
        that only runs with batch 1, or only fails at run time, is refused at load."""
        narrow = np.zeros((HEIGHT, 8 * STRIDE, 1), np.float32)
        wide = np.zeros((HEIGHT, 12 * STRIDE, 1), np.float32)
        wide[4:24, 10:13] = 1.0  # two plain strokes, "11"
        wide[4:24, 30:33] = 1.0
        self.frames([Strip(narrow, 0, 1.0), Strip(wide, 0, 1.0)])

    def _check_contract(self):
        where = self._where
        given, output = named_io(self._session, where, INPUT_NAME, OUTPUT_NAME)
        shape = given.shape
        if given.type != "tensor(float)" or len(shape) != 4 or shape[1] != HEIGHT or shape[3] != 1 \
                or isinstance(shape[2], int):
            raise ModelError(
                f"{where}: input '{INPUT_NAME}' must be float32 [batch, {HEIGHT}, width, 1] with any width, "
                f"found {_type_name(given.type)} {_shape_text(shape)}"
            )
        shape = output.shape
        if output.type != "tensor(float)" or len(shape) not in (3, 4) or shape[-1] != CLASSES:
            raise ModelError(
                f"{where}: output '{OUTPUT_NAME}' must be float32 [batch, frames, {CLASSES}] or "
                f"[batch, frames, members, {CLASSES}], found {_type_name(output.type)} {_shape_text(shape)}"
            )

    def _check_metadata(self):
        """Metadata that says the model reads other strips or classes than app.strip makes is refused."""
        expected = {"labels": list(LABELS), "stride": STRIDE, "height": HEIGHT}
        for key, value in expected.items():
            if key not in self.metadata:
                continue
            try:
                found = json.loads(self.metadata[key])
            except ValueError:
                found = None
            if found != value:
                raise ModelError(
                    f"{self._where}: metadata '{key}' must be {json.dumps(value)}, "
                    f"found {printable(self.metadata[key], limit=80)}"
                )


def beside(model_path, threads=1):
    """The NumberReader of NUMBERS_FILE in the digit model's directory, or None when there is none
    (pictures are then read by app.cuts alone). ModelError when it is there but unusable."""
    path = Path(model_path).parent / NUMBERS_FILE
    if not path.exists() and not path.is_symlink():
        return None
    return NumberReader(path, threads)


def char_columns(strip, chars, ink):
    """Columns (x0, x1) of `ink` (the map `strip` was made of) that each Char stands for, left to right.

    CTC marks a symbol with a spike a frame or two wide, narrower than the digit, and this reader
    spikes where a digit begins (measured on training writers' numbers: the spike's centre at a
    median 3 % of the digit's width before its first column): each char after the first starts at
    the centre of its spike, the first starts at the ink's left edge and the last ends at its right
    edge. (Parting at the least ink between two spikes cut inside the left digit: 8 % of borders
    within a tenth of the height of the true one, against 51 % from the spike.)"""
    w = ink.shape[1]
    if not chars:
        return []
    borders = [0]
    for c in chars[1:]:
        start, end = strip.ink_columns(c.first, c.last)
        borders.append(int(np.clip(round((start + end) / 2), min(borders[-1] + 1, w), w)))
    borders.append(w)
    return list(zip(borders, borders[1:]))
