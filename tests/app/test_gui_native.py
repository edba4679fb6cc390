"""The window as a native desktop app: scaling, resizing, menus, clipboard, saving, undo/redo,
picking a digit, the About box, the icon, and pictures read off the Tk thread.

Real Tk on the private Xvfb display (tests/conftest.py); strokes are sent with event_generate.
The pure helpers behind the window (layout, history, presentation, model card) are tested
without a display at the end.
"""

import itertools
import subprocess
import sys
import threading
import time
import tkinter as tk

import numpy as np
import pytest
from PIL import Image

import app
from app import cli, gui, layout, presentation, samples
from app.drawing import Drawing
from app.history import History
from app.icon import draw_icon
from app.model_card import model_card
from app.predictor import Predictor
from app.recognize import Guess, Reading

from .conftest import build_model, template_head, sample_templates


def open_window(model_path=None, predictor=None, scaling=1.0):
    root = tk.Tk(className=gui.CLASS_NAME)
    # What the desktop reports at 96 * scaling dpi. Tk keeps one scaling per display and process,
    # so every window here sets it (and the fixture puts the display's own back at the end).
    root.tk.call("tk", "scaling", scaling * 96 / 72)
    window = gui.DigitApp(root, predictor or Predictor(model_path))
    root.update()
    settle(window)
    return window


def settle(window):
    """Let pending resizes (debounced by RESIZE_MS) and redraws happen."""
    for _ in range(3):
        window.root.update()
        time.sleep(gui.RESIZE_MS / 1000 * 1.5)
    window.root.update()


@pytest.fixture
def make_window(xvfb, models):
    made = []
    probe = tk.Tk()
    native = probe.tk.call("tk", "scaling")
    probe.destroy()

    def make(model="templates", **kw):
        if "predictor" not in kw:
            kw["model_path"] = models.get(model, model)
        window = open_window(**kw)
        made.append(window.root)
        return window

    yield make
    for root in made:
        try:
            root.tk.call("tk", "scaling", native)
            root.destroy()
        except tk.TclError:
            pass


def stroke(window, points):
    canvas = window.canvas
    (x, y), rest = points[0], points[1:]
    canvas.event_generate("<ButtonPress-1>", x=round(x), y=round(y))
    for x, y in rest:
        canvas.event_generate("<B1-Motion>", x=round(x), y=round(y))
    canvas.event_generate("<ButtonRelease-1>", x=round(x), y=round(y))
    window.root.update()


def draw_digit(window, digit, left, top, height):
    for path in samples.stroke_paths(digit, (left, top, height), slant=0.05):
        stroke(window, path)


def draw_number(window, digits):
    """Digits side by side across the canvas, sized to it (whatever its size)."""
    width, height = window.drawing.size
    step = width / (len(digits) + 0.5)
    for i, digit in enumerate(digits):
        draw_digit(window, digit, left=width * 0.04 + i * step, top=height * 0.25, height=height * 0.4)


def key(window, sequence):
    window.canvas.focus_force()
    window.canvas.event_generate(sequence)
    window.root.update()


# -- scaling: no overlap at 96, 144 and 192 dpi ------------------------------------------------


def widget_boxes(root):
    """(name, (x0, y0, x1, y1)) in screen pixels of every mapped widget without children."""
    boxes, todo = [], [root]
    while todo:
        widget = todo.pop()
        children = [c for c in widget.winfo_children() if c.winfo_ismapped()]
        if not children and widget is not root and not isinstance(widget, tk.Menu):
            x, y = widget.winfo_rootx(), widget.winfo_rooty()
            boxes.append((str(widget), (x, y, x + widget.winfo_width(), y + widget.winfo_height())))
        todo += children
    return boxes


def assert_no_overlap(named_boxes):
    for (a, box_a), (b, box_b) in itertools.combinations(named_boxes, 2):
        assert not layout.boxes_overlap(box_a, box_b), f"{a} {box_a} overlaps {b} {box_b}"


def canvas_item_boxes(canvas, tags):
    return [(f"{tag}{i}", canvas.bbox(item)) for tag in tags for i, item in enumerate(canvas.find_withtag(tag))]


def assert_inside(box, outer, what):
    assert outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3], (
        f"{what} {box} sticks out of {outer}")


def shown_status(window):
    """What the status line shows (status_var holds the whole message)."""
    return window.root.getvar(str(window.status.cget("textvariable")))


def text_width(widget, text):
    font = str(widget.cget("font")) or "TkDefaultFont"
    return int(widget.tk.call("font", "measure", font, "-displayof", widget, text))


