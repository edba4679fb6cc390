"""Real pen handwriting (the UNIPEN dev set) as training and validation images, split by writer.

Every image is made by the app's own code: strokes -> app.pen (the canvas rasteriser) -> the app's
preprocessing, in the two ways the app meets handwriting:
- "stroke" view: what the window reads for a drawn digit (app.pen.model_input);
- "picture" view: the strokes drawn on a canvas at a random size and brush width and read as a
  picture (app.preprocess.to_model_input), as `predict` reads a saved drawing or a scan.
Augmentation acts on the strokes (slant, rotation, aspect, smooth elastic wobble, brush width), which
is far cheaper than warping images. The eleventh class, "not a digit", is letters that look like no
digit plus synthetic scribbles, taps and dashes, and (`pairs`) two of a writer's digits touching: read
whole, a piece of a number that holds two digits is no one digit.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pen import BadStrokes, NORM_WIDTH, fit, model_input, parse_record, render
from app.preprocess import to_model_input

NOT_A_DIGIT = 10  # class index of "not a digit"
VAL_WRITER_SHARE = 0.2  # writers (not samples) held out for validation
# Letters that look like no digit. Left out, as they are often written like one: O o Q D (0),
# I i l j J (1), Z z (2), S s (5), G b (6), T t (7), B (8), g q y (9).
REJECT_LETTERS = "AEFHKMNPRWXYaehkmnrwCcdfpuUvVLx"
BRUSH_RANGE = (4, 60)  # the window's brush slider, canvas pixels
CANVAS_HEIGHT = 420  # the window's canvas: digits from small to canvas-filling
PEN_TERMS = ("UNIPEN train_r01_v07 (Guyon et al., ICPR 1994): research use only, not for commercial "
             "distribution; cite the paper")
DEFAULT_PEN_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "unipen"


class PenDataError(ValueError):
    """The pen data is missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class PenSets:
    """Model-ready pen images, float32 (N, 28, 28, 1), int64 labels 0-10; val_* from held-out writers."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val_digits: np.ndarray
    y_val_digits: np.ndarray
    x_val_reject: np.ndarray
    y_val_reject: np.ndarray
    train_writers: int
    val_writers: int


def pen_dir(source: str | os.PathLike | None) -> Path | None:
    """The pen data directory: `source`, else $PEN_DIR, else ../shared/data/unipen if present."""
    if source:
        return Path(source)
    if os.environ.get("PEN_DIR"):
        return Path(os.environ["PEN_DIR"])
    return DEFAULT_PEN_DIR if (DEFAULT_PEN_DIR / "digits.jsonl.gz").is_file() else None


def read_records(path: Path) -> list:
    """PenSamples of one .jsonl(.gz) file; bad lines are skipped and counted on stderr."""
    samples, bad = [], 0
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    samples.append(parse_record(json.loads(line)))
                except (ValueError, BadStrokes):
                    bad += 1
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise PenDataError(f"{path}: cannot read ({e})") from None
    if bad:
        print(f"warning: {path}: skipped {bad} unreadable record(s)", file=sys.stderr)
    if not samples:
        raise PenDataError(f"{path}: no usable records")
    return samples


def is_val_writer(writer: str) -> bool:
    """Stable writer-level split: the same writer is always on the same side, on every machine."""
    digest = hashlib.sha1(writer.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < VAL_WRITER_SHARE


def split_by_writer(samples: list) -> tuple[list, list]:
    train = [s for s in samples if not is_val_writer(s.writer)]
    val = [s for s in samples if is_val_writer(s.writer)]
    return train, val


def by_writer(samples: list) -> dict:
    """{writer: their samples}, writers and samples in the order first met."""
    out: dict = {}
    for s in samples:
        out.setdefault(s.writer, []).append(s)
    return out


# -- augmentation and rendering ---------------------------------------------------


def augment(strokes, rng: np.random.Generator, stroke_jitter: float = 0.0):
    """Strokes slanted, rotated, stretched and wobbled smoothly (elastic), as writers differ.

    `stroke_jitter` > 0 first moves and turns each stroke of a digit of several strokes on its own (a
    shift of about that share of the digit's size, a turn of about twice it in radians): where writers put
    a 5's bar, a 4's second stroke or a 7's cross differs more than one affine map says. 0 draws nothing.
    """
    points = np.concatenate(strokes)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    extent = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1e-6)
    if stroke_jitter > 0:
        strokes = jitter_strokes(strokes, rng, stroke_jitter)
    angle = rng.uniform(-0.17, 0.17)
    shear = rng.uniform(-0.35, 0.35)  # slant: upright to strongly italic either way
    aspect = np.exp(rng.uniform(-0.2, 0.2))
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[aspect, shear], [0.0, 1.0 / aspect]])
    # Elastic: a few random low-frequency waves across the digit, amplitude ~3 % of its size.
    waves = rng.normal(0, 0.03 * extent, (3, 2)), rng.uniform(0.5, 2.0, (3, 2)), rng.uniform(0, 2 * np.pi, (3, 2))
    out = []
    for s in strokes:
        p = (s - centre) @ matrix.T
        u = (s - centre) / extent
        for amp, freq, phase in zip(*waves):
            p = p + amp * np.sin(freq * np.pi * u[:, ::-1] + phase)
        out.append(p)
    return tuple(out)


TAP_BRUSH = 12.0  # synthetic strokes' brush in their own units: a tap (extent <= 6) stays a dot


def stroke_view(strokes, rng: np.random.Generator | None = None, min_extent: float = 0.0):
    """The window's input for drawn strokes (optionally with a jittered stroke width).

    `min_extent` is what the window passes (the brush width): strokes smaller than it stay small.
    """
    share = NORM_WIDTH * (rng.uniform(0.7, 1.4) if rng is not None else 1.0)
    return model_input(strokes, share, min_extent)


def picture_view(strokes, rng: np.random.Generator):
    """The strokes drawn on a canvas at a random size and brush, read as a picture."""
    height = rng.uniform(24, CANVAS_HEIGHT - 20)
    brush = rng.uniform(BRUSH_RANGE[0], min(BRUSH_RANGE[1], max(BRUSH_RANGE[0] + 1, 0.3 * height)))
    margin = int(height) + int(brush)  # paper around the ink, as on the canvas
    side = int(height) + 2 * margin
    placed = fit(strokes, (margin, margin, margin + height, margin + height))
    return to_model_input(render(placed, (side, side), brush))


def synthetic_rejects(n: int, rng: np.random.Generator):
    """Strokes of things that are not digits: scribbles, taps and dots, dashes, clutter."""
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:  # dense scribble: a random walk that turns a lot
            steps = rng.normal(0, 1, (int(rng.integers(30, 90)), 2))
            out.append((np.cumsum(steps, axis=0) * 10,))
        elif kind == 1:  # a tap, or a tiny dot
            p = rng.uniform(0, 100, 2)
            out.append((p[None, :],) if rng.random() < 0.5 else (p + _circle(rng.uniform(0.5, 3)),))
        elif kind == 2:  # a dash or underline, a little wavy
            t = np.linspace(0, 1, 20)[:, None]
            line = np.hstack([t * 100, rng.normal(0, 1.5) * np.sin(t * rng.uniform(1, 6))])
            out.append((line,))
        else:  # clutter: several short random strokes
            out.append(tuple(rng.uniform(0, 100, 2) + np.cumsum(rng.normal(0, 6, (int(rng.integers(3, 12)), 2)), axis=0)
                             for _ in range(int(rng.integers(3, 7)))))
    return out


def touching_gap(rng: np.random.Generator, height: float, narrower: float) -> float:
    """Space before the next digit of a row whose neighbours touch: overlapping by up to 40 % of the
    narrower neighbour (so a narrow 1 is never hidden inside a wide 0), at most 0.15 of the height,
    or just apart."""
    return -min(rng.uniform(0.0, 0.4) * narrower, 0.15 * height) + rng.uniform(0.0, 0.03) * height


def place_next(strokes, rng: np.random.Generator, height: float, x: float, previous: float, gap=None):
    """`strokes` scaled to about `height` (0.85-1.1 of it; a flat mark 0.3 of it wide), their middle at
    half of it give or take 5 %, placed `gap(narrower)` after a neighbour `previous` wide that ends at `x`
    (None: the row's first, at `x`). Returns (the strokes placed, where the next may start, their width)."""
    points = np.concatenate(strokes)
    low, ext = points.min(axis=0), np.ptp(points, axis=0)
    h = height * rng.uniform(0.85, 1.1)
    f = h / ext[1] if ext[1] > 0.15 * ext[0] else 0.3 * height / max(ext[0], 1e-6)
    if gap is not None:
        x += gap(min(previous, ext[0] * f))
    y = rng.uniform(-0.05, 0.05) * height + (height - ext[1] * f) / 2
    return [(st - low) * f + np.array([x, y]) for st in strokes], x + ext[0] * f, ext[0] * f


def touching_pairs(digits: list, n: int, rng: np.random.Generator):
    """Strokes of `n` pairs of one writer's digits (PenSamples) side by side, touching or overlapping,
    each as tall as the other give or take a little: what a merged group or a picture's piece holds
    when it spans two digits of a number."""
    writers_samples = by_writer(digits)
    writers = [w for w, samples in writers_samples.items() if len(samples) >= 2]
    out = []
    for _ in range(n if writers else 0):
        samples = writers_samples[writers[int(rng.integers(len(writers)))]]
        first, second = (samples[i] for i in rng.choice(len(samples), 2, replace=False))
        placed, x, previous = place_next(first.strokes, rng, 100.0, 0.0, 0.0)
        more, _, _ = place_next(second.strokes, rng, 100.0, x, previous,
                                lambda narrower: touching_gap(rng, 100.0, narrower))
        out.append(tuple(placed + more))
    return out


def jitter_strokes(strokes, rng: np.random.Generator, share: float):
    """Each stroke of a digit of several strokes moved by about `share` of the digit's size and turned by
    about 2 * `share` radians about its own middle; a digit of one stroke as it is (nothing drawn)."""
    if len(strokes) < 2:
        return strokes
    points = np.concatenate(strokes)
    extent = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1e-6)
    return tuple(_turned(s, rng.normal(0, 2 * share)) + rng.normal(0, share * extent, 2) for s in strokes)


def _turned(stroke, angle: float):
    """`stroke` turned by `angle` radians about its own middle."""
    middle = (stroke.min(axis=0) + stroke.max(axis=0)) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    return (stroke - middle) @ np.array([[cos, sin], [-sin, cos]]) + middle


def _circle(radius):
    t = np.linspace(0, 2 * np.pi, 12)[:, None]
    return radius * np.hstack([np.cos(t), np.sin(t)])


def _images(samples_strokes, labels, views, rng, min_extent=0.0, stroke_jitter=0.0):
    xs, ys = [], []
    for strokes, label in zip(samples_strokes, labels):
        for view in views:
            if view == "stroke":
                img = stroke_view(augment(strokes, rng, stroke_jitter), rng, min_extent)
            elif view == "plain":
                img = stroke_view(strokes, None, min_extent)
            else:
                img = picture_view(augment(strokes, rng, stroke_jitter), rng)
            if img is not None:
                xs.append(img)
                ys.append(label)
    if not xs:
        return np.zeros((0, 28, 28, 1), np.float32), np.zeros(0, np.int64)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64)


