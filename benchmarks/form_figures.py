"""Forms: the held-out writers' digits written one per place of a form, scanned and photographed.

A form's printing is straight lines as dark as the pen; read as ink a box's sides are 1s and a line
to write on joins the digits that sit on it. Each digit is fitted into its place (a box, or a square
over the line) with a margin, drawn with a brush from the slider's range, the form's lines (1-3 px)
are printed over it, and the page is tilted up to 1.5 degrees as a scan or a hand-held photo is; the
picture is read as is (a scan) and as a phone photo of it (app.recognize.read, the `predict` path).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.pen_figures import CMD, NUMBERS, SAMPLE_SEED, drawn, one_writers_digits, photo, prolific
from benchmarks.stats import SINGLE, Row

STREAM = SAMPLE_SEED + 9  # a random stream of its own: the other pen figures stay as they were


def printed(shape, x0, y0, cell, cells, width, form):
    """A row of `cells` places `cell` px wide from (x0, y0) as ink levels, lines `width` px: square
    boxes, a line under them to write on, or that line with ticks a third of a place tall between them."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    y, x = yy - y0, xx - x0
    along = (x > -width) & (x < cells * cell + width)
    under = np.abs(y - cell) < width / 2
    upright = np.min([np.abs(x - k * cell) for k in range(cells + 1)], axis=0) < width / 2
    if form == "boxes":
        lines = (under | (np.abs(y) < width / 2) | upright) & (y > -width) & (y < cell + width)
    elif form == "ticks":
        lines = under | (upright & (y > cell * 2 / 3) & (y < cell))
    else:
        lines = under
    return np.where(along & lines, 255, 0).astype(np.uint8)


def boxed(samples, rng, size, brush_range, cell, form="boxes"):
    """Ink levels of `samples` written one per place of a `form` (see `printed`) `cell` px wide, tilted;
    and the same writing without the form."""
    from app.pen import fit

    w, h = size
    x0, y0 = (w - len(samples) * cell) / 2, (h - cell) / 2
    inner = cell * (1 - 2 * 0.1)  # the digit's box at the largest margin drawn (10 %)
    brush = float(rng.uniform(brush_range[0], min(brush_range[1], inner / 3)))
    strokes = []
    for k, sample in enumerate(samples):
        m = cell * rng.uniform(0.1, 0.25)
        strokes += fit(sample.strokes, (x0 + k * cell + m, y0 + m, x0 + (k + 1) * cell - m, y0 + cell - m))
    bare = drawn(strokes, size, brush).pixels
    ink = np.maximum(bare, printed((h, w), x0, y0, cell, len(samples), int(rng.integers(1, 4)), form))
    tilt = rng.uniform(-1.5, 1.5)
    return tuple(np.asarray(Image.fromarray(a.astype(np.uint8)).rotate(tilt, resample=Image.Resampling.BILINEAR))
                 for a in (ink, bare))


def forms(predictor, digits, by_writer, size, brush_range) -> list[Row]:
    """Rows: single digits in a printed box, numbers of one writer one per box, on a line, on a line
    with ticks; each beside the same writing read without the form (what the form costs)."""
    from app.recognize import read

    rng = np.random.default_rng(STREAM)
    scanned = photographed = without = 0
    for sample in digits:
        ink, bare = boxed([sample], rng, size, brush_range, float(rng.uniform(60, size[1] / 1.6)))
        scanned += read(predictor, 255 - ink).number == sample.label
        photographed += read(predictor, photo(ink, rng)).number == sample.label
        without += read(predictor, 255 - bare).number == sample.label
    writers = prolific(by_writer)
    n = len(digits)
    how = "boxes 60-200 px, lines 1-3 px as dark as the pen, tilted up to 1.5 degrees"
    rows = [Row(f"pen digits written in a printed box, scanned / phone-photo-like / the writing without the box "
                f"(predict; {how}): accuracy",
                f"{scanned / n:.2%} / {photographed / n:.2%} / {without / n:.2%} of {n}", "", CMD, SINGLE, None)]
    for form, where in (("boxes", "one per box in a form's row of boxes"), ("line", "on a form's line"),
                        ("ticks", "on a form's line parted by ticks")):
        right = np.zeros(3)
        for _ in range(NUMBERS):
            chosen = one_writers_digits(by_writer, writers, rng)
            truth = "".join(s.label for s in chosen)
            cell = float(rng.uniform(60, min(130, (size[0] - 40) / len(chosen))))
            ink, bare = boxed(chosen, rng, size, brush_range, cell, form)
            right += [read(predictor, picture).number == truth
                      for picture in (255 - ink, photo(ink, rng), 255 - bare)]
        rows.append(Row(f"pen numbers (2-5 digits) written {where}, scanned / phone-photo-like / the writing without "
                        "the form (predict; places 60-130 px): exact",
                        " / ".join(f"{r / NUMBERS:.2%}" for r in right) + f" of {NUMBERS}", "", CMD, SINGLE, None))
    return rows
