"""Real handwriting: the pen data's held-out writers drawn into the window's canvas and read as the window reads.

Every sample is drawn stroke by stroke into an app.drawing.Drawing of the window's size, at a random
size and place and a random brush from the slider's range, and read with app.recognize.read_drawing
(the function the window calls); the same drawing saved as a picture goes through app.recognize.read
(the `predict` path), and a phone-photo-like version of it (dark ink on uneven paper, noise, JPEG) too.
Writers are the validation writers of training.pen_data (never trained on).
"""
from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from benchmarks.stats import SINGLE, Row

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "runs" / "benchmarks"  # PNGs: generated, not committed
CMD = "python -m benchmarks --only pen"
SAMPLE_SEED = 2026
NUMBERS = 400  # numbers of 2-5 digits per layout
SMALL_LINE = 120  # px: digits less tall than this, drawn with the default 28 px brush, are blobs (brush > 23 %)
SPLITS = 6  # random halves of the held-out writers, each half used both ways: 12 refits of the sure line


def _canvas():
    from app.gui import BRUSH
    from app.layout import BASE_CANVAS
    return BASE_CANVAS, BRUSH


def draw(strokes, box, brush, size):
    """A Drawing of `size` with `strokes` fitted into `box`, drawn stroke by stroke like a person."""
    from app.pen import fit

    return drawn(fit(strokes, box), size, brush)


def random_box(rng, size, brush_range):
    """A brush from the slider's range and a digit box from small to canvas-filling that suits it."""
    w, h = size
    brush = float(rng.uniform(brush_range[0], brush_range[1]))
    side = float(rng.uniform(max(40.0, 3 * brush), h - 10))
    x0, y0 = rng.uniform(5, w - side - 5), rng.uniform(5, h - side - 5)
    return (x0, y0, x0 + side, y0 + side), brush


def photo(pixels, rng, ink=40.0, corners=0.0, shadow=False, desk=False, thumb=False):
    """The drawing as a phone photo of paper: dark ink, uneven light, noise, a little blur, JPEG.

    `ink` is the pen's grey level (graphite: 110-140); `corners` darkens the corners by that share of
    the light (a phone camera's vignette); `shadow` darkens the page beyond a straight edge 10 px soft
    by 45 % (a hand's or the phone's); `desk` adds a dark desk 8-18 % of the width beside one side;
    `thumb` a thumb holding the page: a grey blob (80-110) 20-28 % of the width, cut off by one side."""
    h, w = pixels.shape
    yy, xx = np.mgrid[0:h, 0:w]
    light = 200 + 40 * (xx / w) * rng.uniform(-1, 1) + 30 * (yy / h) * rng.uniform(-1, 1)
    if corners:
        light = light * (1 - corners * (((2 * xx / w - 1) ** 2 + (2 * yy / h - 1) ** 2) / 2))
    if shadow:
        angle, offset = rng.uniform(0, 2 * np.pi), rng.uniform(-0.3, 0.3) * w
        beyond = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle) - offset
        light = light * (1 - 0.45 / (1 + np.exp(-beyond / 10)))
    paper = light - pixels.astype(np.float64) * np.maximum(light - ink, 0) / 255.0
    if thumb:
        side, across, wide = int(rng.integers(4)), rng.uniform(0.2, 0.8), w * rng.uniform(0.1, 0.14)
        u, v = (xx, yy) if side < 2 else (yy, xx)  # along the side, into the page
        length, depth = (w, h) if side < 2 else (h, w)
        into = v if side % 2 == 0 else depth - 1 - v
        blob = ((u - across * length) / wide) ** 2 + ((into + 0.05 * depth) / (1.8 * wide)) ** 2 < 1
        paper[blob] = rng.uniform(80, 110)
    if desk:
        side, width = int(rng.integers(4)), int(w * rng.uniform(0.08, 0.18))
        wood = 70 + rng.normal(0, 15, (h, width) if side < 2 else (width, w))
        paper = np.concatenate([wood, paper][:: 1 if side % 2 == 0 else -1], axis=1 if side < 2 else 0)
    paper += rng.normal(0, 6, paper.shape)
    image = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=70)
    return Image.open(io.BytesIO(buf.getvalue()))


