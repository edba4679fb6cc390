"""Reliability: bad inputs and seeded fuzzing of the image reader; every one must end in one line, no traceback.

`reliability(ctx)` needs only `ctx.model`. The fuzz cases (seeded mutations of small PNG, JPEG,
GIF, TIFF, BMP and WebP files of a drawn digit) are also what tests/app/test_fuzz_images.py runs.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.stats import SINGLE, Row

FUZZ_CASES = 3000
FUZZ_SEED = 13
COMMAND = "python -m benchmarks --only reliability"
# Values that make decoders take odd paths: zero and all-ones, sign edges, big sizes.
INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00", b"\xff\xff", b"\x7f\xff\xff\xff",
               b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x01\x00\x00")


def seed_files() -> dict[str, bytes]:
    """Small pictures of a drawn 7 in every format the app reads, in several modes."""
    from PIL import Image

    from app import samples

    digit = samples.render(7).convert("L").resize((48, 48))
    grey = np.asarray(digit)
    rgba = Image.fromarray(np.dstack([255 - grey] * 3 + [np.full_like(grey, 200)]), "RGBA")
    deep = Image.fromarray((grey.astype(np.uint16) * 257))
    variants = {
        "grey.png": (digit, "PNG", {}),
        "rgba.png": (rgba, "PNG", {}),
        "deep16.png": (deep, "PNG", {}),
        "photo.jpg": (digit.convert("RGB"), "JPEG", {"quality": 80}),
        "progressive.jpg": (digit, "JPEG", {"quality": 70, "progressive": True}),
        "palette.gif": (digit.convert("P"), "GIF", {}),
        "scan.tif": (digit, "TIFF", {"compression": "tiff_deflate"}),
        "cmyk.tif": (digit.convert("CMYK"), "TIFF", {}),
        "float.tif": (Image.fromarray(grey.astype(np.float32) / 255.0), "TIFF", {}),
        "plain.bmp": (digit.convert("RGB"), "BMP", {}),
        "lossy.webp": (digit.convert("RGB"), "WEBP", {"quality": 60}),
        "alpha.webp": (rgba, "WEBP", {"lossless": True}),
    }
    files = {}
    for name, (image, fmt, options) in variants.items():
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        files[name] = buffer.getvalue()
    return files


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random edits: flipped bits, interesting values, cut, repeated or inserted bytes."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not out:
            out = bytearray(b"\x00")
        kind = int(rng.integers(0, 7))
        at = int(rng.integers(0, len(out)))
        if kind == 0:  # flip a bit
            out[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # a random byte
            out[at] = int(rng.integers(0, 256))
        elif kind == 2:  # an interesting value, often a size or count field in a header
            value = INTERESTING[int(rng.integers(0, len(INTERESTING)))]
            out[at:at + len(value)] = value
        elif kind == 3:  # cut the file short
            del out[max(1, at):]
        elif kind == 4:  # repeat a slice
            end = min(len(out), at + int(rng.integers(1, 64)))
            out[at:at] = out[at:end]
        elif kind == 5:  # insert random bytes
            out[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        else:  # zero a run (in headers: widths, heights, offsets of 0)
            end = min(len(out), at + int(rng.integers(1, 32)))
            out[at:end] = bytes(end - at)
    return bytes(out)


def fuzz_cases(count: int, seed: int = FUZZ_SEED):
    """(name, bytes) for `count` seeded mutations, cycling through the seed files."""
    seeds = seed_files()
    names = sorted(seeds)
    rng = np.random.default_rng(seed)
    for i in range(count):
        name = names[i % len(names)]
        yield f"{i:05d}-{name}", mutate(seeds[name], rng)


def dot_grid(rows: int, cols: int, pitch: int = 8, radius: int = 2):
    """A Pillow picture of rows x cols round dots, dark on white: 64 x 64 is the 5 KB PNG of 4,096 dots
    that once took 208 s to read."""
    from PIL import Image

    y, x = np.mgrid[: rows * pitch, : cols * pitch]
    near = ((y % pitch - pitch // 2) ** 2 + (x % pitch - pitch // 2) ** 2) <= radius**2
    return Image.fromarray(np.where(near, 0, 255).astype(np.uint8))


def squared_page(side: int = 2048, pitch: int = 60):
    """A Pillow picture of "70" written large on squared paper, lines as dark as a pencil's, tilted 1 degree:
    the most work app.rules does (every row and column straightened at 19 tilts, both ways)."""
    from PIL import Image, ImageDraw

    page = Image.new("L", (side, side), 245)
    draw = ImageDraw.Draw(page)
    for k in range(-2, side // pitch + 3):
        draw.line([(0, k * pitch), (side, k * pitch + side * 0.017)], fill=150, width=3)
        draw.line([(k * pitch, 0), (k * pitch - side * 0.017, side)], fill=150, width=3)
    draw.line([(500, 700), (950, 700), (650, 1400)], fill=30, width=40, joint="curve")
    draw.ellipse([1100, 700, 1450, 1400], outline=30, width=40)
    return page


def timed_read(predictor, picture, path: Path, repeats: int = 5) -> tuple[int, str, float]:
    """(file bytes, outcome line, median seconds) of a Pillow `picture` saved to `path` and read from there as
    `predict` reads it."""
    picture.save(path, optimize=True)
    times, line = [], ""
    for _ in range(repeats):
        started = time.perf_counter()
        outcome, line = read_file(predictor, path)
        times.append(time.perf_counter() - started)
        line = f"{outcome}: {line}"
    return path.stat().st_size, line, float(np.median(times))


def read_file(predictor, path) -> tuple[str, str]:
    """(outcome, line) for one file through the app's reader in-process.

    outcome is "read" (a digit, a number or "no digit"), "refused" (a one-line BadImage) or
    "crash" (anything else, or a message that is not one line: a bug). A ModelError is a crash
    too: the model is sound, so it can only mean the reader handed it NaN or a wrong shape.
    """
    from app import recognize
    from app.image_files import BadImage, load_image

    try:
        reading = recognize.read(predictor, load_image(path))
    except BadImage as exc:
        line = str(exc)
        one_line = line and "\n" not in line and "\r" not in line and "Traceback" not in line
        return ("refused" if one_line else "crash"), line
    except Exception:  # noqa: BLE001 - the point is to count these
        return "crash", traceback.format_exc(limit=3).strip().splitlines()[-1]
    return "read", reading.summary()


def fuzz(predictor, count: int = FUZZ_CASES, seed: int = FUZZ_SEED, where: Path | None = None) -> dict:
    """Run `count` fuzz cases through the reader; outcomes counted, crashes listed, slowest case timed."""
    outcomes, crashes, slowest = Counter(), [], (0.0, "")
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "case"
        for name, data in fuzz_cases(count, seed):
            path.write_bytes(data)
            started = time.perf_counter()
            outcome, line = read_file(predictor, path)
            seconds = time.perf_counter() - started
            slowest = max(slowest, (seconds, name))
            outcomes[outcome] += 1
            if outcome == "crash":
                crashes.append(f"{name}: {line}")
    return {"cases": count, "outcomes": dict(outcomes), "crashes": crashes, "slowest": slowest}


# -- the catalogue of named bad inputs (issue #13) ------------------------------


def _png(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def _grey_png(size: int = 16) -> list[tuple[bytes, bytes]]:
    ihdr = (b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
    pixels = b"".join(b"\x00" + bytes(range(0, 256, 256 // size))[:size] for _ in range(size))
    return [ihdr, (b"IDAT", zlib.compress(pixels)), (b"IEND", b"")]


def bad_inputs(where: Path) -> list[tuple[str, str]]:
    """Write the named bad inputs into `where`; (description, path) pairs."""
    from PIL import Image

    from app import samples

    seven = samples.render(7).convert("L")
    grey = np.asarray(seven, np.float32) / 255.0
    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    ihdr, idat, iend = _grey_png()
    cases = []

    def add(description, name, data=None, image=None, **options):
        path = where / name
        if image is not None:
            image.save(path, **options)
        elif data is not None:
            path.write_bytes(data)
        cases.append((description, str(path)))

    add("LAB TIFF (Pillow cannot convert LAB to RGB)", "lab.tif",
        image=Image.merge("LAB", [seven, Image.new("L", seven.size, 128), Image.new("L", seven.size, 128)]))
    add("PNG with a short IHDR chunk", "short-ihdr.png", _png((b"IHDR", b"\x00\x00\x00\x10\x00\x00\x00\x10\x08")))
    add("PNG whose zTXt chunk inflates to 64 MB", "ztxt-bomb.png", _png(ihdr, (b"zTXt", b"k\x00\x00" + bomb), idat, iend))
    add("PNG whose iCCP chunk inflates to 64 MB", "iccp-bomb.png", _png(ihdr, (b"iCCP", b"p\x00\x00" + bomb), idat, iend))
    add("PNG header claiming 20000x20000 pixels", "header-bomb.png",
        _png((b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)), (b"IEND", b"")))
    big = Image.fromarray(((0.3 + 0.4 * grey) * 65535).astype(np.uint16)).resize((3000, 3000))
    add("16-bit PNG 3000x3000, grey background (was clipped to 8 bits: 'no digit')", "deep-3000.png", image=big)
    overshoot = grey.copy()
    overshoot[0, 0] = 1.01
    add("float TIFF in 0..1 with one pixel at 1.01 (was 'no digit')", "overshoot.tif", image=Image.fromarray(overshoot))
    infinite = grey.copy()
    infinite[0, 0] = np.inf
    add("float TIFF with one +inf pixel (was '0 (98.9 %)')", "infinite.tif", image=Image.fromarray(infinite))
    add("empty file", "empty.png", b"")
    add("text file named .png", "text.png", b"not an image\n")
    good = io.BytesIO()
    seven.save(good, format="PNG")
    add("PNG cut in half", "cut.png", good.getvalue()[: len(good.getvalue()) // 2])
    add("file name with an escape sequence and a newline", "evil\x1b[2J\nname.png", good.getvalue())
    if os.name == "posix":
        raw = os.fsdecode(b"latin1-\xe9.png")  # not UTF-8: a lone surrogate in Python
        add("file name that is not UTF-8", raw, good.getvalue())
        fifo = where / "fifo.png"
        os.mkfifo(fifo)
        cases.append(("FIFO (was: hangs)", str(fifo)))
    cases.append(("directory", str(where)))
    cases.append(("missing file", str(where / "missing.png")))
    add("a good PNG after all of them (must still be read)", "seven.png", good.getvalue())
    return cases


def predict_cli(model: Path, files: list[str], as_json: bool) -> tuple[int, str, str]:
    """`python -m app predict` in-process: (exit code, stdout, stderr)."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["predict", *(["--json"] if as_json else []), "--model", str(model), *files])
        except SystemExit as exc:
            code = exc.code
        except Exception:  # noqa: BLE001 - a traceback is the failure being counted
            traceback.print_exc(file=sys.stderr)
            code = -1
    return code, out.getvalue(), err.getvalue()


