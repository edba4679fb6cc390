"""The frozen app: built by `make exe` (a clean venv with only the app's requirements + PyInstaller).

`make test` builds it first; these tests fail, not skip, when it is missing.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.conftest import ROOT

EXE = ROOT / "dist" / "digit-recognizer"
FORBIDDEN_PACKAGES = {"tensorflow", "keras", "tf2onnx", "onnx", "matplotlib", "torch", "tensorboard"}
FORBIDDEN_MODULES = ("onnxruntime.transformers", "onnxruntime.quantization")


@pytest.fixture(scope="module")
def exe() -> Path:
    if not EXE.is_file():
        pytest.fail(f"{EXE} not built: run `make exe` (make test does it first)")
    return EXE


def test_self_test(exe):
    proc = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("self-test: ok")
    # The stroke reader is bundled, paired with the digit model, and ran its load-time probe batch.
    assert "with the stroke reader" in proc.stdout


def test_predict_generated_png(exe, tmp_path):
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(100, 30), (100, 170)], fill=0, width=14)  # a dark "1" on white paper
    path = tmp_path / "one.png"
    image.save(path)
    proc = subprocess.run([str(exe), "predict", "--json", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["file"] == str(path) and result["number"] == "1" and result["digits"][0]["sure"]


def test_unreadable_file_fails_cleanly(exe, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    proc = subprocess.run([str(exe), "predict", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr  # the README: 1 when a file could not be read
    assert proc.stderr.strip().splitlines() == [f"error: {bad}: not an image file this app can read"]


def bundled_names() -> set[str]:
    """Every module and file name in the build's tables of contents (what the executable holds)."""
    tocs = list((ROOT / "build").rglob("PKG-00.toc")) + list((ROOT / "build").rglob("PYZ-00.toc"))
    assert tocs, "no PyInstaller TOC under build/: run `make exe`"
    names = set()
    for toc in tocs:
        names |= set(re.findall(r"\(\s*'([^']+)',", toc.read_text(errors="replace")))
    return names


def test_archive_holds_no_training_stack():
    names = bundled_names()
    assert {"numpy", "onnxruntime", "app.gui"} <= names  # the tables are the real ones
    tops = {re.split(r"[./\\]", n)[0].lower() for n in names}
    assert not tops & FORBIDDEN_PACKAGES, f"training stack bundled: {sorted(tops & FORBIDDEN_PACKAGES)}"
    bad = sorted(n for n in names if n.startswith(FORBIDDEN_MODULES))
    assert not bad, f"unneeded onnxruntime parts bundled: {bad[:5]}"
    bundled = {n.replace("\\", "/") for n in names}
    assert "app/models/digits.onnx" in bundled
    assert "app/models/numbers.onnx" in bundled  # the number reader ships beside it: pictures of touching digits
    assert "app/models/trajectory.onnx" in bundled  # and the stroke reader: drawn digits read from their path too


def test_window_appears_and_closes(exe, xvfb):
    env = {**os.environ, "DISPLAY": xvfb}
    app = subprocess.Popen([str(exe)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "Digit"], env=env,
                               capture_output=True, text=True, timeout=30)
        window = found.stdout.split()[0]
        assert app.poll() is None
        # Ctrl+Q is the app's quit key: a clean exit, as a user closing it would see.
        subprocess.run(["xdotool", "windowfocus", "--sync", window, "key", "ctrl+q"], env=env, check=True, timeout=10)
        assert app.wait(timeout=15) == 0
    finally:
        if app.poll() is None:
            app.kill()