def ruling(shape, rng, squared):
    """The lines of ruled (or squared) paper as ink levels: 25-45 px apart, 1-3 px wide, from light
    blue-grey to as dark as the pen, tilted up to 1.5 degrees as a hand-held photo is."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    spacing, width = rng.uniform(25, 45), rng.integers(1, 4)
    slope = np.tan(np.radians(rng.uniform(-1.5, 1.5)))
    lines = (yy - xx * slope - rng.uniform(0, spacing)) % spacing < width
    if squared:
        lines |= (xx + yy * slope - rng.uniform(0, spacing)) % spacing < width
    return (lines * 255 * rng.uniform(0.3, 1.0)).astype(np.uint8)


def photo_conditions():
    """(row text, random stream, drawing pixels -> picture) for each way the pen section photographs a
    digit beyond the plain phone photo. Each kind of paper or light draws from a stream of its own, so
    a condition added later leaves the others' samples as they were."""
    lines, light, world, margin, hand = (np.random.default_rng(SAMPLE_SEED + k) for k in (1, 3, 4, 5, 7))
    lined = "paper (predict; lines 1-3 px, light to as dark as the pen, tilted up to 1.5 degrees)"
    return (
        (f"of ruled {lined}", lines, lambda px, r: photo(np.maximum(px, ruling(px.shape, r, False)), r)),
        (f"of squared {lined}", lines, lambda px, r: photo(np.maximum(px, ruling(px.shape, r, True)), r)),
        ("in pencil (predict; graphite 110-140 grey on paper lit 160-240)", light,
         lambda px, r: photo(px, r, ink=r.uniform(110, 140))),
        ("with dark corners (predict; a vignette darkening the corners by 30-60 %)", light,
         lambda px, r: photo(px, r, corners=r.uniform(0.3, 0.6))),
        ("with a shadow (predict; part of the page 45 % darker beyond a soft straight edge)", world,
         lambda px, r: photo(px, r, shadow=True)),
        ("with a desk beside the page (predict; 8-18 % of the width, along one side)", world,
         lambda px, r: photo(px, r, desk=True)),
        ("of ruled paper with a notebook's margin line (predict; a 2 px line down the page 5-20 % in from "
         "the left, as dark in grey as a red one)", margin,
         lambda px, r: photo(np.maximum(np.maximum(px, ruling(px.shape, r, False)), margin_line(px.shape, r)), r)),
        ("with a thumb holding the page (predict; a grey blob 20-28 % of the width, cut off by one side)", hand,
         lambda px, r: photo(px, r, thumb=True)),
    )


def margin_line(shape, rng):
    """A notebook's red margin line as an ink level: down the whole page, 2 px, 5-20 % in from the left;
    red is about half as dark as the pen in grey."""
    lines = np.zeros(shape, np.uint8)
    x = int(shape[1] * rng.uniform(0.05, 0.2))
    lines[:, x : x + 2] = 128
    return lines


def _is_sure_digit(reading) -> bool:
    return bool(reading.number.strip(".")) and reading.sure and not getattr(reading, "not_a_digit", False)


def _digit_of(reading) -> str:
    return reading.number if len(reading.guesses) == 1 else reading.number or "-"


def without_strokes(predictor):
    """The predictor reading drawings by the digit model alone, or None when it has no stroke reader
    (app.trajectory) to leave out."""
    if getattr(predictor, "trajectory", None) is None:
        return None
    alone = copy.copy(predictor)  # the same sessions; only the stroke reader is left out
    alone.trajectory = None
    return alone


def _settled(predictor, reading) -> bool:
    """Whether the window read this one-group drawing without its stroke reader: the digit model's
    answer (`reading`, read without it) was one no stroke reader could change."""
    from app.trajectory import settled

    return len(reading.guesses) == 1 and bool(
        settled(reading.guesses[0].probabilities[None], predictor.trajectory.weight)[0])


