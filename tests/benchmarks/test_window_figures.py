"""The real-window section: the mouse's path, and the app driven with xdotool answering as read_drawing does."""
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import window_figures

MODEL = Path(__file__).resolve().parents[2] / "app" / "models" / "digits.onnx"


def test_a_mouse_path_is_whole_pixels_a_step_apart_from_first_to_last_point():
    stroke = np.column_stack([np.linspace(10.2, 40.7, 61), np.full(61, 20.4)])  # half a pixel a point
    path = window_figures.mouse_path(stroke, 5)
    assert path.dtype.kind == "i"
    assert path[0].tolist() == [10, 20] and path[-1].tolist() == [41, 20]
    gaps = np.hypot(*np.diff(path, axis=0).T)
    assert (gaps[:-1] >= 5).all() and gaps[-1] > 0  # the last point is kept even when nearer
    assert len(path) == 8  # 10, 15, ..., 40, then 41
    assert window_figures.mouse_path(np.array([[3.4, 4.6]]), 5).tolist() == [[3, 5]]  # a tap


def test_without_xdotool_the_section_says_so_and_measures_nothing(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "xdotool" else "/usr/bin/" + tool)
    rows = window_figures.window(SimpleNamespace(model=MODEL, pen=None))
    assert len(rows) == 1 and "not measured: xdotool not installed" in rows[0].value


def test_numbers_drawn_with_the_mouse_in_the_real_window_read_as_read_drawing_reads_them(monkeypatch):
    """Two numbers of the app's own sample digits, drawn with xdotool into `python -m app`: the copied
    answers are read_drawing's on the same mouse points, and right."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the GUI tests need it (apt-get install xvfb xdotool)")
    from app import samples

    writer = [SimpleNamespace(label=str(d), strokes=samples.stroke_paths(d, (0, 0, 100))) for d in (2, 0, 6, 7, 3)]
    monkeypatch.setattr(window_figures, "NUMBERS", 2)
    monkeypatch.setattr(window_figures, "LAYOUTS", {96: (False,)})
    rows = window_figures._screen_rows(SimpleNamespace(model=MODEL), {"w": writer}, 96, (1920, 1080))
    exact, agree = rows
    assert "canvas 560x420" in exact.metric and exact.value.startswith("100.00% of 2")
    assert agree.value == "2 of 2" and agree.passed
