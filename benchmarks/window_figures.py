"""The real window, driven like a person: held-out writers' numbers drawn into `python -m app` with xdotool.

The app runs as its own process on a private Xvfb screen (96 dpi, and 192 dpi as on a 4K laptop at 200 %),
its trace on (DIGITS_APP_TRACE). Each number is drawn stroke by stroke as a mouse draws it: press, move
through whole screen pixels a few pixels apart, each move on its own, release; Ctrl+C then copies the
window's answer and its trace says what it copied. The same mouse points are read in this process with
app.recognize.read_drawing (the pen section's read path) on a Drawing of the window's canvas size and
brush: where the two agree, the pen section's figures are what the window gives.
"""
from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.stats import SINGLE, Row

ROOT = Path(__file__).resolve().parents[1]
CMD = "python -m benchmarks --only window"
# (dpi, screen size): a desktop monitor; a 4K laptop screen at 200 %, where the canvas is 1120x840.
SCREENS = ((96, (1920, 1080)), (192, (3840, 2160)))
LAYOUTS = {96: (False, True), 192: (True,)}  # touching? per screen: at 192 dpi the harder layout only
NUMBERS = 200  # per layout and screen: about 1.4 s each
SEED = 2027  # numbers of their own, not the pen section's
MOUSE_STEP = 5  # px at 96 dpi between the positions a moving mouse reports (scaled with the screen)
MOVE_SECONDS = 0.01  # between moves, so that each arrives on its own (Tk merges queued motion events)
LIFT_SECONDS = 0.05  # between strokes
WAIT_SECONDS = 20  # for any one answer of the window
PROGRESS = 50  # numbers between progress lines


class WindowGone(Exception):
    """The app stopped answering (it exited, or its screen did)."""


def mouse_path(stroke, step):
    """The positions a mouse reports along `stroke` (float (n, 2) canvas pixels): whole pixels, each at
    least `step` from the one before, the first and the last point always among them."""
    points = np.rint(np.asarray(stroke, np.float64)).astype(int)
    kept = [points[0]]
    for point in points[1:]:
        if np.hypot(*(point - kept[-1])) >= step:
            kept.append(point)
    if len(points) > 1 and not np.array_equal(kept[-1], points[-1]):
        kept.append(points[-1])
    return np.array(kept)


@contextlib.contextmanager
def private_screen(dpi, size):
    """An Xvfb screen of `size` at `dpi` on a display number of its own; yields its DISPLAY."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{size[0]}x{size[1]}x24",
                               "-dpi", str(dpi), "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as reader:
            number = reader.readline().strip()
        if not number:
            raise WindowGone("Xvfb did not start")
        yield f":{number.decode()}"
    finally:
        server.kill()
        server.wait()


class Window:
    """`python -m app --model MODEL` on `display`, its trace lines collected as they come."""

    def __init__(self, model, display):
        self.env = {**os.environ, "DISPLAY": display, "DIGITS_APP_TRACE": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "app", "--model", str(model)], cwd=ROOT,
                                        env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            ready = self.wait("ready ")
            if ready is None:
                raise WindowGone("the window did not open")
            self.left, self.top, self.width, self.height = map(int, ready.split()[1:5])
            self.id = self.xdotool("search", "--sync", "--name", "^Digit Recognizer$").split()[0]
        except BaseException:
            self.close()
            raise

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait(self, prefix, timeout=WAIT_SECONDS):
        """The next trace line starting with `prefix`, or None after `timeout` seconds or the app's exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    return None
                continue
            if line.startswith(prefix):
                return line
        return None

    def xdotool(self, *args):
        try:
            done = subprocess.run(["xdotool", *map(str, args)], env=self.env, capture_output=True, text=True,
                                  timeout=120)
        except subprocess.TimeoutExpired:
            raise WindowGone("xdotool did not finish") from None
        if done.returncode != 0:
            raise WindowGone(f"xdotool {args[0]} failed: {done.stderr.strip()[:200]}")
        return done.stdout

    def write(self, paths):
        """Draw `paths` (whole canvas pixels, one array per stroke) and return the window's answer ('' for
        none); the canvas is cleared after."""
        steps = []
        for path in paths:
            for i, (x, y) in enumerate(path):
                steps += ["mousemove", self.left + x, self.top + y] + (["mousedown", 1] if i == 0 else [])
                steps += ["sleep", MOVE_SECONDS]
            steps += ["mouseup", 1, "sleep", LIFT_SECONDS]
        while not self.lines.empty():
            self.lines.get_nowait()
        self.xdotool(*steps)
        # The read as the pen lifts runs before Tk takes the key: Ctrl+C copies the final answer.
        self.xdotool("windowfocus", "--sync", self.id, "key", "ctrl+c")
        copied = self.wait("copied ", timeout=3)  # nothing recognised: nothing copied, no line
        if copied is None and self.process.poll() is not None:
            raise WindowGone("the app exited")
        self.xdotool("windowfocus", "--sync", self.id, "key", "Escape")
        if self.wait("clear") is None:
            raise WindowGone("the window stopped answering")
        return copied.split(" ", 1)[1] if copied else ""

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _numbers(by_writer, rng, size, touching):
    """NUMBERS (truth, strokes in canvas pixels) of 2-5 digits of one held-out writer each, placed as the
    pen section places them on a canvas of `size`."""
    from benchmarks.pen_figures import one_writers_digits, place_number, prolific

    writers = sorted(prolific(by_writer))
    out = []
    for _ in range(NUMBERS):
        chosen = one_writers_digits(by_writer, writers, rng)
        placed = place_number(chosen, rng, size, touching)
        out.append(("".join(s.label for s in chosen), [stroke for digit in placed for stroke in digit]))
    return out