@pytest.mark.parametrize("scaling", [1.0, 2.0])
def test_the_status_line_fits_the_window_at_any_scaling(make_window, scaling):
    window = make_window(scaling=scaling)
    room = window.status.winfo_width() - 2 * int(float(str(window.status.cget("padding")[0])))
    opened = "Opened my-number.png - draw to start over."
    window.status_var.set(opened + "  Model " + "with a long description " * 10)
    window.root.update()
    assert shown_status(window) == opened  # the model's description goes first
    window.status_var.set("Opened a-picture-with-a-very-long-name-" + "x" * 200 + ".png - draw to start over.")
    window.root.update()
    shown = shown_status(window)
    assert shown.startswith("Opened a-picture") and shown.endswith(presentation.ELLIPSIS)
    assert text_width(window.status, shown) <= room
    window.status_var.set("Copied 72.")
    window.root.update()
    assert shown_status(window) == "Copied 72."


@pytest.mark.parametrize("scaling", [1.0, 1.5, 2.0])
def test_nothing_overlaps_at_any_scaling(make_window, scaling):
    window = make_window(scaling=scaling)
    assert window.metrics.scale == pytest.approx(scaling, rel=0.01)
    draw_number(window, [2, 0, 2, 6])
    window.pick(1)
    window.root.update()
    window.status_var.set("Opened a-picture-with-a-very-long-name-" + "x" * 200 + ".png - draw to start over.")
    window.root.update()

    boxes = widget_boxes(window.root)
    assert len(boxes) >= 12  # canvas, hint, 3 buttons, brush, number, detail, bars, preview, status...
    assert_no_overlap(boxes)
    root_box = (window.root.winfo_rootx(), window.root.winfo_rooty(),
                window.root.winfo_rootx() + window.root.winfo_width(),
                window.root.winfo_rooty() + window.root.winfo_height())
    for name, box in boxes:
        if "label" in name and box[2] > root_box[2]:  # the status line may be cut, never widen the window
            continue
        assert_inside(box, root_box, name)

    # Inside the bars: labels, bars and percentages of every row apart, all inside the canvas.
    bars = window.bars.canvas
    bar_items = canvas_item_boxes(bars, ("label", "frame", "percent"))
    assert len(bar_items) == 3 * 10
    assert_no_overlap(bar_items)
    for name, box in bar_items:
        assert_inside(box, (0, 0, bars.winfo_width(), bars.winfo_height()), name)
    # The digits of the number: apart from one another and inside their canvas.
    number = window.number_view.canvas
    pieces = canvas_item_boxes(number, ("piece",))
    assert len(pieces) == 4
    assert_no_overlap(pieces)
    for name, box in pieces + canvas_item_boxes(number, ("selected",)):
        assert_inside(box, (0, 0, number.winfo_width(), number.winfo_height()), name)

    # Every size follows the scaling: pixel sizes and fonts alike.
    assert window.preview_zoom == round(gui.PREVIEW_ZOOM * scaling)
    assert abs(window.bars.bar_length - 150 * scaling) <= 1
    line = window.fonts["bar"].metrics("linespace")
    assert window.bars.row_height >= line
    assert line >= 12 * scaling  # a 9-point font at 96 dpi is 12 px high or more


def test_bars_and_preview_grow_with_the_fonts(make_window):
    small, large = make_window(scaling=1.0), make_window(scaling=2.0)
    for attribute in ("row_height", "bar_length"):
        ratio = getattr(large.bars, attribute) / getattr(small.bars, attribute)
        assert 1.8 <= ratio <= 2.2, attribute
    assert large.preview_zoom == 2 * small.preview_zoom
    ratio = large.panel_width / small.panel_width
    assert 1.8 <= ratio <= 2.2


def test_the_layout_does_not_jump_with_the_text_shown(make_window):
    window = make_window()
    size = (window.root.winfo_width(), window.root.winfo_height())
    draw_number(window, [1, 7, 1, 7, 1, 7, 1, 7, 1, 7])  # a ten-digit number
    window.status_var.set("x" * 400)
    window.detail_var.set("a long explanation " * 20)
    settle(window)
    assert (window.root.winfo_width(), window.root.winfo_height()) == size
    pieces = canvas_item_boxes(window.number_view.canvas, ("piece",))
    assert len(pieces) == len(window.reading.guesses) >= 2
    for name, box in pieces:
        assert_inside(box, (0, 0, window.number_view.width, window.number_view.height), name)


