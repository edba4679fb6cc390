"""`--extra-data PATH`: pen records (the app's corrections file, the UNIPEN dev set, or any JSON lines in
that format) mixed into training.

Records with strokes are rendered like the pen data (training.pen_data: augmented strokes, the
window's stroke view and the picture view); a record with only an image (a corrected picture) adds
that image. Writers are respected: a writer the pen data holds out for validation stays out of
training; the app's pseudonymous writers ("user-...") are always trained on.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

from app.corrections import decode_image
from app.pen import BadStrokes, parse_record
from app.predictor import NOT_A_DIGIT as NOT_A_LABEL  # the label; training.pen_data.NOT_A_DIGIT is its index
from training.pen_data import NOT_A_DIGIT, REJECT_LETTERS, PenDataError, augment, is_val_writer, picture_view, stroke_view

VIEWS = ("stroke", "stroke", "picture", "picture")  # as the pen data's training digits
APP_WRITER = "user-"  # app.corrections.writer_id's prefix


def label_index(label: str) -> int | None:
    """0-9 for a digit, NOT_A_DIGIT for "not a digit" or a letter that looks like none; else None."""
    if label in set("0123456789"):
        return int(label)
    if label == NOT_A_LABEL or (len(label) == 1 and label in REJECT_LETTERS):
        return NOT_A_DIGIT
    return None


def files(path: Path) -> list[Path]:
    """The JSON-lines files of `path`: itself, or the .jsonl(.gz) files in a directory."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    if path.is_file():
        return [path]
    raise PenDataError(f"{path}: no such file or directory (--extra-data)")


def load_extra(path: str | Path, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(images float32 (n, 28, 28, 1), labels int64, a one-line summary) of the extra records."""
    rng = np.random.default_rng(seed + 1)
    xs, ys, bad, held_out, writers = [], [], 0, 0, set()
    for file in files(Path(path)):
        try:
            opener = gzip.open if file.suffix == ".gz" else open
            with opener(file, "rt", encoding="utf-8") as f:
                lines = f.readlines()
        except (OSError, EOFError, UnicodeDecodeError) as e:
            raise PenDataError(f"{file}: cannot read ({e})") from None
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                label = label_index(record.get("label")) if isinstance(record, dict) else None
                if label is None:
                    continue  # a letter that may look like a digit, or another kind of record
                writer = str(record.get("writer") or "")
                if writer and not writer.startswith(APP_WRITER) and is_val_writer(writer):
                    held_out += 1
                    continue
                if record.get("strokes"):
                    strokes = parse_record(record).strokes
                    images = [stroke_view(augment(strokes, rng), rng) if view == "stroke"
                              else picture_view(augment(strokes, rng), rng) for view in VIEWS]
                else:
                    images = [decode_image(record.get("image", ""))]
            except (ValueError, BadStrokes, TypeError):
                bad += 1
                continue
            images = [im for im in images if im is not None]
            xs += images
            ys += [label] * len(images)
            writers.add(writer)
    if bad:
        print(f"warning: {path}: skipped {bad} unreadable record(s)", file=sys.stderr)
    if not xs:
        raise PenDataError(f"{path}: no usable records (--extra-data)")
    summary = (f"extra data: {len(xs)} images from {path} ({len(writers)} writer(s); "
               f"{held_out} record(s) of validation writers kept out)")
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64), summary
