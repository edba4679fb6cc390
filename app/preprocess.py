"""Turn any picture of a digit into what the network was trained on (`mnist-com-v1`).

MNIST was made by scaling each digit's bounding box so its longer side is 20 px
(aspect kept, anti-aliased), then shifting it by whole pixels so its centre of
mass sits on pixel (14, 14) of a 28x28 field, white on black. Measured on the
test set: every digit's non-zero box has a longer side of exactly 20 and its
centre of mass lies within half a pixel of (14, 14); every digit reaches 255.
`center_digit` rebuilds exactly that; `to_ink` first brings photos, scans and
canvases to a common form (light ink on a zero background, values in [0, 1]).
`picture_input` is what a picture's digit goes through: a stroke far thicker than MNIST's
(a thick pen on a small digit) is first thinned to the width the window's strokes are drawn at.

All functions are pure (numpy + Pillow) and need no display.
"""

import math

import numpy as np
from PIL import Image

from app import components, shadows
from app.boxes import remove_boxes
from app.desk import drop_frame
from app.image_files import BadImage, grey_levels
from app.marks import remove_marks
from app.raster import INK_THRESHOLD, component_mask, ink_runs, stroke_share, stroke_width
from app.resample import lanczos  # Pillow's LANCZOS: closest to MNIST's own anti-aliasing, measured
from app.rules import remove_rules

PREPROCESSING_ID = "mnist-com-v1"

MIN_CONTRAST = 32.0  # grey levels between background and ink below which nothing is drawn
EDGE_MARGIN = 0.05  # of the picture's edge: two readings of its polarity that ink this much more alike meet it alike
SPECK_MASS = 0.05  # a component lighter than this share of the heaviest one ...
SPECK_SIZE = 0.25  # ... and smaller than this share of its longer side is noise
HAIR = 0.25  # ... or, light but long, thinner than this share of its strokes' width
MAX_HAIRS = 50  # light long components looked at that closely (beyond that: as before)
MAX_GAIN = 2.0  # ink in the shade is raised to the lit ink's level by at most this ...
DIM_INK = 0.45  # ... where the strongest ink about it is at least this (not a speck on blank paper) ...
SHADED_INK = 0.9  # ... and at most this (a thin lit stroke's peak, blurred, is less than 1)
# Horizontal runs of ink above which a picture is refused before labelling (labelling costs
# about 0.25 us a run here): a number filling a 2048 px picture in thick strokes has ~60,000,
# a 2048x2048 picture of random dots ~1,000,000.
MAX_INK_RUNS = 250_000
BOX = 20
FIELD = 28
# Stroke width as a share of the ink's longer side (`stroke_share`) above which a picture's digit
# is thinned: MNIST's 99th percentile (2,000 test digits; median 0.117), so MNIST stays as it is.
THICK_SHARE = 0.216
THIN_SIDE = 40  # a thick digit is thinned on a copy this long: twice the 20 px it ends at, and cheap


def to_ink(image):
    """Ink map of a Pillow image or array: float32 (H, W), ink in (0, 1], background 0.

    Returns None when there is no ink at all. Dark-on-light input is inverted,
    transparency is flattened onto a background that contrasts with the opaque
    part, and the paper's level and noise are subtracted.
    """
    inked = _ink_and_frame(image)
    return None if inked is None else inked[0]


def ink_and_blobs(image):
    """(ink map as `to_ink` gives it, its labelled components), or None: the one labelling per read
    (labelled again only where a form's lines or a mark drawn by hand were erased from it).

    Raises BadImage, before any labelling, for ink scattered into more runs than a number has.
    """
    inked = _ink_and_frame(image)
    if inked is None:
        return None
    return inked


def _ink_and_frame(image):
    """(ink map, its labelling) with the paper's lines, the frame and printed boxes dropped; None when
    there is no ink."""
    ink = _normalise(grey_levels(image))
    if ink is None:
        return None
    runs = ink_runs(ink > INK_THRESHOLD)
    if runs > MAX_INK_RUNS:
        raise BadImage(f"ink too scattered to be a number ({runs} ink runs; the limit is {MAX_INK_RUNS})")
    ink, found = drop_frame(remove_rules(ink, INK_THRESHOLD))
    if found is None:
        found = components.label(ink > INK_THRESHOLD, ink)
    return remove_marks(*remove_boxes(ink, found, INK_THRESHOLD), INK_THRESHOLD)


