"""Issue #13's bad inputs, one test each: one line naming the file, a documented exit code, no traceback,
and the files after a bad one still read (text and JSON)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from app import recognize, samples
from app.cli import main
from app.predictor import Predictor
from app.image_files import BadImage, load_image
from benchmarks.reliability import bad_inputs

from .conftest import ROOT


@pytest.fixture(scope="module")
def predictor(shipped_model):
    return Predictor(shipped_model)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """{description: path} of the named bad inputs, plus a good seven at the end."""
    return dict(bad_inputs(tmp_path_factory.mktemp("bad_inputs")))


def path_of(inputs, start):
    (match,) = [p for d, p in inputs.items() if d.startswith(start)]
    return match


def seven_pixels():
    return np.asarray(samples.render(7).convert("L"), np.float32) / 255.0


@pytest.mark.parametrize("start, reason", [
    ("PNG with a short IHDR", "Truncated IHDR chunk"),
    ("PNG whose zTXt", "Decompressed data too large"),
    ("PNG whose iCCP", "Decompressed data too large"),
    ("PNG cut in half", "truncated"),
    ("empty file", "not an image file"),
])
def test_decoder_failures_are_one_line_bad_images(inputs, start, reason):
    path = path_of(inputs, start)
    with pytest.raises(BadImage) as raised:
        load_image(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


def test_lab_tiff_is_read_by_its_lightness(inputs, predictor):
    image = load_image(path_of(inputs, "LAB TIFF"))
    assert recognize.read(predictor, image).number == "7"


def test_sixteen_bit_picture_keeps_its_depth_when_shrunk(inputs, predictor):
    big = load_image(path_of(inputs, "16-bit PNG 3000x3000"))
    assert big.size == (3000, 3000)
    small = big.resize((280, 280))
    assert recognize.read(predictor, big).number == recognize.read(predictor, small).number == "7"


@pytest.mark.parametrize("value", [1.01, 1.5, np.inf, -np.inf, np.nan])
def test_float_pictures_with_one_odd_pixel(predictor, value):
    pixels = seven_pixels()
    pixels[0, 0] = value
    reading = recognize.read(predictor, pixels)
    assert reading.number == "7" and reading.sure


@pytest.mark.filterwarnings("error")  # an overflow warning is the first sign of a NaN
@pytest.mark.parametrize("fill", [np.nan, 3e38, -3e38, 1e300])
def test_float_pictures_with_absurd_levels_give_no_nan(predictor, fill):
    pixels = np.full((40, 40), fill, np.float64)
    pixels[10:30, 18:22] = 1.0 if not np.isfinite(fill) else -fill
    reading = recognize.read(predictor, pixels)  # the guarded model raises on a NaN input
    assert all(np.isfinite(g.probabilities).all() for g in reading.guesses)
    seven = seven_pixels().astype(np.float64)
    seven[0, 0] = fill
    seven[0, 1] = -fill
    recognize.read(predictor, seven)


@pytest.mark.parametrize("start", ["float TIFF in 0..1", "float TIFF with one +inf"])
def test_float_tiff_files(inputs, predictor, start):
    assert recognize.read(predictor, load_image(path_of(inputs, start))).number == "7"


def test_whole_batch_text_one_line_per_file(inputs, shipped_model, capsys):
    files = list(inputs.values())
    code = main(["predict", "--model", str(shipped_model), *files])
    captured = capsys.readouterr()
    out, err = captured.out.splitlines(), captured.err.splitlines()
    assert code == 1 and "Traceback" not in captured.err
    assert len(out) + len(err) == len(files)
    assert all(line.startswith("error: ") for line in err)
    assert out[-1].split(": ")[-1].startswith("7 (")


def test_whole_batch_json_lists_every_file(inputs, shipped_model, capsys):
    files = list(inputs.values())
    code = main(["predict", "--json", "--model", str(shipped_model), *files])
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert code == 1
    assert [r["file"] for r in records] == files
    assert records[-1]["number"] == "7"
    failed = [r for r in records if "error" in r]
    assert len(failed) == len(captured.err.splitlines()) and "Traceback" not in captured.err
    assert "NaN" not in captured.out


def test_interrupt_exits_130_with_a_complete_json_list(inputs, shipped_model, capsys, monkeypatch):
    seven = path_of(inputs, "a good PNG")
    real_read, calls = recognize.read, []

    def read_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_read(*args, **kwargs)

    monkeypatch.setattr(recognize, "read", read_then_interrupt)
    assert main(["predict", "--json", "--model", str(shipped_model), seven, seven, seven]) == 130
    captured = capsys.readouterr()
    assert [r["number"] for r in json.loads(captured.out)] == ["7"]
    assert captured.err.strip() == "interrupted"


def run_app(args, **env):
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, **env})


def test_fifo_argument_does_not_hang(inputs, shipped_model):
    done = run_app(["predict", "--model", str(shipped_model), path_of(inputs, "FIFO"), path_of(inputs, "a good PNG")])
    assert done.returncode == 1
    assert done.stderr.decode().count("\n") == 1 and b"not a regular file" in done.stderr
    assert b": 7 (" in done.stdout


@pytest.mark.skipif(os.name != "posix", reason="file names are bytes only on POSIX")
def test_names_that_are_not_utf8_or_hold_escapes(inputs, shipped_model):
    names = [os.fsencode(path_of(inputs, "file name that is not UTF-8")),
             os.fsencode(path_of(inputs, "file name with an escape"))]
    done = subprocess.run([sys.executable.encode(), b"-m", b"app", b"predict", b"--model",
                           os.fsencode(shipped_model), *names], cwd=ROOT, capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split(b"\n")[:-1]
    assert len(lines) == 2 and b"\x1b" not in done.stdout
    assert re.search(rb"latin1-\\xe9\.png: 7 \(\d+\.\d%\)$", lines[0]), lines[0]
    assert b"evil\\x1b[2J\\nname.png: 7 (" in lines[1]


def test_names_the_terminal_cannot_encode(tmp_path, shipped_model):
    name = tmp_path / "café-7.png"
    samples.render(7).save(name)
    done = run_app(["predict", "--model", str(shipped_model), str(name)], PYTHONIOENCODING="ascii:strict")
    assert done.returncode == 0, done.stderr
    assert re.search(r"caf\\xe9-7\.png: 7 \(\d+\.\d%\)\n$", done.stdout.decode("ascii")), done.stdout
