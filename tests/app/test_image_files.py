"""Input refused or decoded (app.image_files): a file or an array of a size no photo of a digit has, a file that
is no image or is damaged, a phone photo stored sideways."""
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from app.image_files import BadImage, load_image
from app.preprocess import to_model_input
from tests.app.pictures import distance, ring, seven


@pytest.mark.parametrize("shape", [(0, 0), (0, 28), (28, 0)])
def test_empty_arrays_are_refused(shape):
    with pytest.raises(BadImage, match="empty"):
        to_model_input(np.zeros(shape, np.uint8))


def test_absurd_sizes_are_refused_at_once():
    huge = np.broadcast_to(np.uint8(0), (20000, 20000))  # no memory behind it
    started = time.perf_counter()
    with pytest.raises(BadImage, match="too large"):
        to_model_input(huge)
    assert time.perf_counter() - started < 0.5
    with pytest.raises(BadImage, match="empty"):
        to_model_input(Image.new("L", (0, 0)))


def test_arrays_of_the_wrong_shape_are_refused():
    with pytest.raises(BadImage, match="array"):
        to_model_input(np.zeros((28, 28, 2)))
    with pytest.raises(TypeError):
        to_model_input("not an image")


def png_header(path, width, height):
    """A PNG that claims a size but has no pixel data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_load_image_refuses_a_huge_file_without_decoding(tmp_path):
    started = time.perf_counter()
    with pytest.raises(BadImage, match=r"huge.png: image is too large"):
        load_image(png_header(tmp_path / "huge.png", 20000, 20000))
    with pytest.raises(BadImage, match=r"wide.png: image is too large \(17000x10 pixels"):
        load_image(png_header(tmp_path / "wide.png", 17000, 10))
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("content", [b"", b"not an image at all", None], ids=["empty", "text", "missing"])
def test_load_image_names_the_unreadable_file(tmp_path, content):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadImage, match="broken.png"):
        load_image(path)


def test_load_image_reports_truncated_data(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(ring()).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(BadImage, match="cut.png"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_load_image_turns_a_sideways_phone_photo_upright(tmp_path, suffix):
    """Cameras store the sensor's pixels and an EXIF orientation; the picture is read as it is shown."""
    upright = Image.fromarray(255 - seven(size=(200, 300)))  # dark 7 on white, taller than wide
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as the sensor saw it: 300 wide, 200 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90 degrees clockwise to show
    path = tmp_path / f"photo{suffix}"
    stored.save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
    loaded = load_image(path)
    assert loaded.size == upright.size
    assert distance(to_model_input(loaded), to_model_input(upright)) < 0.01
