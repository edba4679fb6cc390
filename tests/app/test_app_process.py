"""`python -m app` as a real process on the private X display, driven with xdotool."""

import os
import queue
import shutil
import subprocess
import sys
import threading
import time

import pytest

from app import samples

from .conftest import ROOT
from .test_recognize import first_read_right
from .test_strokes import place


class Running:
    """A child process whose stdout lines are collected as they come."""

    def __init__(self, args, env):
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        stderr = self.process.stderr.read() if self.process.poll() is not None else ""
        pytest.fail(f"no line starting {prefix!r} from the app within {timeout} s; seen: {self.seen} {stderr}")


def xdotool(*args, env):
    done = subprocess.run(["xdotool", *map(str, args)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_python_m_app_draws_predicts_and_quits(xvfb, models):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed: the GUI tests need it (apt-get install xvfb xdotool)")
    env = dict(os.environ, DISPLAY=xvfb, DIGITS_APP_TRACE="1")
    app = Running([sys.executable, "-m", "app", "--model", str(models["templates"])], env)
    try:
        ready = app.wait_for("ready ")
        left, top, _, _ = map(int, ready.split()[1:])
        window = xdotool("search", "--sync", "--name", "^Digit Recognizer$", env=env).split()[0]

        # Draw a 7 with the mouse, as a user would: press, drag through the path, release.
        # The pauses let each move arrive on its own (Tk merges queued motion events).
        path = samples.stroke_paths(7, (left + 200, top + 60, 300))[0]
        steps = []
        for i, (x, y) in enumerate(path):
            steps += ["mousemove", round(x), round(y)] + (["mousedown", 1] if i == 0 else [])
            steps += ["sleep", "0.05"]
        xdotool(*steps, "mouseup", 1, env=env)
        assert app.wait_for("prediction: 7 ", timeout=20)
        assert app.process.poll() is None

        # Still responsive: undo through the keyboard empties the canvas again.
        xdotool("windowfocus", "--sync", window, "key", "ctrl+z", env=env)
        app.wait_for("undo", timeout=20)
        app.wait_for("prediction: - ", timeout=20)

        quit_cleanly(app, window, env)
    finally:
        stop(app)


def quit_cleanly(app, window, env):
    """Ctrl+Q in the window: the process ends with 0 and no traceback."""
    xdotool("windowfocus", "--sync", window, "key", "ctrl+q", env=env)
    assert app.process.wait(timeout=20) == 0
    assert "Traceback" not in app.process.stderr.read()


def stop(app):
    if app.process.poll() is None:
        app.process.kill()
        app.process.wait()


def test_a_touching_number_drawn_in_the_real_window_reads_right(xvfb, shipped_model):
    """Real pen digits of held-out writers, drawn with the mouse so that their ink touches: the
    window groups them by stroke and reads the whole number (DIGITS_APP_TRACE's last prediction)."""
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed: the GUI tests need it (apt-get install xvfb xdotool)")
    number = "206"
    chosen = [first_read_right(shipped_model, d) for d in number]
    env = dict(os.environ, DISPLAY=xvfb, DIGITS_APP_TRACE="1")
    app = Running([sys.executable, "-m", "app", "--model", str(shipped_model)], env)
    try:
        ready = app.wait_for("ready ")
        left, top, width, height = map(int, ready.split()[1:5])
        # Touching: the points of neighbours 2 % of a digit's height apart, the 28-px brush meets.
        size = min(0.45 * height, 0.28 * width)
        placed = place(chosen, height=size, gap=0.02, left=0.1 * width, baseline=0.7 * height)
        steps = []
        for digit in placed:
            for stroke in digit:
                points = stroke[:: max(1, len(stroke) // 25)].tolist() + [stroke[-1].tolist()]
                for i, (x, y) in enumerate(points):
                    steps += ["mousemove", round(left + x), round(top + y)] + (["mousedown", 1] if i == 0 else [])
                    steps += ["sleep", "0.03"]
                steps += ["mouseup", 1, "sleep", "0.1"]
        xdotool(*steps, env=env)
        assert app.wait_for(f"prediction: {number} ", timeout=30)
        quit_cleanly(app, xdotool("search", "--sync", "--name", "^Digit Recognizer$", env=env).split()[0], env)
    finally:
        stop(app)