def _screen_rows(ctx, by_writer, dpi, size):
    from app.drawing_pad import BRUSH, pen_width
    from app.layout import BASE_CANVAS
    from app.predictor import Predictor
    from app.recognize import read_drawing
    from benchmarks.pen_figures import drawn

    predictor = Predictor(ctx.model)
    rows, rng = [], np.random.default_rng(SEED + dpi)
    with private_screen(dpi, size) as display:
        window = Window(ctx.model, display)
        try:
            canvas = (window.width, window.height)
            brush = pen_width(BRUSH[2], window.width)
            step = MOUSE_STEP * window.width / BASE_CANVAS[0]
            where = f"real window at {dpi} dpi (canvas {canvas[0]}x{canvas[1]}, default brush {brush:.0f} px)"
            for touching in LAYOUTS[dpi]:
                kind = "touching or overlapping" if touching else "natural gaps"
                right = agree = 0
                started = time.perf_counter()
                for n, (truth, strokes) in enumerate(_numbers(by_writer, rng, canvas, touching), 1):
                    paths = [mouse_path(s, step) for s in strokes]
                    got = window.write(paths)
                    here = read_drawing(predictor, drawn([p.astype(np.float64) for p in paths], canvas, brush))
                    right += got == truth
                    agree += got == (here.number or "")
                    if n % PROGRESS == 0:  # some 14 minutes in all: say how far it is
                        print(f"  ... {dpi} dpi, {kind}: {n} of {NUMBERS} numbers drawn", flush=True)
                seconds = (time.perf_counter() - started) / NUMBERS
                rows.append(Row(f"{where}: held-out pen numbers (2-5 digits, {kind}) drawn with xdotool, exact",
                                f"{right / NUMBERS:.2%} of {NUMBERS} ({seconds:.1f} s a number to draw and read)",
                                "≥ 98 %", CMD, SINGLE, right / NUMBERS >= 0.98))
                rows.append(Row(f"{where}, {kind}: the window's answer is app.recognize.read_drawing's on the same "
                                "mouse points (the pen section's read path)", f"{agree} of {NUMBERS}", "all", CMD,
                                SINGLE, agree == NUMBERS))
        finally:
            window.close()
    return rows


def window(ctx) -> list[Row]:
    """The real window's answers to held-out writers' numbers drawn with the mouse, at 96 and 192 dpi."""
    from training.pen_data import by_writer, pen_dir, read_records, split_by_writer

    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        return [Row("real window driven with xdotool", f"not measured: {' and '.join(missing)} not installed "
                    "(apt-get install xvfb xdotool)", "", CMD, SINGLE, None)]
    source = pen_dir(getattr(ctx, "pen", None))
    if source is None:
        return [Row("real window driven with xdotool", "not measured: no pen data (--pen DIR or $PEN_DIR)", "",
                    CMD, SINGLE, None)]
    _, digits = split_by_writer(read_records(source / "digits.jsonl.gz"))
    writers = by_writer(digits)
    rows = []
    for dpi, size in SCREENS:
        try:
            rows += _screen_rows(ctx, writers, dpi, size)
        except WindowGone as exc:
            rows.append(Row(f"real window at {dpi} dpi driven with xdotool", f"not measured: {exc}", "", CMD,
                            SINGLE, False))
    return rows