def single_digits(predictor, digits, rng, size, brush_range):
    """(rows, per-sample records) for single digits through the window, the picture path and photos."""
    from app.recognize import read, read_drawing

    records, alone, whole = [], [], []  # whole: the picture read as one digit (--single)
    # The same drawings read by the digit model alone, when a stroke reader is fused with it (app.trajectory).
    image_only = without_strokes(predictor)
    conditions = photo_conditions()
    for sample in digits:
        box, brush = random_box(rng, size, brush_range)
        drawing = draw(sample.strokes, box, brush, size)
        window = read_drawing(predictor, drawing)
        if image_only is not None:
            reading = read_drawing(image_only, drawing)
            alone.append((reading.number == sample.label, _is_sure_digit(reading), _settled(predictor, reading)))
        picture = read(predictor, drawing.pixels.copy())
        whole.append(read(predictor, drawing.pixels.copy(), single=True).number == sample.label)
        paper = read(predictor, photo(drawing.pixels, rng))
        photographed = [read(predictor, make(drawing.pixels, stream)).number == sample.label
                        for _, stream, make in conditions]
        records.append((sample, brush, box, window, picture, paper, drawing.pixels, photographed))
    n = len(records)
    rows = []
    for name, index in (("window (strokes, read_drawing)", 3), ("picture of the drawing (predict)", 4),
                        ("phone-photo-like picture (predict)", 5)):
        right = np.array([r[index].number == r[0].label for r in records])
        sure = np.array([_is_sure_digit(r[index]) for r in records])
        goal = "≥ 99 %" if index == 3 else "≥ 98.5 %"
        target = 0.99 if index == 3 else 0.985
        kinds = mistakes_text([r[index] for r in records], [r[0].label for r in records])
        rows.append(Row(f"pen digits, {name}: accuracy", f"{right.mean():.2%} of {n} ({kinds})", goal, CMD, SINGLE,
                        bool(right.mean() >= target)))
        if index == 4:
            rows.append(Row(f"pen digits, {name}, read as one digit (--single: no splitting, no number reader): "
                            "accuracy", f"{np.mean(whole):.2%}", "", CMD, SINGLE, None))
            rows.append(by_writer_row(f"pen digits, {name}", [r[0].writer for r in records], right))
        if index == 3:
            rows.append(Row(f"pen digits, {name}: called sure", f"{sure.mean():.2%}", "≥ 97 %", CMD, SINGLE,
                            bool(sure.mean() >= 0.97)))
            sure_right = right[sure].mean() if sure.any() else float("nan")
            rows.append(Row(f"pen digits, {name}: sure answers right", f"{sure_right:.2%} of {int(sure.sum())}",
                            "≥ 99.5 %", CMD, SINGLE, bool(sure_right >= 0.995)))
            rows.append(by_writer_row(f"pen digits, {name}", [r[0].writer for r in records], right))
            halves = sure_line_halves([r[0].writer for r in records],
                                      np.array([r[index].confidence for r in records]), right)
            rows.append(Row(f"pen digits, {name}: sure line refitted on half of the writers, the other half's sure "
                            f"answers right ({len(halves)} halves)", halves_text(halves), "", CMD, SINGLE, None))
            if alone:
                was_right, was_sure, settled = np.array(alone).T
                rows.append(Row(f"pen digits, {name}, the digit model alone (no stroke reader): accuracy / "
                                "called sure", f"{was_right.mean():.2%} / {was_sure.mean():.2%}", "", CMD, SINGLE,
                                None))
                rows.append(Row(f"pen digits, {name}: read without asking the stroke reader (app.trajectory."
                                "settled: it could not change the answer)", f"{settled.mean():.2%}", "", CMD,
                                SINGLE, None))
    for index, (kind, _, _) in enumerate(conditions):
        right = np.mean([r[7][index] for r in records])
        rows.append(Row(f"pen digits, phone-photo-like picture {kind}: accuracy", f"{right:.2%} of {n}", "≥ 98.5 %",
                        CMD, SINGLE, bool(right >= 0.985)))
    return rows, records


def mistakes_text(readings, labels) -> str:
    """What the misread single digits became: split into several pieces (grouping or cutting), no digit
    at all, or one other digit (the reader's own mistake)."""
    wrong = [r for r, label in zip(readings, labels) if r.number != label]
    split = sum(len(r.guesses) > 1 for r in wrong)
    none = sum(len(r.guesses) <= 1 and not r.number for r in wrong)
    return (f"{len(wrong)} misread: {split} split into several digits, {none} read as no digit, "
            f"{len(wrong) - split - none} as another digit")


