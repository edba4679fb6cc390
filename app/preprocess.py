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

import contextlib
import math
import os
import stat
import sys
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app import components, shadows
from app.rules import remove_rules
from app.printable import printable

PREPROCESSING_ID = "mnist-com-v1"

MAX_SIDE = 16384
MAX_PIXELS = 50_000_000
WORK_SIDE = 2048  # bigger inputs are box-filtered down first; the digit ends up 20 px anyway
MIN_CONTRAST = 32.0  # grey levels between background and ink below which nothing is drawn
EDGE_MARGIN = 0.05  # of the picture's edge: two readings of its polarity that ink this much more alike meet it alike
INK_THRESHOLD = 0.1  # ink map level that counts as ink when finding boxes and components
SPECK_MASS = 0.05  # a component lighter than this share of the heaviest one ...
SPECK_SIZE = 0.25  # ... and smaller than this share of its longer side is noise
HAIR = 0.25  # ... or, light but long, thinner than this share of its strokes' width
MAX_HAIRS = 50  # light long components looked at that closely (beyond that: as before)
MAX_GAIN = 2.0  # ink in the shade is raised to the lit ink's level by at most this ...
DIM_INK = 0.45  # ... where the strongest ink about it is at least this (not a speck on blank paper) ...
SHADED_INK = 0.9  # ... and at most this (a thin lit stroke's peak, blurred, is less than 1)
FRAME_SHARE = 0.5  # a blob along this much of an edge is the desk around the paper
DESK_COVER = 0.85  # lines inked across this share of the picture, from a side inwards, are a desk's band
                   # (a photographed desk is noisy: at 0.95 a tenth of light pixels broke its band)
OUTER = 0.25  # a desk's band left clear of its side by the paper's map lies within this share of the picture
CLEAR = 0.02  # ... and this share of it from the side at least
DESK_WIDER = 2.0  # a frame blob this many times as wide as the writing's strokes is no stroke of a tight crop ...
BAND_WIDER = 1.4  # ... nor one this many times as wide when the writing keeps clear of the sides it runs between
SOLID = 0.5  # ... nor one whose lines from the side inwards are this share of it inked across the picture
# Horizontal runs of ink above which a picture is refused before labelling (labelling costs
# about 0.25 us a run here): a number filling a 2048 px picture in thick strokes has ~60,000,
# a 2048x2048 picture of random dots ~1,000,000.
MAX_INK_RUNS = 250_000
BOX = 20
FIELD = 28
RESAMPLE = Image.Resampling.LANCZOS  # closest to MNIST's own anti-aliasing, measured
# Stroke width as a share of the ink's longer side (`stroke_share`) above which a picture's digit
# is thinned: MNIST's 99th percentile (2,000 test digits; median 0.117), so MNIST stays as it is.
THICK_SHARE = 0.216
THIN_SIDE = 40  # a thick digit is thinned on a copy this long: twice the 20 px it ends at, and cheap
# The formats the app documents (phones' MPO files come through JPEG). Other decoders
# (PSD, FITS, EPS, ...) are never tried on a user's file.
FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "WEBP")
PLAIN_MODES = ("L", "LA", "RGB", "RGBA", "I", "F")  # what _grey reads; reduce() keeps each
FLOAT_UNIT_TOP = 2.0  # float pictures whose values stay below this are on a 0..1 scale
FLOAT_LIMIT = 1e6  # float levels are clipped to +-this: damaged files hold 3e38, which overflows later


class BadImage(ValueError):
    """The input cannot be a picture of a digit (unreadable, empty or absurdly large)."""


def check_size(width, height):
    """Raise BadImage for sizes no photo of a digit has; cheap, call before decoding."""
    if width <= 0 or height <= 0:
        raise BadImage(f"image is empty ({width}x{height} pixels)")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise BadImage(
            f"image is too large ({width}x{height} pixels; the limit is {MAX_SIDE} pixels "
            f"a side and {MAX_PIXELS // 1_000_000} megapixels)"
        )