def drop_specks(ink, found=None):
    """Zero connected blobs that are tiny next to the biggest one (dust, stray taps).

    `found` is the labelling of `ink` when the caller has it already."""
    if found is None:
        found = components.label(ink > INK_THRESHOLD, ink)
    noise = speck_components(found)
    if not noise.any():
        return ink
    keep = np.concatenate(([True], ~noise))
    return np.where(keep[found.labels], ink, np.float32(0))


def speck_components(found):
    """Boolean per component: True where it counts as a speck. Besides small ones, a light one far
    thinner than the heaviest one's strokes (HAIR) is one too: a stub of a paper's line the rules left,
    a hair, a scratch (a stub beside a desk read as a mark that is no digit beside the 9 it was under)."""
    if found.count == 0:
        return np.zeros(0, bool)
    sizes = np.maximum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1])
    big = int(np.argmax(found.mass))
    light = found.mass < SPECK_MASS * found.mass[big]
    specks = light & (sizes < SPECK_SIZE * sizes[big])
    long = np.flatnonzero(light & ~specks)
    if 0 < len(long) <= MAX_HAIRS:
        pen = stroke_width(component_mask(found, big))
        for i in long:
            specks[i] = stroke_width(component_mask(found, i)) < HAIR * pen
    return specks


def center_digit(ink):
    """MNIST-style 28x28x1 float32 in [0, 1] from an ink map of one digit; None if blank."""
    crop = _ink_crop(ink)
    if crop is None:
        return None
    small = np.maximum(_longer_side(crop, BOX), 0.0)  # Lanczos rings below zero beside strokes
    peak = float(small.max())
    if peak <= 0:
        return None
    # Every MNIST digit reaches full white; thin strokes shrunk a lot do not.
    small = np.minimum(small / peak, 1.0)

    total = float(small.sum())
    ys = np.arange(small.shape[0], dtype=np.float64)
    xs = np.arange(small.shape[1], dtype=np.float64)
    cy = float(small.sum(axis=1) @ ys) / total
    cx = float(small.sum(axis=0) @ xs) / total
    top = math.floor(FIELD / 2 - cy + 0.5)
    left = math.floor(FIELD / 2 - cx + 0.5)

    out = np.zeros((FIELD, FIELD), np.float32)
    sh, sw = small.shape
    oy0, ox0 = max(top, 0), max(left, 0)
    oy1, ox1 = min(top + sh, FIELD), min(left + sw, FIELD)
    out[oy0:oy1, ox0:ox1] = small[oy0 - top : oy1 - top, ox0 - left : ox1 - left]
    return out[:, :, None]


def picture_input(ink):
    """Model input of one digit's ink from a picture: `center_digit` after `thin_thick_strokes`."""
    return center_digit(thin_thick_strokes(ink))


def to_model_input(image):
    """One digit, whole picture: float32 (28, 28, 1) in [0, 1], or None for no digit."""
    ink = to_ink(image)
    if ink is None:
        return None
    return picture_input(drop_specks(ink))


def thin_thick_strokes(ink):
    """`ink` of one digit, its strokes thinned to the window's stroke width if far thicker than MNIST's.

    The window draws a digit's strokes at app.pen.NORM_WIDTH of their extent whatever the brush
    (app.pen.normalised_ink); a picture only has pixels, so a stroke wider than THICK_SHARE of
    the digit is eroded toward the window's width on a copy THIN_SIDE pixels long (the returned
    map is that copy; center_digit scales it to 20 px anyway). Anything else comes back as it is.
    """
    crop = _ink_crop(ink)
    if crop is None:
        return ink
    share = stroke_share(crop > 0.5)
    if share <= THICK_SHARE:
        return ink
    from app.pen import NORM_WIDTH  # app.pen imports this module: read at call time

    target = NORM_WIDTH / (1 + NORM_WIDTH)  # the window's width as a share of the ink's extent
    small = np.clip(_longer_side(crop, THIN_SIDE), 0.0, 1.0)
    # A pixel off either side of the stroke per step. The ends shrink too, which this leaves out on
    # purpose: where strokes overlap, the estimate counts their shared ink as width, and eroding
    # that much more opened strokes up less well (training writers' pictures, on an 80 px copy:
    # 98.2 % against 97.8 %).
    steps = int(round((share - target) * THIN_SIDE / 2))
    thinned = _erode(np.pad(small, 1), steps)
    return thinned if (thinned > INK_THRESHOLD).any() else small


