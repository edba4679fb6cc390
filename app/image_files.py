"""Pictures from files and arrays, as float32 grey levels 0..255: the app's one door for input.

`load_image` decodes a file into a Pillow image in one of PLAIN_MODES, upright, refusing (BadImage,
one line naming the file) whatever no photo of a digit is; `grey_levels` makes an image or an array of
any numeric type into grey levels, transparency flattened and big inputs shrunk to WORK_SIDE.
"""
import contextlib
import math
import os
import stat
import sys
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.printable import printable

MAX_SIDE = 16384
MAX_PIXELS = 50_000_000
WORK_SIDE = 2048  # bigger inputs are box-filtered down first; the digit ends up 20 px anyway
# The formats the app documents (phones' MPO files come through JPEG). Other decoders
# (PSD, FITS, EPS, ...) are never tried on a user's file.
FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "WEBP")
PLAIN_MODES = ("L", "LA", "RGB", "RGBA", "I", "F")  # what grey_levels reads; reduce() keeps each
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


def grey_levels(image):
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