def load_image(path):
    """Read an image file into a Pillow image; BadImage names the file on any failure.

    Every decoder failure becomes a BadImage (Pillow's plugins raise many exception
    types on damaged files), so one bad file never stops a batch. A FIFO, device or
    directory is refused without reading from it; the image comes back decoded, in one
    of the modes `to_ink` takes, and upright.
    """
    name = printable(path, limit=None)
    try:
        with _open_regular_file(path, name) as file:
            with warnings.catch_warnings():
                # One line per file: our own message speaks, not Pillow's warnings about a damaged
                # file (corrupt EXIF, oversized tags) nor its bomb warning (our limit is lower).
                warnings.simplefilter("ignore")
                image = Image.open(file, formats=FORMATS)
                with image:
                    check_size(*image.size)
                    with _quiet_stderr(image.format == "TIFF"):
                        image.load()
                    # Phone photos are stored sideways with an EXIF note saying so.
                    upright = ImageOps.exif_transpose(image)
                    return _plain_mode(upright)
    except BadImage as exc:
        raise BadImage(f"{name}: {exc}") from None
    except UnidentifiedImageError:
        raise BadImage(f"{name}: not an image file this app can read") from None
    except Image.DecompressionBombError:
        raise BadImage(
            f"{name}: image is too large (over {2 * Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels; "
            f"the limit is {MAX_SIDE} pixels a side and {MAX_PIXELS // 1_000_000} megapixels)"
        ) from None
    except MemoryError:
        raise BadImage(f"{name}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file, never a traceback
        raise BadImage(f"{name}: cannot decode image ({_reason(exc)})") from None


def _open_regular_file(path, name):
    """Open `path` for reading if it is a regular file; never blocks on a FIFO or device."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise BadImage("no such file") from None
    except IsADirectoryError:
        raise BadImage("is a directory, not an image") from None
    except OSError as exc:
        raise BadImage(f"cannot read ({exc.strerror or _reason(exc)})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise BadImage("is a directory, not an image")
        if not stat.S_ISREG(mode):
            raise BadImage("not a regular file (a pipe, socket or device), not an image")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def _quiet_stderr(active):
    """Send file descriptor 2 to nowhere while libtiff decodes: it prints its complaints there itself.

    Process-wide for those milliseconds: a line another thread writes to stderr meanwhile is lost.
    """
    if not active:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        sink = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to silence
        yield
        return
    try:
        os.dup2(sink, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


def _reason(exc):
    """A decoder's complaint as one short printable line."""
    lines = str(exc).strip().splitlines()
    return printable(lines[0] if lines else type(exc).__name__)


def to_ink(image):
    """Ink map of a Pillow image or array: float32 (H, W), ink in (0, 1], background 0.

    Returns None when there is no ink at all. Dark-on-light input is inverted,
    transparency is flattened onto a background that contrasts with the opaque
    part, and the paper's level and noise are subtracted.
    """
    inked = _ink_and_frame(image)
    return None if inked is None else inked[0]


def ink_and_blobs(image):
    """(ink map as `to_ink` gives it, its labelled components), or None: the one labelling per read.

    Raises BadImage, before any labelling, for ink scattered into more runs than a number has.
    """
    inked = _ink_and_frame(image)
    if inked is None:
        return None
    ink, found = inked
    return ink, found if found is not None else components.label(ink > INK_THRESHOLD, ink)


def _ink_and_frame(image):
    """(ink map, its labelling or None) with the frame dropped; None when there is no ink."""
    ink = _normalise(_grey(image))
    if ink is None:
        return None
    runs = ink_runs(ink > INK_THRESHOLD)
    if runs > MAX_INK_RUNS:
        raise BadImage(f"ink too scattered to be a number ({runs} ink runs; the limit is {MAX_INK_RUNS})")
    return _drop_frame(remove_rules(ink, INK_THRESHOLD))


def ink_runs(mask):
    """Number of horizontal runs of True in a boolean raster (linear time, no labelling)."""
    starts = np.count_nonzero(mask[:, 1:] & ~mask[:, :-1])
    return int(starts + np.count_nonzero(mask[:, 0]))


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
        pen = stroke_width(_component(found, big))
        for i in long:
            specks[i] = stroke_width(_component(found, i)) < HAIR * pen
    return specks


def _component(found, i):
    """Boolean raster of component `i` (0-based) within its box."""
    x0, y0, x1, y1 = found.boxes[i]
    return found.labels[y0:y1, x0:x1] == i + 1


def center_digit(ink):
    """MNIST-style 28x28x1 float32 in [0, 1] from an ink map of one digit; None if blank."""
    crop = _ink_crop(ink)
    if crop is None:
        return None
    small = _longer_side(crop, BOX)
    small = np.clip(small, 0.0, None)
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


def stroke_share(mask):
    """Stroke width of a boolean ink raster as a share of its longer side (0 for no ink).

    A stroke of length L and width w covers about L*w pixels and has about 2L of outline; the
    outline is counted in pixel edges, which overcount a line's length by 4/pi on average over
    its directions. Measured on drawn digits: within 5 % of the brush from hairline to blob.
    """
    width = stroke_width(mask)
    if width == 0.0:
        return 0.0
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    return width / side


def stroke_width(mask):
    """Stroke width in pixels of a boolean ink raster (0 for no ink): area over half the outline,
    as `stroke_share` explains."""
    area = np.count_nonzero(mask)
    if area == 0:
        return 0.0
    edges = (np.count_nonzero(mask[:, 1:] != mask[:, :-1]) + np.count_nonzero(mask[1:] != mask[:-1])
             + np.count_nonzero(mask[:, [0, -1]]) + np.count_nonzero(mask[[0, -1]]))
    return float(2 * area / (edges * math.pi / 4))


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
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero((ink[rows[0] : rows[-1] + 1] > INK_THRESHOLD).any(axis=0))
    return np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)