def _ink_crop(ink):
    """float32 copy of `ink` cut to the box of its pixels above INK_THRESHOLD; None if there are none."""
    inked = ink > INK_THRESHOLD
    rows = np.flatnonzero(inked.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(inked.any(axis=0))
    return np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)


def _longer_side(crop, side):
    """`crop` resized (anti-aliased, aspect kept) so that its longer side is `side` pixels."""
    return scaled(crop, side / max(crop.shape))


def scaled(crop, factor):
    """A float32 ink map resized by `factor` (anti-aliased, aspect kept, at least one pixel a side)."""
    h, w = crop.shape
    return lanczos(crop, (max(1, round(w * factor)), max(1, round(h * factor))))


def _erode(ink, steps):
    """Grey erosion, one pixel per step: plus-shaped and square steps in turn, so nearly round."""
    h, w = ink.shape
    for step in range(steps):
        padded = np.pad(ink, 1)
        if step % 2 == 0:
            near = (padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1], padded[2:, 1:-1])
        else:
            near = tuple(padded[y : y + h, x : x + w] for y in range(3) for x in range(3) if (y, x) != (1, 1))
        ink = np.minimum.reduce((ink,) + near)
    return ink


# -- internals -----------------------------------------------------------------


def _normalise(grey):
    lo, hi = float(grey.min()), float(grey.max())
    if hi - lo < MIN_CONTRAST:
        return None
    # Statistics from a strided sample: exact enough, and constant time for photos.
    step = max(1, math.ceil(math.sqrt(grey.size / 4096)))
    sample = grey[::step, ::step]
    # Dark ink on paper when the background is nearer the light end, taken as the picture's median or
    # its border's: writing cropped to its ink is more ink than paper (but its border is mostly paper),
    # and a vignette darkens the border (but not the median). Light ink needs both to say so.
    paper = float(np.median(sample))
    border = float(np.median(_edge(sample)))
    if paper - lo > hi - paper or border - lo > hi - border or _dark_ink_after_all(grey):
        grey = 255.0 - grey
    return _ink_above_paper(grey, step)


def _dark_ink_after_all(grey):
    """True when the picture, which the rules above take for light ink, is dark ink after all. A shadow
    over most of the page puts the median and the border in the shadow, nearer the pen than the lit
    paper is to white, and read as light ink the lit paper is the "ink". Both readings are made on
    `shadows.small_copy`, each with its paper flattened: the paper is what meets the picture's edge, so
    the reading whose ink covers less of the edge is taken (by more than EDGE_MARGIN of it), and where
    they meet it alike, the one holding less ink. (Less ink alone took the lit corner for the ink
    under a number written thick.)"""
    small = shadows.small_copy(grey)
    light, dark = _ink_above_paper(small, 1), _ink_above_paper(255.0 - small, 1)
    if dark is None:
        return False
    if light is None:
        return True
    dark, light = dark > INK_THRESHOLD, light > INK_THRESHOLD
    edge_dark, edge_light = float(_edge(dark).mean()), float(_edge(light).mean())
    if abs(edge_dark - edge_light) > EDGE_MARGIN:
        return edge_dark < edge_light
    return float(dark.mean()) < float(light.mean())