def test_zoom_in_the_view_menu_rescales_the_window(make_window):
    window = make_window(scaling=1.0)
    draw_number(window, [3])
    before = window.bars.row_height, window.root.winfo_reqwidth()
    window.set_zoom(1.5)
    settle(window)
    assert window.metrics.scale == pytest.approx(1.5, rel=0.01)
    assert window.bars.row_height > before[0] and window.root.winfo_reqwidth() > before[1]
    assert window.number_var.get() == "3"  # the drawing survived
    assert_no_overlap(widget_boxes(window.root))
    window.set_zoom(1.0)
    settle(window)
    assert window.bars.row_height == before[0]


def test_zoom_that_would_not_fit_the_screen_is_refused(make_window):
    window = make_window(scaling=2.0)  # the test screen is 1280x1024: already about as large as it fits
    window.step_zoom(1)
    assert window.zoom == 1.0 and window.metrics.scale == pytest.approx(2.0, rel=0.01)
    window.step_zoom(-1)
    assert window.zoom == 0.75 and window.metrics.scale == pytest.approx(1.5, rel=0.01)


# -- resizing --------------------------------------------------------------------------------


def test_resizing_grows_the_canvas_and_scales_the_strokes(make_window):
    window = make_window()
    draw_digit(window, 7, left=200, top=60, height=300)
    assert window.number_var.get() == "7"
    width, height = window.drawing.size
    first_point = window.drawing.strokes[0][1][0]
    minimum = window.root.minsize()
    assert minimum[0] < window.root.winfo_width() and minimum[1] < window.root.winfo_height()
    assert window.root.resizable() == (True, True)

    window.root.geometry(f"{window.root.winfo_width() + 400}x{window.root.winfo_height() + 300}")
    settle(window)
    new_width, new_height = window.drawing.size
    assert new_width > width + 200 and new_height > height + 150
    assert (window.canvas.winfo_width(), window.canvas.winfo_height()) == window.drawing.size
    assert window.drawing.pixels.shape == (new_height, new_width)
    factor = new_width / width
    assert abs(new_height / height - factor) < 0.02  # the canvas keeps its shape
    moved = window.drawing.strokes[0][1][0]
    assert moved == pytest.approx((first_point[0] * factor, first_point[1] * factor), abs=2)
    assert window.number_var.get() == "7"  # the scaled strokes read the same

    window.clear()
    draw_digit(window, 3, left=new_width * 0.35, top=new_height * 0.15, height=new_height * 0.7)
    assert window.number_var.get() == "3"
    # The brush grows with the canvas, so a digit looks the same at any window size.
    assert window.drawing.strokes[-1][0] == pytest.approx(window.brush_width * factor, rel=0.05)


def test_the_canvas_is_never_rescaled_under_the_pen(make_window):
    window = make_window()
    canvas = window.canvas
    canvas.event_generate("<ButtonPress-1>", x=100, y=100)
    canvas.event_generate("<B1-Motion>", x=200, y=150)
    window.root.update()
    size = window.drawing.size
    window._resize_canvas(size[0] + 100, size[1] + 75)  # the window was resized mid-stroke
    assert window.drawing.size == size
    canvas.event_generate("<B1-Motion>", x=300, y=200)
    canvas.event_generate("<ButtonRelease-1>", x=300, y=200)
    assert window.drawing.strokes[0][1] == [(100, 100), (200, 150), (300, 200)]
    settle(window)  # once the pen lifts, the canvas catches up
    assert window.drawing.size == (size[0] + 100, size[1] + 75)


def test_a_smaller_window_shrinks_the_drawing_and_reads_the_same(make_window):
    window = make_window()
    draw_number(window, [2, 6])
    assert window.number_var.get() == "26"
    window.root.geometry(f"{window.root.minsize()[0]}x{window.root.minsize()[1]}")
    settle(window)
    assert window.drawing.size[0] < 500
    assert window.number_var.get() == "26"


# -- menus, clipboard, save, undo/redo ---------------------------------------------------------


def menu_labels(menu):
    return [menu.entrycget(i, "label") for i in range(menu.index("end") + 1) if menu.type(i) != "separator"]


def test_menus_follow_the_usual_layout(make_window):
    window = make_window()
    assert [window.menubar.entrycget(i, "label") for i in range(1, 5)] == ["File", "Edit", "View", "Help"]
    assert menu_labels(window.menus["File"]) == ["Open…", "Save drawing as PNG…", "Quit"]
    assert menu_labels(window.menus["Edit"])[:4] == ["Undo", "Redo", "Copy number", "Clear"]
    assert window.menus["Edit"].entrycget(2, "accelerator") == "Ctrl+Y" if sys.platform == "win32" else True
    assert window.menus["Edit"].entrycget(3, "accelerator") == "Ctrl+C"
    assert "About Digit Recognizer" in menu_labels(window.menus["Help"])