def _longer_side(crop, side):
    """`crop` resized (anti-aliased, aspect kept) so that its longer side is `side` pixels."""
    return scaled(crop, side / max(crop.shape))


def scaled(crop, factor):
    """A float32 ink map resized by `factor` (anti-aliased, aspect kept, at least one pixel a side)."""
    h, w = crop.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(crop, np.float32), "F").resize(size, RESAMPLE))


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


def _grey(image):
    """float32 grey levels 0..255, transparency flattened, big inputs shrunk."""
    if isinstance(image, Image.Image):
        check_size(*image.size)
        image = _shrink_image(_plain_mode(image))
        if image.mode in ("RGBA", "LA"):
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
            return _flatten(_luma(rgba[..., :3]), rgba[..., 3] / 255.0)
        if image.mode in ("I", "F"):
            return _from_array(np.asarray(image))
        return np.asarray(image.convert("L"), dtype=np.float32)
    if isinstance(image, np.ndarray):
        return _from_array(image)
    raise TypeError(f"expected a Pillow image or numpy array, got {type(image).__name__}")


def _plain_mode(image):
    """The same picture in one of PLAIN_MODES, keeping 16-bit depth and transparency; else BadImage."""
    mode = image.mode
    if mode in PLAIN_MODES and "transparency" not in image.info:
        return image
    try:
        if mode.startswith("I;16"):
            return image.convert("I")  # not "L": that clips 16-bit levels to 8 bits
        if mode == "LAB":
            return image.getchannel("L")  # lightness is the grey level; Pillow has no LAB -> L
        has_alpha = "A" in mode or "a" in mode or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else ("L" if mode in ("1", "L", "I", "F") else "RGB"))
    except (ValueError, OSError, TypeError, KeyError) as exc:
        raise BadImage(f"cannot read {printable(mode)} images ({_reason(exc)})") from None