def _render_chunk(job):
    strokes, labels, views, seed, min_extent, stroke_jitter = job
    return _images(strokes, labels, views, np.random.default_rng(seed), min_extent, stroke_jitter)


def _images_parallel(strokes, labels, views, seed, min_extent=0.0, stroke_jitter=0.0):
    """_images over all cores: rendering ~50k images costs minutes on one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(os.cpu_count() or 1, 8))
    if workers == 1 or len(strokes) < 200:
        return _images(strokes, labels, views, np.random.default_rng(seed), min_extent, stroke_jitter)
    step = -(-len(strokes) // workers)
    jobs = [(strokes[i:i + step], labels[i:i + step], views, (seed, i), min_extent, stroke_jitter)
            for i in range(0, len(strokes), step)]
    # spawn, not fork: the training process has TensorFlow's threads running.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_render_chunk, jobs))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _subset(samples: list, n: int | None, rng: np.random.Generator) -> list:
    if n is None or len(samples) <= n:
        return samples
    return [samples[i] for i in sorted(rng.choice(len(samples), n, replace=False))]


def _training_draws(digits, chars, letters, synthetic, limit, rng):
    """What load_pen_sets draws from `rng` before the validation sets, in that order: the splits and their
    subsets, and the synthetic non-digits' training images."""
    d_train, d_val = split_by_writer(digits)
    l_train, l_val = split_by_writer(chars)
    if digits or chars:
        l_train = _subset(l_train, letters, rng)
        l_val = _subset(l_val, max(letters // 6, 1), rng)
    d_train, d_val, l_train, l_val = (_subset(x, limit, rng) for x in (d_train, d_val, l_train, l_val))
    synth = synthetic_rejects(synthetic, rng)
    images = _images(synth, [NOT_A_DIGIT] * len(synth), ("stroke",), rng, TAP_BRUSH)
    return d_train, d_val, l_train, l_val, images


def load_pen_sets(directory: Path | None, seed: int, letters: int = 12000, synthetic: int = 4000,
                  limit: int | None = None, pairs: int = 0,
                  digit_views=("stroke", "stroke", "picture", "picture"), val_seed: int | None = None,
                  train: bool = True, stroke_jitter: float = 0.0) -> PenSets:
    """Render the pen data into training and validation images, split by writer.

    Without a directory only the synthetic non-digits are made (the report says so).
    `limit` caps every split (for smoke runs). `val_seed` (default `seed`) draws the validation sets:
    the run with seed `val_seed` draws them exactly so, and any other seed draws the same ones.
    `train=False` leaves the training images out (empty): the same validation sets in seconds.
    `pairs` training images of two touching digits of a training writer (touching_pairs), half drawn and
    half pictured, are "not a digit"; they come from a generator of their own, so every other image is
    the same with or without them. `stroke_jitter` moves the training digits' strokes apart (augment).
    """
    digits = chars = []
    if directory is not None:
        digits = [s for s in read_records(directory / "digits.jsonl.gz") if s.label in set("0123456789")]
        chars = [s for s in read_records(directory / "letters.jsonl.gz") if s.label in set(REJECT_LETTERS)]
    if limit:
        synthetic, pairs = min(synthetic, limit), min(pairs, limit)
    rng = np.random.default_rng(seed)
    d_train, d_val, l_train, l_val, (xs, ys) = _training_draws(digits, chars, letters, synthetic, limit, rng)
    val_rng = rng
    if val_seed is not None and val_seed != seed:
        # The validation sets were drawn from the generator after these draws: replay them from val_seed.
        val_rng = np.random.default_rng(val_seed)
        _, d_val, _, l_val, _ = _training_draws(digits, chars, letters, synthetic, limit, val_rng)
    if not train:
        d_train, l_train, (xs, ys) = [], [], (xs[:0], ys[:0])
        print(f"pen data: rendering {len(d_val)} validation digits and {len(l_val)} letters ...", flush=True)
    else:
        print(f"pen data: rendering {len(d_train)} train / {len(d_val)} validation digits, {len(l_train)} / "
              f"{len(l_val)} letters, {synthetic} synthetic non-digits (about 2 minutes on 2 cores) ...", flush=True)
    xd, yd = _images_parallel([s.strokes for s in d_train], [int(s.label) for s in d_train], digit_views, seed,
                              stroke_jitter=stroke_jitter)
    # Letters: one view each, drawn and pictured alternately.
    xl, yl = _images_parallel([s.strokes for s in l_train[0::2]], [NOT_A_DIGIT] * len(l_train[0::2]), ("stroke",),
                              seed + 1)
    xl2, yl2 = _images_parallel([s.strokes for s in l_train[1::2]], [NOT_A_DIGIT] * len(l_train[1::2]),
                                ("picture",), seed + 2)
    pair_strokes = touching_pairs(d_train, pairs, np.random.default_rng((seed, 2))) if pairs else []
    xp, yp = _images_parallel(pair_strokes[0::2], [NOT_A_DIGIT] * len(pair_strokes[0::2]), ("stroke",), seed + 3)
    xp2, yp2 = _images_parallel(pair_strokes[1::2], [NOT_A_DIGIT] * len(pair_strokes[1::2]), ("picture",), seed + 4)
    # Validation: each held-out digit once as drawn in the window and once as a picture.
    rng = val_rng
    xvd, yvd = _images([s.strokes for s in d_val], [int(s.label) for s in d_val], ("plain", "picture"), rng)
    synth_val = synthetic_rejects(max(synthetic // 8, 8), rng)
    xvl, yvl = _images([s.strokes for s in l_val], [NOT_A_DIGIT] * len(l_val), ("plain",), rng)
    xvs, yvs = _images(synth_val, [NOT_A_DIGIT] * len(synth_val), ("plain",), rng, TAP_BRUSH)
    return PenSets(
        x_train=np.concatenate([xd, xl, xl2, xs, xp, xp2]), y_train=np.concatenate([yd, yl, yl2, ys, yp, yp2]),
        x_val_digits=xvd, y_val_digits=yvd, x_val_reject=np.concatenate([xvl, xvs]),
        y_val_reject=np.concatenate([yvl, yvs]),
        train_writers=len({s.writer for s in d_train + l_train}),
        val_writers=len({s.writer for s in d_val + l_val}))