def sure_line_halves(writers, confidence, right, seed=SAMPLE_SEED):
    """Per half of the writers: (share called sure, share of those right) when the sure line is fitted on
    the other half (training.calibrate.threshold_for, as the export fits it): how a line placed on a few
    dozen writers holds on writers it never saw."""
    from training.calibrate import threshold_for

    writers, right = np.asarray(writers), np.asarray(right, bool)
    names, rng, out = np.unique(writers), np.random.default_rng(seed), []
    for _ in range(SPLITS):
        half = np.isin(writers, rng.choice(names, len(names) // 2, replace=False))
        for fit, use in ((half, ~half), (~half, half)):
            sure = confidence[use] >= threshold_for(confidence[fit], right[fit])
            out.append((float(sure.mean()), float(right[use][sure].mean()) if sure.any() else float("nan")))
    return out


def halves_text(halves) -> str:
    """One line of `sure_line_halves`: the other halves' sure answers right (median, lowest, how many
    below 99.5 %) and the share they called sure."""
    called, sure_right = np.array(halves).T
    return (f"median {np.nanmedian(sure_right):.2%}, lowest {np.nanmin(sure_right):.2%}, below 99.5 % in "
            f"{int((sure_right < 0.995).sum())} of {len(halves)}; called sure: median {np.median(called):.2%}")


def by_writer_row(name, writers, right) -> Row:
    """Accuracy with each writer counting once, and the largest writer's share: a few prolific writers
    can hold much of the held-out set, and their habits then weigh in every figure above. Also how far
    the accuracy of all digits could move with other writers like these (`writer_interval`)."""
    writers = np.asarray(writers)
    names, counts = np.unique(writers, return_counts=True)
    means = [right[writers == w].mean() for w in names]
    big = names[np.argmax(counts)]
    low, high = writer_interval(writers, right)
    value = (f"{np.mean(means):.2%} over {len(names)} writers; the largest, {big}, wrote {counts.max()} of "
             f"{len(writers)} digits and {right[writers == big].mean():.2%} of them are read right; the accuracy "
             f"of all digits, other writers like these drawn in their place: {low:.2%}-{high:.2%} (95 %)")
    return Row(f"{name}: accuracy averaged over writers (each counts once)", value, "", CMD, SINGLE, None)


BOOTSTRAP = 2000  # resamplings of the writers


def writer_interval(writers, right, seed=SAMPLE_SEED):
    """(low, high): the 95 % percentile interval of the accuracy of all digits when the writers are drawn
    again with replacement (each with all their digits). Digits of one writer are no independent trials:
    their habits go together, so the writers are drawn, not the digits (which would give a far narrower
    interval than other writers would)."""
    writers, right = np.asarray(writers), np.asarray(right, float)
    names, which = np.unique(writers, return_inverse=True)
    hits, counts = np.bincount(which, right, len(names)), np.bincount(which, minlength=len(names))
    draws = np.random.default_rng(seed).integers(0, len(names), (BOOTSTRAP, len(names)))
    accuracy = hits[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return float(np.percentile(accuracy, 2.5)), float(np.percentile(accuracy, 97.5))


def non_digits(predictor, letters, rng, size, brush_range):
    """Letters and taps through the window: how many get a sure digit."""
    from app.drawing import Drawing
    from app.recognize import read_drawing

    sure_letters = 0
    for sample in letters:
        box, brush = random_box(rng, size, brush_range)
        sure_letters += _is_sure_digit(read_drawing(predictor, draw(sample.strokes, box, brush, size)))
    sure_taps = 0
    taps = 200
    for i in range(taps):
        drawing = Drawing(*size)
        x, y = rng.uniform(20, size[0] - 20), rng.uniform(20, size[1] - 20)
        drawing.begin(x, y, float(rng.uniform(*brush_range)))
        if i % 2:  # a dot: the pen moves a pixel or two before it lifts
            drawing.extend(x + rng.uniform(-2, 2), y + rng.uniform(-2, 2))
        sure_taps += _is_sure_digit(read_drawing(predictor, drawing))
    n = len(letters)
    share = 1 - sure_letters / max(n, 1)
    return [
        Row("letters that look like no digit, window: not given a sure digit", f"{share:.2%} of {n}", "≥ 90 %",
            CMD, SINGLE, bool(share >= 0.9)),
        Row("taps and dots, window: given a sure digit", f"{sure_taps} of {taps}", "0", CMD, SINGLE,
            sure_taps == 0),
    ]


def place_number(chosen, rng, size, touching):
    """Each of `chosen` (one writer's PenSamples) placed as a number across a canvas of `size`: every
    digit as tall as the line (a flat one as wide as a third of it), aspect kept, with natural gaps or
    touching and overlapping; a list per digit of its strokes in canvas pixels."""
    height = float(rng.uniform(80, 200))
    gaps = rng.uniform(-0.12, 0.0, len(chosen)) if touching else rng.uniform(0.08, 0.4, len(chosen))
    origins, factors, widths = [], [], []
    for s in chosen:
        pts = np.concatenate(s.strokes)
        ext = np.ptp(pts, axis=0)
        factor = height / ext[1] if ext[1] > 0 else 0.3 * height / max(ext[0], 1e-6)
        origins.append(pts.min(axis=0))
        factors.append(factor)
        widths.append(ext[0] * factor)
    total = sum(widths) + sum(g * height for g in gaps[1:])
    scale = min(1.0, (size[0] - 20) / total)
    x = (size[0] - total * scale) / 2
    y0 = (size[1] - height * scale) / 2
    placed = []
    for s, origin, factor, w, g in zip(chosen, origins, factors, widths, [0.0, *gaps[1:]]):
        x += g * height * scale
        placed.append([(stroke - origin) * factor * scale + np.array([x, y0]) for stroke in s.strokes])
        x += w * scale
    return placed


def prolific(by_writer, least=5):
    """The writers with `least` digits or more, in the order `by_writer` holds them: those a number is drawn from."""
    return [w for w, s in by_writer.items() if len(s) >= least]


def one_writers_digits(by_writer, writers, rng, count=(2, 6)):
    """A number's digits: `count` (numpy's integers range: 2-5) distinct digits of one of `writers`, at random."""
    samples = by_writer[writers[rng.integers(len(writers))]]
    return [samples[i] for i in rng.choice(len(samples), int(rng.integers(*count)), replace=False)]


def cropped_to_ink(pixels):
    """The picture cut to the box of its ink (a number cropped as tightly as a scan or a screenshot can be)."""
    ys, xs = np.nonzero(pixels)
    return pixels[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def drawn(strokes, size, brush):
    """A Drawing of `size` with `strokes` (canvas pixels) drawn in order at one brush."""
    from app.drawing import Drawing

    drawing = Drawing(*size)
    for stroke in strokes:
        drawing.begin(*stroke[0], brush)
        for px, py in stroke[1:]:
            drawing.extend(px, py)
    return drawing


def numbers(predictor, by_writer, rng, size, touching, default_brush):
    """Exact-number accuracy of 2-5 digit numbers of one writer, in the window and as pictures; and,
    to tell the grouping's errors from the digits' own, the same among the numbers each of whose
    digits is read right when drawn alone in its place."""
    from app.recognize import read, read_drawing

    writers = prolific(by_writer)
    cut_right = picture_sure = picture_sure_right = cropped_right = 0
    readable = {"window": [], "picture": []}  # (every digit read right alone, the number read right)
    heights = []  # (the digits' height in px, the picture read right)
    tally = {"writer": [], "window": [], "picture": []}  # per number: whose digits, and read right where
    reader = getattr(predictor, "numbers", None)
    brush = float(default_brush)  # people keep the default brush, so neighbours often touch
    # Photos of them, plain and on squared paper: a stream of their own, so the other figures stay as they were;
    # beside a desk and under a shadow, one more.
    paper, photographed = np.random.default_rng(SAMPLE_SEED + 2), {"plain": 0, "squared": 0, "desk": 0, "shadow": 0}
    world = np.random.default_rng(SAMPLE_SEED + 6)
    for _ in range(NUMBERS):
        chosen = one_writers_digits(by_writer, writers, rng)
        placed = place_number(chosen, rng, size, touching)
        drawing = drawn([stroke for digit in placed for stroke in digit], size, brush)
        truth = "".join(s.label for s in chosen)
        alone = [drawn(digit, size, brush) for digit in placed]
        window = read_drawing(predictor, drawing).number == truth
        seen = read(predictor, drawing.pixels.copy())
        picture = seen.number == truth
        for key, value in (("writer", chosen[0].writer), ("window", window), ("picture", picture)):
            tally[key].append(value)
        heights.append((float(np.median([np.ptp(np.concatenate(d)[:, 1]) for d in placed])), picture))
        cropped_right += read(predictor, 255 - cropped_to_ink(drawing.pixels)).number == truth
        if not touching:
            photographed["plain"] += read(predictor, photo(drawing.pixels, paper)).number == truth
            lines = ruling(drawing.pixels.shape, paper, True)
            photographed["squared"] += read(predictor, photo(np.maximum(drawing.pixels, lines), paper)).number == truth
            photographed["desk"] += read(predictor, photo(drawing.pixels, world, desk=True)).number == truth
            photographed["shadow"] += read(predictor, photo(drawing.pixels, world, shadow=True)).number == truth
        picture_sure += seen.sure
        picture_sure_right += seen.sure and picture
        readable["window"].append((all(read_drawing(predictor, d).number == s.label for d, s in zip(alone, chosen)),
                                   window))
        readable["picture"].append((all(read(predictor, d.pixels.copy()).number == s.label
                                        for d, s in zip(alone, chosen)), picture))
        if reader is not None:  # the same picture cut apart by the digit model alone, as without numbers.onnx
            predictor.numbers = None
            try:
                cut_right += read(predictor, drawing.pixels.copy()).number == truth
            finally:
                predictor.numbers = reader
    kind = "touching or overlapping" if touching else "natural gaps"

    def exact(where, goal):  # a row: the share right, and how far other writers like these would move it
        share = float(np.mean(tally[where]))
        low, high = writer_interval(tally["writer"], tally[where])
        return Row(f"pen numbers (2-5 digits, {kind}), {where}: exact",
                   f"{share:.2%} of {NUMBERS} (other writers like these: {low:.2%}-{high:.2%}, 95 %)",
                   f"≥ {goal:.0%}".replace("%", " %"), CMD, SINGLE, share >= goal)

    rows = [exact("window", 0.98), exact("picture", 0.9 if touching else 0.98)]
    if not touching:
        for where, right in photographed.items():
            how = {"plain": "", "squared": " of squared paper", "desk": " with a desk beside the page",
                   "shadow": " with a shadow"}[where]
            rows.append(Row(f"pen numbers (2-5 digits, {kind}), phone-photo-like picture{how}: exact",
                            f"{right / NUMBERS:.2%} of {NUMBERS}", "", CMD, SINGLE, None))
    rows.append(Row(f"pen numbers (2-5 digits, {kind}), picture cropped to its ink (dark on white, no margin): "
                    "exact", f"{cropped_right / NUMBERS:.2%} of {NUMBERS}", "", CMD, SINGLE, None))
    rows.append(height_row(f"pen numbers (2-5 digits, {kind}), picture", brush, heights))
    rows.append(Row(f"pen numbers (2-5 digits, {kind}), picture: called sure (every digit sure)",
                    f"{picture_sure / NUMBERS:.2%}, of them exact {picture_sure_right / max(picture_sure, 1):.2%}",
                    "", CMD, SINGLE, None))
    if reader is not None:
        rows.append(Row(f"pen numbers (2-5 digits, {kind}), picture, cut apart without the number reader: exact",
                        f"{cut_right / NUMBERS:.2%} of {NUMBERS}", "", CMD, SINGLE, None))
    for where, pairs in readable.items():
        rows.append(Row(f"pen numbers (2-5 digits, {kind}), {where}: exact among those whose every digit, drawn "
                        "alone in its place, is read right", _share_among(pairs), "", CMD, SINGLE, None))
    return rows


def height_row(metric, brush, heights) -> Row:
    """Exact numbers among those whose digits are under SMALL_LINE px tall and the rest (`heights`:
    (height, right) per number): the default brush makes small digits blobs, which cost most misreads."""
    small = [right for height, right in heights if height < SMALL_LINE]
    tall = [right for height, right in heights if height >= SMALL_LINE]

    def share(rights):
        return f"{np.mean(rights):.2%} of {len(rights)}" if rights else "none"

    return Row(f"{metric}: exact by the digits' height (the default {brush:.0f} px brush)",
               f"under {SMALL_LINE} px {share(small)}, taller {share(tall)}", "", CMD, SINGLE, None)


def _share_among(pairs) -> str:
    """'x% of m (m of n numbers)': the share right among the numbers whose digits are each read alone."""
    kept = [right for readable, right in pairs if readable]
    if not kept:
        return f"none of {len(pairs)} numbers has every digit read right alone"
    return f"{np.mean(kept):.2%} of {len(kept)} ({len(pairs) - len(kept)} of {len(pairs)} hold a digit misread alone)"


def save_figures(records) -> list[Row]:
    """Confusion matrix of the window path and a sheet of its worst mistakes, as PNGs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(parents=True, exist_ok=True)
    columns = [str(d) for d in range(10)] + ["none", "other"]
    confusion = np.zeros((10, len(columns)), int)
    for r in records:
        got = _digit_of(r[3])
        col = int(got) if got.isdigit() and len(got) == 1 else (10 if not r[3].guesses or got == "" else 11)
        confusion[int(r[0].label), col] += 1
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for (i, j), n in np.ndenumerate(confusion):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=6, color="white" if i == j else "black")
    ax.set(title="pen digits of held-out writers, window read", xlabel="read as", ylabel="written",
           xticks=range(len(columns)), xticklabels=columns, yticks=range(10))
    fig.tight_layout()
    fig.savefig(FIGURES / "pen_confusion.png", dpi=100)
    plt.close(fig)

    wrong = [r for r in records if r[3].number != r[0].label]
    wrong.sort(key=lambda r: -r[3].confidence)  # the surest mistakes first
    tiles = []
    for r in wrong[:40]:
        ys, xs = np.nonzero(r[6])
        crop = Image.fromarray(r[6][ys.min():ys.max() + 1, xs.min():xs.max() + 1]) if len(ys) else Image.new("L", (1, 1))
        tile = Image.new("L", (96, 110))
        crop.thumbnail((90, 90))
        tile.paste(crop, (3, 3))
        from PIL import ImageDraw
        ImageDraw.Draw(tile).text((3, 96), f"{r[0].label}->{r[3].number or '-'} {r[3].confidence:.0%}", fill=255)
        tiles.append(tile)
    sheet = Image.new("L", (96 * 10, 110 * max(1, -(-len(tiles) // 10))), 40)
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % 10) * 96, (i // 10) * 110))
    sheet.save(FIGURES / "pen_worst.png")
    return [Row("pen digits, window: confusion matrix and the 40 surest mistakes",
                f"runs/benchmarks/pen_confusion.png, runs/benchmarks/pen_worst.png ({len(wrong)} mistakes)",
                "", CMD, SINGLE, None)]


def pen(ctx) -> list[Row]:
    from app.predictor import Predictor
    from benchmarks.form_figures import forms
    from benchmarks.mark_figures import marks
    from benchmarks.row_figures import two_row_numbers
    from benchmarks.sign_figures import signs
    from training.pen_data import REJECT_LETTERS, by_writer, pen_dir, read_records, split_by_writer

    source = pen_dir(getattr(ctx, "pen", None))
    if source is None:
        return [Row("real handwriting", "not measured: no pen data (--pen DIR or $PEN_DIR)", "", CMD, SINGLE, None)]
    predictor = Predictor(ctx.model)
    size, (brush_min, brush_max, default_brush) = _canvas()
    brush_range = (brush_min, brush_max)
    _, digits = split_by_writer(read_records(source / "digits.jsonl.gz"))
    _, letters = split_by_writer([s for s in read_records(source / "letters.jsonl.gz") if s.label in REJECT_LETTERS])
    rng = np.random.default_rng(SAMPLE_SEED)
    letters = [letters[i] for i in sorted(rng.choice(len(letters), min(1500, len(letters)), replace=False))]
    rows = [Row("held-out writers (never trained on)",
                f"{len({s.writer for s in digits})} writers, {len(digits)} digits; "
                f"{len({s.writer for s in letters})} writers, {len(letters)} letters", "", CMD, SINGLE, None)]
    digit_rows, records = single_digits(predictor, digits, rng, size, brush_range)
    rows += digit_rows
    rows += non_digits(predictor, letters, rng, size, brush_range)
    writers = by_writer(digits)
    rows += numbers(predictor, writers, rng, size, False, default_brush)
    rows += numbers(predictor, writers, rng, size, True, default_brush)
    rows += forms(predictor, digits, writers, size, brush_range)
    rows += marks(predictor, writers, size, brush_range)
    rows += signs(predictor, writers, size, brush_range)
    rows += two_row_numbers(predictor, writers, size, brush_range)
    rows += save_figures(records)
    return rows