def _from_array(array):
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise BadImage(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array, got {array.shape}")
    check_size(array.shape[1], array.shape[0])
    values = _to_255(array)
    values = _shrink_array(values)
    if values.ndim == 2:
        return values
    grey = _luma(values[..., :3])
    if values.shape[2] == 4:
        return _flatten(grey, np.clip(values[..., 3] / 255.0, 0.0, 1.0))
    return grey


def _to_255(array):
    """Any numeric dtype to finite float32 on a 0..255 scale.

    Floats below FLOAT_UNIT_TOP are taken as 0..1 (a filter's overshoot to 1.01 stays 0..1);
    NaN and infinite pixels carry no level and are set to the picture's median; absurd
    levels are clipped to +-FLOAT_LIMIT so nothing downstream overflows to NaN.
    """
    if array.dtype == bool:
        return array.astype(np.float32) * 255
    if np.issubdtype(array.dtype, np.floating):
        with np.errstate(over="ignore", invalid="ignore"):
            values = array.astype(np.float32)  # float64 beyond float32's range becomes inf, handled here
        finite = np.isfinite(values)
        if not finite.all():
            fill = float(np.median(values[finite])) if finite.any() else 0.0
            values = np.where(finite, values, np.float32(fill))
        values = np.clip(values, -FLOAT_LIMIT, FLOAT_LIMIT)
        return values * 255 if values.max(initial=0) < FLOAT_UNIT_TOP else values
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        top = float(array.max(initial=0))
        return array.astype(np.float32) * (255.0 / top if top > 255 else 1.0)
    raise BadImage(f"unsupported array type {array.dtype}")


def _shrink_image(image):
    """A PLAIN_MODES image reduced by a whole factor so its longer side is at most WORK_SIDE."""
    factor = math.ceil(max(image.size) / WORK_SIDE)
    if factor <= 1:
        return image
    return image.reduce(factor)


def _shrink_array(values):
    h, w = values.shape[:2]
    factor = math.ceil(max(h, w) / WORK_SIDE)
    if factor <= 1:
        return values
    h2, w2 = h // factor * factor, w // factor * factor
    if h2 == 0 or w2 == 0:
        raise BadImage(f"image is too thin to read ({w}x{h} pixels)")
    shape = (h2 // factor, factor, w2 // factor, factor) + values.shape[2:]
    return values[:h2, :w2].reshape(shape).mean(axis=(1, 3), dtype=np.float32)


def _luma(rgb):
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _flatten(grey, alpha):
    """Composite onto white if the opaque part is dark ink, else onto black."""
    if alpha.min() >= 1.0:
        return grey
    weight = float(alpha.sum())
    mean = float((grey * alpha).sum()) / weight if weight > 0 else 0.0
    background = 255.0 if mean < 128 else 0.0
    return grey * alpha + background * (1.0 - alpha)


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


def _drop_frame(ink, cut=True):
    """Remove blobs lying along an edge (desk or shadow around a photographed page).

    A blob that covers FRAME_SHARE of one side of the picture is taken for the
    world outside the paper, provided a digit-sized blob remains without it that keeps
    clear of the opposite side; writing cropped to its ink (one digit, or a number whose
    digits reach across the picture) stays. Returns (ink, its labelling or
    None when it did not need one).
    """
    sides = (ink[0], ink[-1], ink[:, 0], ink[:, -1])
    if max(float((side > 0.5).mean()) for side in sides) < FRAME_SHARE and not _loose_band(ink):
        return ink, None
    found = components.label(ink > INK_THRESHOLD, ink)
    labels = found.labels
    frame = np.zeros(found.count + 1, bool)
    along = []  # the sides (top, bottom, left, right) that frame blobs lie along
    (h, w), (x0, y0, x1, y1) = ink.shape, found.boxes.T
    loose = _loose_bands(found, (h, w))
    for index, side in enumerate((labels[0], labels[-1], labels[:, 0], labels[:, -1])):
        ids, counts = np.unique(side[side > 0], return_counts=True)
        wide = np.union1d(ids[counts >= FRAME_SHARE * len(side)], loose[index])
        frame[wide] = True
        along += [index] * bool(len(wide))
    rest = ~frame[1:]
    # Digit-sized: as tall as a fiftieth of the picture. A stub of a ruled line the rules left beside the
    # desk is as long but flat, and counting it kept a digit that touched the desk inside the dropped blob.
    remains = rest & (y1 - y0 >= max(5, 0.02 * max(h, w)))
    # Writing cropped to its ink reaches across: a number's 1 lies along the left side, and its last digit,
    # half the picture's height or more, touches the right. A desk lies along one side of a page whose
    # writing keeps clear of the other (a stub of a ruled line may reach it, but it is flat).
    opposite = ((y1 == h), (y0 == 0), (x1 == w), (x0 == 0))
    across = remains & (y1 - y0 >= 0.5 * h)
    if cut:  # writing that touches the desk is one blob with it: all of it, or a number's first digit
        banded = _cut_desk_bands(ink)
        if banded is not ink:
            return _drop_frame(banded, cut=False)
    if not remains.any():
        return ink, found
    # A band along the side far wider than the writing's strokes is a desk even when the writing reaches
    # the opposite side (a digit filling the photo); a tight crop's 1 there is as wide as its neighbours.
    # So is a band as wide as the strokes but solid, while the writing keeps clear of the sides it runs
    # between: a pen's 1 is never that straight, and a tight crop's writing meets those sides.
    beside = ((x0 == 0) | (x1 == w), (x0 == 0) | (x1 == w), (y0 == 0) | (y1 == h), (y0 == 0) | (y1 == h))
    desk = frame[labels]
    if any(opposite[index][across].any() for index in along) \
            and stroke_width(desk) <= DESK_WIDER * stroke_width(rest[labels - 1] & (labels > 0)) \
            and not any(_solid_band(desk, index) and not beside[index][remains].any() for index in along):
        return ink, found
    return np.where(desk, np.float32(0), ink), components.subset(found, rest)


def _solid_band(mask, side):
    """Whether the frame blobs `mask` (bool) along `side` (0 top, 1 bottom, 2 left, 3 right) are a desk's
    band: from the first line inked toward that side inwards, as long as lines are inked, SOLID of them
    or more inked across DESK_COVER of the picture (a desk's edge is straight; the 1 of a writing cropped
    to its ink has no such lines). A band fading into the paper's map lies clear of its side."""
    cover = (mask, mask[::-1], mask.T, mask.T[::-1])[side].mean(axis=1)
    start = _leading(cover == 0)
    return start < len(cover) and _solid(cover[start : start + _leading(cover[start:] > 0)])


def _solid(cover):
    """Whether SOLID of the lines whose inked shares are `cover` are inked across DESK_COVER."""
    return bool((np.asarray(cover) >= DESK_COVER).mean() >= SOLID)


def _loose_band(ink):
    """Whether a line within OUTER of the picture from a side is inked across DESK_COVER of it (cheap): at
    the threshold _loose_bands' blobs are drawn at, as a band fading into the paper's map is faint."""
    inked = ink > INK_THRESHOLD
    for axis in (1, 0):
        cover = inked.mean(axis=axis)
        reach = max(1, int(OUTER * len(cover)))
        if (cover[:reach] >= DESK_COVER).any() or (cover[-reach:] >= DESK_COVER).any():
            return True
    return False


def _loose_bands(found, shape):
    """Per side (top, bottom, left, right), the blobs (labels) that are a desk's band clear of that side: a
    desk wider than a block of the paper's map has its outer part taken for paper, and what is left runs
    corner to corner within OUTER of the picture from the side, solid (SOLID of its lines inked across
    DESK_COVER of it, though its soft edge is ragged; a row of touching digits has holes)."""
    h, w = shape
    x0, y0, x1, y1 = found.boxes.T
    out = []
    sides = ((1, y0, y1, h, (x0 == 0) & (x1 == w)), (0, x0, x1, w, (y0 == 0) & (y1 == h)))
    for across, lo, hi, size, length in sides:  # top and bottom bands (their rows across), then left and right
        flat = length & (hi - lo <= OUTER * size)
        # Clear of the side (by CLEAR of the picture): a tight crop's 1 runs corner to corner along it, as
        # solid, but touches it or all but (its faint edge below the ink's threshold).
        gap = CLEAR * size
        for near in ((lo >= gap) & (hi <= OUTER * size), (hi <= size - gap) & (lo >= (1 - OUTER) * size)):
            solid = [i + 1 for i in np.flatnonzero(flat & near)
                     if _solid(_component(found, i).mean(axis=across))]
            out.append(np.array(solid, np.int64))
    return out


def _cut_desk_bands(ink):
    """`ink` with a desk's band cut away along each side where writing on the page touches it (`ink`
    itself when there is none).

    A desk beside the page is a band of ink from corner to corner along one side (every line of it
    inked across DESK_COVER of the picture), and writing that touches it joins it into one blob, so
    dropping the blob dropped the digit. The band (and its soft edge, lines inked across half the
    picture) is cut where the ink beyond it keeps clear of the opposite side (writing cropped to its
    ink reaches every side, and a 7's bar along the top of such a crop stays), or where the band is
    wider than the writing's strokes (DESK_WIDER; BAND_WIDER while the writing keeps clear of the
    sides the band runs between).
    """
    strong = ink > 0.5
    for axis, flip in ((0, False), (0, True), (1, False), (1, True)):
        cover = strong.mean(axis=1 - axis)  # per line parallel to the side
        if flip:
            cover = cover[::-1]
        if cover[0] < DESK_COVER:
            continue
        full = _leading(cover >= DESK_COVER)
        soft = (ink > INK_THRESHOLD).mean(axis=1 - axis)[::-1 if flip else 1]
        edge = full + _leading(soft[full:] >= 0.5)
        if full < 3 or edge >= len(cover):
            continue
        lines = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1 - axis))
        far = (len(cover) - 1 - lines[0]) if flip else lines[-1]
        cut = slice(len(cover) - edge, None) if flip else slice(0, edge)
        # The writing reaches the opposite side: cropped to its ink (a 7's bar along the top stays), unless
        # the band is far wider than the writing's strokes (a number filling the page, its first digit
        # touching the desk), or a little wider while the writing keeps clear of the sides the band runs
        # between (a cropped 5's bowl meets them).
        if far == len(cover) - 1:
            beyond = ink > INK_THRESHOLD
            beyond[cut if axis == 0 else (slice(None), cut)] = False
            ends = (beyond[:, 0], beyond[:, -1]) if axis == 0 else (beyond[0], beyond[-1])
            wider = DESK_WIDER if any(end.any() for end in ends) else BAND_WIDER
            if full <= wider * stroke_width(beyond):
                continue
        ink = ink.copy()
        if axis == 0:
            ink[cut] = 0
        else:
            ink[:, cut] = 0
        strong = ink > 0.5
    return ink


def _leading(flags):
    """How many of the booleans `flags` are True before the first False."""
    return len(flags) if flags.all() else int(np.argmin(flags))


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
