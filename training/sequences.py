"""Rows of digits for the sequence model: one writer's pen digits (or MNIST digits) side by side, as strips.

A row holds 1-6 symbols of one writer, each as tall as the row give or take a little, slanted and
wobbled (training.pen_data.augment), with gaps from a fifth of the height overlapping to half of it
apart, drawn at one brush from hairline to blob, sometimes with a letter among the digits (label
"not a digit"). MNIST rows put MNIST training digits side by side the same way. Every row is made
into the model's input by app.strip.strip_input, the function the app uses. Labels follow
keras.losses.CTC: 0 pads, digit d is d + 1, a letter is app.strip.NOT_A_DIGIT.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from app.pen import render
from app.strip import HEIGHT, NOT_A_DIGIT, strip_input
from training.pen_data import REJECT_LETTERS, augment, place_next, read_records, split_by_writer, touching_gap

MAX_SYMBOLS = 6
COLUMNS = 192  # training strips are padded to this many columns; wider rows are made again
ROW_PIXELS = 64  # rows are rendered this tall (the strip shrinks them to 20 rows anyway)
LETTER_SHARE = 0.15  # rows with a letter among the digits
THINNEST = 0.04  # a row's brush, as a share of its height, is drawn log-uniformly from this ...
THICKEST = 0.3   # ... to this (the held-out rows' range; training may go thicker: --thickest-brush)
FAVOUR_SHARE = 0.3  # with --favour: a pen row's digit is one of the favoured ones this often (if its writer wrote any)


@dataclass(frozen=True)
class Rows:
    """Strips float32 (n, HEIGHT, COLUMNS, 1), labels int32 (n, MAX_SYMBOLS) padded with 0, and the
    row as text (digits, "x" for a letter)."""

    x: np.ndarray
    y: np.ndarray
    text: list


def load_pen(directory):
    """(train, val): per writer, their digits and their letters, split by writer."""
    digits = [s for s in read_records(directory / "digits.jsonl.gz") if s.label in set("0123456789")]
    letters = [s for s in read_records(directory / "letters.jsonl.gz") if s.label in set(REJECT_LETTERS)]
    out = []
    for d, l in zip(split_by_writer(digits), split_by_writer(letters)):
        writers = {}
        for s in d:
            writers.setdefault(s.writer, ([], []))[0].append(s)
        for s in l:
            if s.writer in writers:
                writers[s.writer][1].append(s)
        out.append({w: v for w, v in writers.items() if len(v[0]) >= 3})
    return out[0], out[1]


def _count(rng, single_share):
    """Symbols in a row: one with probability `single_share`, else 1 to MAX_SYMBOLS alike. With no
    share no extra draw is made, so rows made before the share existed come out the same."""
    if single_share and rng.random() < single_share:
        return 1
    return int(rng.integers(1, MAX_SYMBOLS + 1))


def pen_row(digits, letters, rng, augmented=True, single_share=0.0, thickest=THICKEST, favour=""):
    """(ink uint8 (h, w), text) of one row of a writer's `digits` (PenSamples), maybe with a letter,
    drawn with a brush from THINNEST to `thickest` of the row's height; with `favour` (digits as text)
    each symbol is one of those FAVOUR_SHARE of the time."""
    n = _count(rng, single_share)
    chosen = [digits[i] for i in rng.integers(0, len(digits), n)]
    favoured = [s for s in digits if s.label in favour] if favour else []
    if favoured:  # no extra draw without it, so that rows made before --favour come out the same
        chosen = [favoured[int(rng.integers(0, len(favoured)))] if rng.random() < FAVOUR_SHARE else s
                  for s in chosen]
    text = [s.label for s in chosen]
    if letters and n > 1 and rng.random() < LETTER_SHARE:
        k = int(rng.integers(0, n))
        chosen[k] = letters[int(rng.integers(0, len(letters)))]
        text[k] = "x"
    height = float(ROW_PIXELS)
    touching = rng.random() < 0.5
    placed, x, previous = [], 0.0, 0.0
    for i, s in enumerate(chosen):
        strokes = augment(s.strokes, rng) if augmented else s.strokes
        gap = (lambda narrower: _gap(rng, touching, height, narrower)) if i else None
        more, x, previous = place_next(strokes, rng, height, x, previous, gap)
        placed += more
    brush = height * float(np.exp(rng.uniform(np.log(THINNEST), np.log(thickest))))
    margin = brush + 2
    shift = np.array([margin, margin - min(float(p[:, 1].min()) for p in placed)])
    placed = [p + shift for p in placed]
    top = max(float(p[:, 1].max()) for p in placed)
    right = max(float(p[:, 0].max()) for p in placed)
    return render(placed, (int(right + margin) + 1, int(top + margin) + 1), brush), "".join(text)


def mnist_row(images, labels, rng, single_share=0.0):
    """(ink uint8, text) of 1-6 MNIST digits side by side, overlapping or apart."""
    n = _count(rng, single_share)
    picks = rng.integers(0, len(images), n)
    touching = rng.random() < 0.5
    crops, offsets, x = [], [], 0
    for i, k in enumerate(picks):
        img = images[k]
        cols = np.flatnonzero(img.max(axis=0) > 25)
        crop = img[:, cols[0] : cols[-1] + 1] if len(cols) else img
        if i:
            x = max(x + int(round(_gap(rng, touching, 20.0, min(crops[-1].shape[1], crop.shape[1])))), 0)
        crops.append(crop)
        offsets.append((x, int(rng.integers(-1, 2))))
        x += crop.shape[1]
    ink = np.zeros((28 + 4, max(x, 1) + 1), np.uint8)
    for crop, (ox, oy) in zip(crops, offsets):
        region = ink[2 + oy : 2 + oy + 28, ox : ox + crop.shape[1]]
        np.maximum(region, crop[:, : region.shape[1]], out=region)
    return ink, "".join(str(int(labels[k])) for k in picks)


def _gap(rng, touching, height, narrower):
    """Space before the next symbol: apart by up to half the height, or touching (touching_gap)."""
    if touching:
        return touching_gap(rng, height, narrower)
    return rng.uniform(0.0, 0.5) * height


def encode(text):
    """CTC labels of a row's text, padded with 0 to MAX_SYMBOLS."""
    out = np.zeros(MAX_SYMBOLS, np.int32)
    for i, ch in enumerate(text):
        out[i] = NOT_A_DIGIT if ch == "x" else int(ch) + 1
    return out


