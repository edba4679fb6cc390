"""Pictures made for the preprocessing tests: a ring and a 7 drawn, a photo's JPEG, how alike two inputs are."""
import io

import numpy as np
from PIL import Image, ImageDraw


def ring(size=(280, 280), box=(100, 60, 170, 220), width=18, ink=255, paper=0):
    """An anti-aliased '0'-like ring, drawn 4x larger and shrunk."""
    big = Image.new("L", (size[0] * 4, size[1] * 4), paper)
    ImageDraw.Draw(big).ellipse([c * 4 for c in box], outline=ink, width=width * 4)
    return np.asarray(big.resize(size, Image.Resampling.BOX))


def distance(a, b):
    """Mean absolute difference, forgiving a one-pixel shift (centring rounds to whole pixels)."""
    a, b = a[:, :, 0], b[:, :, 0]
    return min(
        np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).mean() for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def jpeg_photo(photo, quality=70):
    """The grey levels `photo` as a phone would store them: a JPEG, decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def seven(size=(280, 280), at=(80, 50), height=180, width=16):
    """A '7' made of two thick lines: asymmetric, so misplacement shows."""
    image = Image.new("L", size, 0)
    x, y = at
    draw = ImageDraw.Draw(image)
    draw.line([(x, y), (x + height * 0.6, y), (x + height * 0.25, y + height)], fill=255, width=width,
              joint="curve")
    return np.asarray(image)