def _edge(a):
    """The outermost pixels of a 2-D array, in one 1-D array (the corners twice)."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def _ink_above_paper(grey, step):
    """Ink map of `grey` (ink lighter than paper), the paper's map and noise taken away; None for no ink.
    `step`: the stride of the sample that statistics come from."""
    sample = grey[::step, ::step]
    mapped = _paper_surface(sample)
    surface = shadows.raised(grey, mapped, float(np.percentile(sample, 99.9)))
    shaded = surface is not mapped  # a shadow across the page
    if float(surface.max() - surface.min()) > 2.0:  # uneven light: flatten it
        full = Image.fromarray(surface, "F").resize(grey.shape[::-1], Image.Resampling.BILINEAR)
        grey = grey - np.asarray(full)
    else:
        grey = grey - float(surface.min())
    sample = grey[::step, ::step]
    # The surface lies under the paper (a low percentile, and the darkest of its neighbours where the
    # light slopes), so the paper's level and spread are measured about its median, not about 0: taken
    # about 0, the offset counted as noise and a floor of 3 "noises" swallowed pencil and dim corners.
    # Paper is what lies nearer the dark end: writing cropped to its ink is more ink than paper.
    blank = sample[sample <= (float(sample.min()) + float(sample.max())) / 2]
    level = float(np.median(blank))
    noise = 1.4826 * float(np.median(np.abs(blank - level)))
    floor = level + 3.0 * noise
    hi = float(grey.max())
    if hi - floor < MIN_CONTRAST:
        return None
    strong = sample[sample > (floor + hi) / 2]
    top = float(np.percentile(strong, 90)) if strong.size >= 10 else hi
    ink = (grey - floor) * np.float32(1.0 / max(top - floor, 1e-6))
    ink = np.clip(ink, 0.0, 1.0, out=ink).astype(np.float32, copy=False)
    return _even_ink(ink) if shaded else ink


def _even_ink(ink):
    """`ink` with the strokes in the shade raised to the lit ones' level: per block of the picture (a
    32nd of it), the strongest ink about it (3 x 3 blocks), where from DIM_INK to SHADED_INK, is raised
    to 1 by at most MAX_GAIN (a shadow 45 % deep leaves the ink at 0.55). Only under a shadow across the
    page (app.shadows found one): elsewhere a ruled line's faint leftovers were raised too."""
    h, w = ink.shape
    near = _around(_blocks(ink, 32).max(axis=2), np.maximum)
    shaded = (near >= DIM_INK) & (near <= SHADED_INK)
    gain = np.where(shaded, np.clip(1.0 / np.maximum(near, 1e-6), 1.0, MAX_GAIN), 1.0).astype(np.float32)
    if float(gain.max()) <= 1.0:
        return ink
    full = np.asarray(Image.fromarray(gain, "F").resize((w, h), Image.Resampling.BILINEAR))
    return np.minimum(ink * full, 1.0).astype(np.float32, copy=False)


def _paper_surface(sample, blocks=8):
    """Coarse map of the paper's level under the ink (float32, about blocks x blocks).

    Per block a low percentile (ink is sparse), then the darkest of each block's
    neighbours, so that only a 3x3 patch of blocks all but covered in ink could
    be taken for paper.
    """
    level = np.percentile(_blocks(sample, blocks), 10, axis=2).astype(np.float32)
    return _around(level, np.minimum)


def _blocks(values, blocks):
    """`values` (H, W) cut into square blocks, about `blocks` along the longer side: (gh, gw, pixels),
    the far edges padded with their own values."""
    h, w = values.shape
    size = max(2, math.ceil(max(h, w) / blocks))
    gh, gw = math.ceil(h / size), math.ceil(w / size)
    padded = np.pad(values, ((0, gh * size - h), (0, gw * size - w)), mode="edge")
    return padded.reshape(gh, size, gw, size).transpose(0, 2, 1, 3).reshape(gh, gw, -1)


def _around(grid, reduce):
    """Each cell of `grid` reduced (np.minimum, np.maximum) with its eight neighbours."""
    gh, gw = grid.shape
    ring = np.pad(grid, 1, mode="edge")
    out = grid.copy()
    for dy in range(3):
        for dx in range(3):
            reduce(out, ring[dy : dy + gh, dx : dx + gw], out=out)
    return out