def make_rows(n, seed, pen_writers=None, mnist=None, mnist_share=0.3, augmented=True, single_share=0.0,
              thickest=THICKEST, favour=""):
    """`n` rows as Rows: pen rows of `pen_writers` ({writer: (digits, letters)}) and MNIST rows
    (`mnist` = (images uint8 (N, 28, 28), labels)) in proportion `mnist_share`; `single_share` of
    them hold one digit, on top of the lone digits of the uniform 1-6 draw; pen rows' brushes reach
    `thickest` of their height and hold more of the `favour` digits (pen_row)."""
    rng = np.random.default_rng(seed)
    writers = list(pen_writers.values()) if pen_writers else []
    share = mnist_share if writers else 1.0
    if mnist is None:
        share = 0.0
    xs, ys, texts = np.zeros((n, HEIGHT, COLUMNS, 1), np.float32), [], []
    while len(texts) < n:
        if rng.random() < share:
            ink, text = mnist_row(mnist[0], mnist[1], rng, single_share)
        else:
            digits, letters = writers[int(rng.integers(0, len(writers)))]
            ink, text = pen_row(digits, letters, rng, augmented, single_share, thickest, favour)
        strip = strip_input(ink.astype(np.float32) / 255.0)
        if strip is None or strip.pixels.shape[1] > COLUMNS or strip.frames < 2 * len(text) + 1:
            continue
        xs[len(texts), :, : strip.pixels.shape[1]] = strip.pixels
        ys.append(encode(text))
        texts.append(text)
    return Rows(xs, np.stack(ys), texts)


def _chunk(job):
    return make_rows(*job)


def make_rows_parallel(n, seed, pen_writers=None, mnist=None, mnist_share=0.3, augmented=True, single_share=0.0,
                       thickest=THICKEST, favour=""):
    """make_rows over the machine's cores (a row costs a few milliseconds)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(os.cpu_count() or 1, 8))
    if workers == 1 or n < 500:
        return make_rows(n, seed, pen_writers, mnist, mnist_share, augmented, single_share, thickest, favour)
    sizes = [n // workers + (i < n % workers) for i in range(workers)]
    jobs = [(k, (seed, i), pen_writers, mnist, mnist_share, augmented, single_share, thickest, favour)
            for i, k in enumerate(sizes)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_chunk, jobs))
    return Rows(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                [t for p in parts for t in p.text])
