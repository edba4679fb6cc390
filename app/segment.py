"""Split an ink map holding a written number into its digits, left to right.

A digit is one or more blobs of connected ink; blobs whose horizontal extents
mostly overlap belong to the same digit (the bar of a 5 written apart, the two
strokes of a 4). Digits that touch each other stay one piece: see README.
"""

from dataclasses import dataclass

import numpy as np

from app import components
from app.preprocess import INK_THRESHOLD, speck_components

OVERLAP = 0.5  # share of the narrower extent two blobs must share to be one digit


@dataclass(frozen=True)
class Piece:
    """One digit: its box (x0, y0, x1, y1, ends exclusive) in the ink map, and an
    ink map of the same size as the box with every other digit's ink removed."""

    box: tuple
    ink: np.ndarray


def split_digits(ink):
    """Pieces of `ink` (float (H, W), from preprocess.to_ink), sorted left to right."""
    found = components.label(ink > INK_THRESHOLD, ink)
    if found.count == 0:
        return []
    kept = np.flatnonzero(~speck_components(found))
    groups = group_columns([found.boxes[i] for i in kept])
    pieces = []
    for members in groups:
        ids = kept[members] + 1
        boxes = found.boxes[ids - 1]
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
        labels = found.labels[y0:y1, x0:x1]
        window = ink[y0:y1, x0:x1]
        # Faint unlabelled pixels (anti-aliasing) stay; only other blobs' ink goes.
        mine = np.isin(labels, ids) | (labels == 0)
        pieces.append(Piece((int(x0), int(y0), int(x1), int(y1)), np.where(mine, window, np.float32(0))))
    return pieces


def group_columns(boxes):
    """Indices of `boxes` grouped into digits by horizontal overlap, groups left to right."""
    groups = [[i] for i in range(len(boxes))]
    spans = [(int(b[0]), int(b[2])) for b in boxes]
    merged = True
    while merged:
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                if _same_digit(spans[a], spans[b]):
                    groups[a] += groups.pop(b)
                    other = spans.pop(b)
                    spans[a] = (min(spans[a][0], other[0]), max(spans[a][1], other[1]))
                    merged = True
                    break
            if merged:
                break
    order = sorted(range(len(groups)), key=lambda g: spans[g][0] + spans[g][1])
    return [sorted(groups[g]) for g in order]


def _same_digit(a, b):
    shared = min(a[1], b[1]) - max(a[0], b[0])
    narrower = min(a[1] - a[0], b[1] - b[0])
    return shared >= OVERLAP * narrower