def catalogue(model: Path) -> list[dict]:
    """Every named bad input through the predict CLI (text and --json, all files in one batch)."""
    with tempfile.TemporaryDirectory() as tmp:
        cases = bad_inputs(Path(tmp))
        files = [path for _, path in cases]
        code, out, err = predict_cli(model, files, as_json=False)
        jcode, jout, jerr = predict_cli(model, files, as_json=True)
    try:
        records = json.loads(jout)
    except ValueError:
        records = []
    from app.printable import printable

    errors = err.splitlines()
    results = []
    for index, (description, path) in enumerate(cases):
        record = records[index] if index < len(records) else {}
        if "error" in record:  # the message without the temporary path it starts with
            line = "error: " + record["error"].removeprefix(printable(path, limit=None) + ": ")
        else:
            line = f"read: {record.get('number') or 'no digit'}" if record else "missing from the output"
        results.append({"input": description, "outcome": line})
    results.append({"summary": True, "exit": code, "json_exit": jcode, "files": len(cases),
                    "stdout_lines": len(out.splitlines()), "stderr_lines": len(errors),
                    "json_records": len(records), "tracebacks": (err + jerr).count("Traceback")})
    return results


def reliability(ctx) -> list[Row]:
    """Rows for BENCHMARKS.md: each named bad input and its one-line outcome, then the fuzz totals."""
    from app.predictor import Predictor
    from app.printable import printable

    rows = []
    results = catalogue(Path(ctx.model))
    summary = results.pop()
    for result in results:
        rows.append(Row(f"bad input: {result['input']}", printable(result["outcome"], 100),
                        "one line, no traceback", COMMAND, SINGLE))
    whole = (summary["tracebacks"] == 0 and summary["stdout_lines"] + summary["stderr_lines"] == summary["files"]
             and summary["json_records"] == summary["files"])
    rows.append(Row(f"the {summary['files']} inputs above in one `predict` call (text, then --json)",
                    f"{summary['stdout_lines']} answers + {summary['stderr_lines']} error lines; "
                    f"{summary['json_records']} JSON records; exit {summary['exit']}; "
                    f"tracebacks {summary['tracebacks']}",
                    "one line per file, none skipped, exit 1", COMMAND, SINGLE,
                    whole and summary["exit"] == 1 and summary["json_exit"] == 1))
    predictor = Predictor(ctx.model)  # one load for the fuzz cases and the timed reads below
    started = time.perf_counter()
    report = fuzz(predictor)
    seconds = time.perf_counter() - started
    counts = report["outcomes"]
    rows.append(Row(f"fuzzed images: seeded mutations (seed {FUZZ_SEED}) of {len(seed_files())} PNG/JPEG/GIF/"
                    "TIFF/BMP/WebP seeds, through load_image + recognize.read",
                    f"{report['cases']} cases: {counts.get('read', 0)} read, {counts.get('refused', 0)} refused "
                    f"with one line, tracebacks {counts.get('crash', 0)}",
                    "tracebacks: 0", COMMAND, f"{seconds:.0f} s in all", counts.get("crash", 0) == 0))
    rows.append(Row("slowest fuzz case", f"{report['slowest'][0] * 1000:.0f} ms", "< 1 s", COMMAND, SINGLE,
                    report["slowest"][0] < 1.0))
    with tempfile.TemporaryDirectory() as where:
        size, line, seconds = timed_read(predictor, dot_grid(64, 64), Path(where) / "dots-4096.png")
        rows.append(Row(f"a picture of 4,096 dots (64 x 64 grid, {size / 1024:.1f} KB PNG; once 208 s): load and "
                        "read", f"{seconds * 1000:.0f} ms ({line})", "<= 1 s", COMMAND, "median of 5 runs",
                        seconds <= 1.0))
        size, line, seconds = timed_read(predictor, squared_page(), Path(where) / "squared-70.jpg")
    rows.append(Row(f"a 2048 x 2048 photo of \"70\" on squared paper, lines tilted 1 degree ({size / 1024:.0f} KB "
                    "JPEG; the lines erased by app.rules): load and read", f"{seconds * 1000:.0f} ms ({line})",
                    "<= 1 s", COMMAND, "median of 5 runs", seconds <= 1.0))
    return rows