def test_ctrl_c_copies_the_number(make_window):
    window = make_window()
    window.root.clipboard_clear()
    window.root.clipboard_append("before")
    key(window, "<Control-c>")  # nothing recognised: the clipboard is left alone
    assert window.root.clipboard_get() == "before"
    draw_number(window, [7, 2])
    key(window, "<Control-c>")
    assert window.root.clipboard_get() == "72"
    assert "Copied 72" in window.status_var.get()


def test_an_unsure_number_is_copied_without_its_question_mark(make_window):
    window = make_window("unsure")
    draw_number(window, [5])
    assert window.number_var.get() == "9?"
    window.menus["Edit"].invoke("Copy number")
    assert window.root.clipboard_get() == "9"


def test_saved_drawing_reads_back_to_the_same_number(make_window, shipped_model, tmp_path, capsys):
    window = make_window(shipped_model)
    draw_number(window, [3, 9, 5])
    assert window.number_var.get() == "395"
    path = tmp_path / "drawing.png"
    assert window.save_drawing(path) == path
    assert "Saved drawing.png" in window.status_var.get()
    assert not [p for p in tmp_path.iterdir() if p != path]  # no temp file left behind
    saved = np.asarray(Image.open(path))
    np.testing.assert_array_equal(saved, window.drawing.pixels)
    assert cli.main(["predict", "--model", str(shipped_model), str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 395 (")


def test_save_asks_where_and_remembers_the_folder(make_window, tmp_path, monkeypatch):
    window = make_window()
    asked = []
    folder = tmp_path / "drawings"
    folder.mkdir()
    monkeypatch.setattr(gui.filedialog, "asksaveasfilename",
                        lambda **kw: asked.append(kw) or str(folder / "mine.png"))
    window.save_drawing()  # nothing drawn: nothing asked, nothing written
    assert not asked and "Nothing drawn" in window.status_var.get()
    draw_number(window, [7])
    window.menus["File"].invoke("Save drawing as PNG…")
    assert (folder / "mine.png").is_file()
    assert asked[0]["initialfile"] == "7.png"
    monkeypatch.setattr(gui.filedialog, "askopenfilename", lambda **kw: asked.append(kw) or "")
    window.open_image()
    assert asked[-1]["initialdir"] == str(folder)


def test_clear_is_undoable_and_redo_replays(make_window):
    window = make_window()
    draw_number(window, [1, 7])
    drawn = window.drawing.pixels.copy()
    key(window, "<Escape>")
    assert window.drawing.empty and window.number_var.get() == "–"
    key(window, "<Control-z>")  # the Clear is undone: the whole drawing is back
    np.testing.assert_array_equal(window.drawing.pixels, drawn)
    assert window.number_var.get() == "17"
    window.menus["Edit"].invoke("Redo")  # the Clear again
    assert window.drawing.empty
    window.undo()
    window.undo()  # and the strokes one by one
    assert window.number_var.get() == "1"
    key(window, "<Control-Shift-Z>")
    assert window.number_var.get() == "17"
    key(window, "<Control-y>")  # Ctrl+Y too: the Clear once more
    assert window.drawing.empty
    key(window, "<Control-y>")  # nothing left to redo: a bell, no change
    assert window.drawing.empty
    window.undo()
    window.undo()
    assert window.number_var.get() == "1"
    draw_digit(window, 2, left=300, top=100, height=200)  # a new stroke forgets the redos
    window.redo()
    assert window.number_var.get() == "12"


def test_undo_survives_a_resize(make_window):
    window = make_window()
    draw_number(window, [1, 7])
    window.clear()
    window.root.geometry(f"{window.root.winfo_width() + 300}x{window.root.winfo_height() + 225}")
    settle(window)
    window.undo()
    assert window.number_var.get() == "17"
    # restored at the new size: the ink spans as much of the canvas as before
    columns = np.flatnonzero(window.drawing.pixels.max(axis=0))
    assert columns[-1] > window.drawing.size[0] * 0.5


# -- picking a digit ---------------------------------------------------------------------------


def click_piece(window, index):
    canvas = window.number_view.canvas
    x, y = window.number_view.pick_point(index)
    canvas.event_generate("<Motion>", x=x, y=y)
    canvas.event_generate("<ButtonPress-1>", x=x, y=y)
    canvas.event_generate("<ButtonRelease-1>", x=x, y=y)
    window.root.update()


def test_clicking_a_digit_shows_its_bars_and_preview(make_window):
    window = make_window()
    draw_number(window, [2, 0, 2, 6])
    assert window.bars_title.get() == "Probabilities for digit 4 of 4"  # the newest digit
    for index, digit in ((1, 0), (0, 2), (3, 6)):
        click_piece(window, index)
        assert window.bars_title.get() == f"Probabilities for digit {index + 1} of 4"
        assert int(np.argmax(window.bars.lengths())) == digit
        seen = (window.reading.guesses[index].image[:, :, 0] * 255).astype(int)
        np.testing.assert_allclose(preview_pixels(window), seen, atol=1)
    key(window, "<Left>")  # the arrow keys move along the number too
    assert window.bars_title.get() == "Probabilities for digit 3 of 4"
    assert window.number_var.get() == "2026"


def preview_pixels(window):
    zoom = window.preview_zoom
    get = window.root.tk.call
    return np.array(
        [[get(str(window.preview), "get", x * zoom, y * zoom)[0] for x in range(28)] for y in range(28)])


# -- eleven classes: "not a digit" -------------------------------------------------------------


class ElevenClasses:
    """A stand-in predictor with the optional "not a digit" class: always answers `best`."""

    labels = [str(d) for d in range(10)] + [presentation.NOT_A_DIGIT]
    metadata = {"model_name": "eleven"}

    def __init__(self, best):
        self.best = best

    def describe(self):
        return "eleven (test accuracy 99.00%)"

    def predict(self, batch):
        p = np.full((len(batch), 11), 0.01, np.float32)
        p[:, self.best] = 0.9
        return p


def test_not_a_digit_is_shown_in_grey_with_eleven_bars(make_window):
    window = make_window(predictor=ElevenClasses(best=10))
    stroke(window, [(100, 100), (140, 300), (180, 100), (220, 300)])  # a scribble
    assert window.number_var.get() == "Not a digit"
    assert window.detail_var.get().startswith("Not a digit")
    message = window.number_view.canvas.find_withtag("message")
    assert window.number_view.canvas.itemcget(message[0], "text") == "Not a digit"
    assert window.number_view.canvas.itemcget(message[0], "fill") == "#8a8a8a"
    labels = [window.bars.canvas.itemcget(i, "text") for i in window.bars.canvas.find_withtag("label")]
    assert labels == [str(d) for d in range(10)] + ["none"]
    assert int(np.argmax(window.bars.lengths())) == 10
    assert_no_overlap(canvas_item_boxes(window.bars.canvas, ("label", "frame", "percent")))
    key(window, "<Control-c>")
    assert "Nothing to copy" in window.status_var.get()


def test_eleven_class_digits_still_read_as_digits(make_window):
    window = make_window(predictor=ElevenClasses(best=4))
    draw_number(window, [7])  # drawn 7, read as the stand-in's 4
    assert window.number_var.get() == "4"
    assert len(window.bars.lengths()) == 11


# -- pictures: off the Tk thread, cancellable, errors in a dialog ------------------------------


def test_reading_a_picture_keeps_the_window_responsive_and_esc_cancels(make_window, tmp_path, monkeypatch):
    window = make_window()
    release = threading.Event()
    real = gui.read_file

    def slow(predictor, path):
        release.wait(10)
        return real(predictor, path)

    monkeypatch.setattr(gui, "read_file", slow)
    path = tmp_path / "seven.png"
    samples.render(7, 0).save(path)
    started = time.monotonic()
    window.open_image(path)
    assert time.monotonic() - started < 2  # returns at once: the read happens elsewhere
    ticks = []
    window.root.after(10, lambda: ticks.append(1))
    deadline = time.monotonic() + 2
    while not ticks and time.monotonic() < deadline:
        window.root.update()
    assert ticks  # the event loop runs while the picture is read
    assert window.busy and window.progress.winfo_ismapped()
    assert str(window.root.cget("cursor")) == "watch"
    assert "Reading seven.png" in window.status_var.get()
    key(window, "<Escape>")
    assert not window.busy and not window.progress.winfo_ismapped()
    assert "Cancelled" in window.status_var.get()
    release.set()
    time.sleep(0.2)
    for _ in range(10):
        window.root.update()
        time.sleep(gui.POLL_MS / 1000)
    assert window.opened is None and window.number_var.get() == "–"  # the late result is ignored

    monkeypatch.setattr(gui, "read_file", real)
    window.open_image(path)
    assert window.wait_for_read()
    assert window.number_var.get() == "7"
    window.undo()  # opening is undoable like any other change of the canvas
    assert window.opened is None and window.number_var.get() == "–"
    window.redo()
    assert window.opened is not None and window.number_var.get() == "7"


def test_any_failure_while_reading_is_a_one_line_dialog_naming_the_file(make_window, tmp_path, monkeypatch):
    window = make_window()
    shown = []
    monkeypatch.setattr(gui.messagebox, "showerror",
                        lambda title, message, **kw: shown.append((title, message, kw.get("detail"))))

    def broken(predictor, path):
        raise RuntimeError("decoder exploded\nwith a second line")

    monkeypatch.setattr(gui, "read_file", broken)
    path = tmp_path / "a-rather-long-file-name-of-a-scan-without-spaces.png"
    path.write_bytes(b"whatever")
    window.open_image(path)
    assert window.wait_for_read()
    assert shown == [("Cannot open image", f"Cannot open {path.name}",
                      "RuntimeError: decoder exploded with a second line")]
    assert window.status_var.get() == f"Could not open {path.name}"
    assert not window.busy


def test_bad_image_dialog_gives_the_reason_without_the_path(make_window, tmp_path, monkeypatch):
    window = make_window()
    shown = []
    monkeypatch.setattr(gui.messagebox, "showerror",
                        lambda title, message, **kw: shown.append((message, kw.get("detail"))))
    bad = tmp_path / "scan.png"
    bad.write_text("garbage")
    window.open_image(bad)
    assert window.wait_for_read()
    (message, detail), = shown
    assert message == "Cannot open scan.png"
    assert detail and str(tmp_path) not in detail and "\n" not in detail


def test_open_dialog_starts_in_pictures_or_home(tmp_path):
    assert presentation.initial_folder(tmp_path) == str(tmp_path)
    (tmp_path / "Pictures").mkdir()
    assert presentation.initial_folder(tmp_path) == str(tmp_path / "Pictures")


# -- status line, About box, icon, no display --------------------------------------------------


def test_status_line_names_the_model_not_its_path(make_window, models):
    window = make_window()
    assert window.status_var.get() == "Model templates (test accuracy 81.25%)"
    assert str(models["templates"].parent) not in window.status_var.get()


def test_about_box_shows_the_model_card(make_window, tmp_path):
    path = build_model(tmp_path / "carded.onnx", template_head(sample_templates()), metadata={
        "model_name": "improved", "test_accuracy": "0.9966", "pen_val_accuracy": "0.991",
        "trained_on": "MNIST (CC BY-SA 3.0) + UNIPEN training writers: research use, cite Guyon et al. 1994\x1b[31m",
    })
    window = make_window(path)
    window.menus["Help"].invoke(f"About {gui.TITLE}")
    about = window.about
    assert about.window.winfo_exists() and about.window.title() == "About Digit Recognizer"
    text = about.text()
    for expected in ("Model: improved", "MNIST test accuracy: 99.66%", "Real pen digits, held-out writers: 99.10%",
                     "Trained on (and the data's terms): MNIST", "UNIPEN training writers", "CC BY-SA 3.0",
                     "Guyon et al. 1994",
                     f"App version: {app.__version__}"):
        assert expected in text
    assert "\x1b" not in text
    window.root.update()
    about.window.focus_force()
    about.window.event_generate("<Escape>")
    window.root.update()
    assert not about.window.winfo_exists()


def test_window_has_an_icon_and_its_own_class(make_window):
    window = make_window()
    window.root.update()
    tree = subprocess.run(["xwininfo", "-children", "-id", str(window.root.winfo_id())], capture_output=True,
                          text=True, timeout=20).stdout
    wrapper = tree.split("Parent window id:")[1].split()[0]  # Tk's toplevel wrapper holds the WM hints
    props = subprocess.run(["xprop", "-id", wrapper, "_NET_WM_ICON", "WM_CLASS"], capture_output=True,
                           text=True, timeout=20).stdout
    for size in gui.ICON_SIZES:
        assert f"Icon ({size} x {size})" in props
    assert 'WM_CLASS(STRING) = "digit-recognizer", "Digit-recognizer"' in props


def test_icon_is_drawn_at_every_size():
    for size in (16, 32, 256):
        icon = draw_icon(size)
        assert icon.size == (size, size) and icon.mode == "RGBA"
        pixels = np.asarray(icon)
        assert pixels[0, 0, 3] == 0 and pixels[size // 2, size // 4, 3] == 255  # a tile with clear corners
        white = (pixels[..., :3].min(axis=2) > 200) & (pixels[..., 3] > 200)
        assert 0.03 < white.mean() < 0.4  # a visible digit, not a blank or white tile


@pytest.mark.parametrize("frozen", [False, True])
def test_without_a_display_the_app_points_to_its_predict_command(monkeypatch, capsys, frozen):
    def no_display(*args, **kwargs):
        raise tk.TclError("couldn't connect to display")

    monkeypatch.setattr(gui.tk, "Tk", no_display)
    if frozen:
        monkeypatch.setattr(sys, "frozen", True, raising=False)
        monkeypatch.setattr(sys, "executable", "/opt/bin/digit-recognizer")
    assert gui.run(predictor=None) == 1
    err = capsys.readouterr().err
    expected = "digit-recognizer predict FILE" if frozen else "python -m app predict FILE"
    assert expected in err and err.count("\n") == 1
    if frozen:
        assert "python -m app" not in err


# -- pure helpers --------------------------------------------------------------------------------


def test_ui_scale_follows_the_dpi():
    assert layout.ui_scale(96) == 1.0 and layout.ui_scale(192) == 2.0 and layout.ui_scale(144) == 1.5
    assert layout.ui_scale(96, zoom=1.25) == 1.25
    assert layout.ui_scale(1) == layout.SCALE_RANGE[0] and layout.ui_scale(10_000) == layout.SCALE_RANGE[1]
    metrics = layout.Metrics(2.0)
    assert metrics.canvas == (1120, 840) and metrics.min_canvas == (560, 420) and metrics.px(0.2) == 1


def test_canvas_fitting_keeps_the_shape():
    assert layout.fit_canvas(800, 300) == (400, 300)
    assert layout.fit_canvas(400, 900) == (400, 300)
    assert layout.fit_canvas(10, 10, minimum=(40, 30)) == (40, 30)
    assert layout.fill_height((560, 420), 480) == (640, 480)
    assert layout.fill_height((560, 420), 300) == (560, 420)
    # a 2x window on a screen of 1600x1200: shrink the canvas, not the rest
    assert layout.fit_to_screen((1120, 840), (1700, 1100), (1600, 1200)) == (860, 645)
    assert layout.fit_to_screen((560, 420), (900, 560), (1600, 1200)) == (560, 420)
    assert layout.fit_to_screen((560, 420), (900, 560), (400, 300), minimum=(280, 210)) == (280, 210)


def test_font_fitting():
    measure = lambda text, size: len(text) * size  # noqa: E731
    assert layout.fit_font_size("1234", 200, 48, 12, measure) == 48
    assert layout.fit_font_size("1234567890", 200, 48, 12, measure) == 20
    assert layout.fit_font_size("1" * 100, 200, 48, 12, measure) == 12


def test_history_undo_redo():
    history = History(limit=3)
    assert history.undo("now") is None and history.redo("now") is None
    history.record("a")
    history.record("b")
    assert history.undo("c") == "b" and history.undo("b") == "a"
    assert history.undo("a") is None
    assert history.redo("a") == "b" and history.redo("b") == "c"
    assert not history.can_redo
    history.undo("c")
    history.record("x")  # a new change forgets what could be redone
    assert not history.can_redo
    for state in "defgh":
        history.record(state)
    assert [history.undo("?") for _ in range(4)] == ["h", "g", "f", None]  # only `limit` kept


def test_drawing_resize_snapshot_and_restore():
    drawing = Drawing(100, 75)
    drawing.begin(10, 20, 4)
    drawing.extend(50, 60)
    snapshot = drawing.snapshot()
    small = drawing.pixels.copy()
    drawing.resize(200, 150)
    assert drawing.size == (200, 150) and drawing.pixels.shape == (150, 200)
    assert drawing.strokes == [(8.0, [(20.0, 40.0), (100.0, 120.0)])]
    assert drawing.pixels[80, 60] == 255 and drawing.pixels[20, 190] == 0
    # back at the first size, the raster is what it was
    drawing.resize(100, 75)
    np.testing.assert_array_equal(drawing.pixels, small)
    drawing.clear()
    drawing.resize(300, 225)
    drawing.restore(snapshot)  # a snapshot taken at another size comes back scaled
    assert drawing.strokes == [(12.0, [(30.0, 60.0), (150.0, 180.0)])]
    drawing.begin(1, 1, 3)
    assert snapshot[1] == ((4.0, ((10.0, 20.0), (50.0, 60.0))),)  # snapshots are not shared with the drawing


def test_model_card_lists_what_the_metadata_has():
    card = dict(model_card({"model_name": "m\x1b[2J", "test_accuracy": "99.66", "val_accuracy": "0.99",
                            "trained_on": ""}, "1.2.3"))
    assert card == {"Model": "m\\x1b[2J", "MNIST test accuracy": "99.66%", "App version": "1.2.3"}
    card = dict(model_card({"test_accuracy": "n/a", "pen_val_accuracy": "0.5"}, "1"))
    assert card["MNIST test accuracy"] == "n/a" and card["Real pen digits, held-out writers"] == "50.00%"
    # With the stroke reader, what drawn digits get comes from its own metadata, after the digit model's.
    card = model_card({"sure_threshold": "0.95"}, "1", {"fused_val_accuracy": "0.986", "sure_threshold": "0.96"})
    assert card == [("Called sure from", "95.00%"), ("Drawn digits, with the stroke reader", "98.60%"),
                    ("Drawn digits called sure from", "96.00%"), ("App version", "1")]
    # With the number reader, what pictures of numbers get, from its metadata, after the stroke reader's.
    card = model_card({}, "1", {"fused_val_accuracy": "0.986"},
                      {"members": "4", "val_row_accuracy": "0.882", "sure_threshold": "0.951302"})
    assert card == [("Drawn digits, with the stroke reader", "98.60%"), ("Numbers in pictures, readers voting", "4"),
                    ("Rows of held-out writers read exactly", "88.20%"),
                    ("Numbers in pictures called sure from", "95.13%"), ("App version", "1")]


def guess(label, confidence, box=(0, 0, 10, 10), classes=10):
    p = np.full(classes, (1 - confidence) / (classes - 1), np.float32)
    p[classes - 1 if label == presentation.NOT_A_DIGIT else int(label)] = confidence
    return Guess(label, confidence, p, np.zeros((28, 28, 1), np.float32), box)


def test_presentation_texts():
    labels = [str(d) for d in range(10)] + [presentation.NOT_A_DIGIT]
    assert presentation.number_text(Reading()) == "–"
    assert presentation.detail(Reading(), labels, True) == "Nothing drawn yet."
    assert presentation.detail(Reading(), labels, False) == "No digit found."
    sure = Reading((guess("4", 0.97),))
    assert presentation.number_text(sure) == "4" and presentation.detail(sure, labels, False) == "97% sure"
    unsure = Reading((guess("4", 0.4),))
    assert presentation.number_text(unsure) == "4?"
    assert presentation.detail(unsure, labels, False).startswith("Not sure: maybe 4 (40%), or ")
    mark = Reading((guess(presentation.NOT_A_DIGIT, 0.9, classes=11),))
    assert presentation.number_text(mark) == "Not a digit"
    assert presentation.detail(mark, labels, False) == "Not a digit (90% sure)"
    mixed = (guess("1", 0.99, (0, 0, 10, 10)), guess(presentation.NOT_A_DIGIT, 0.9, (20, 0, 30, 10), classes=11))
    assert presentation.number_items(Reading(mixed)) == [("1", "sure"), (presentation.NOT_A_DIGIT_MARK, "none")]
    assert presentation.detail(Reading(mixed), labels, False) == "1 digit and 1 mark that is not a digit"
    assert presentation.bar_labels(labels)[-1] == "none"
    # the bars follow the newest stroke, whatever order the digits were drawn in
    three = (guess("1", 0.99, (0, 0, 10, 10)), guess("2", 0.95, (20, 0, 30, 10)), guess("3", 0.99, (40, 0, 50, 10)))
    assert presentation.focus_index(three, (21, 2, 28, 9)) == 1
    assert presentation.focus_index(three, None) == 1  # no stroke: the least certain
    # a tapped decimal point has no scores: its neighbour's bars are shown, never empty ones
    point = Guess(".", 0.0, np.zeros(11, np.float32), np.zeros((28, 28, 1), np.float32), (12, 8, 16, 10))
    pi = (guess("3", 0.99, (0, 0, 10, 10)), point, guess("1", 0.9, (20, 0, 30, 10)))
    assert presentation.focus_index(pi, (12, 8, 16, 10)) in (0, 2)
    assert presentation.focus_index(pi, None) == 2


def test_error_reason_drops_the_path_but_keeps_the_kind():
    from app.image_files import BadImage

    assert presentation.error_reason(BadImage("/a/b/scan.png: not an image file"), "/a/b/scan.png") == (
        "not an image file")
    assert presentation.error_reason(OSError("disk\nfull"), "x.png") == "OSError: disk full"
