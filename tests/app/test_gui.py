"""The window, driven like idlelib's tests: real widgets on a private Xvfb display.

Strokes are sent with event_generate, exactly as Tk delivers mouse input, and
the assertions read what the user would read: the number, the confidence
line, the bars and the preview. The pure helpers of the window's parts are
tested at the end, without a display.
"""

import time
import tkinter as tk

import numpy as np
import pytest
from PIL import Image

from app import answer_panel, correction_menu, drawing_pad, gui, menus, picture_files, presentation, samples
from app import window_size
from app.predictor import NOT_A_DIGIT, Predictor
from app.recognize import Guess, Reading

from .test_segment import write


@pytest.fixture
def make_window(xvfb, models):
    made = []

    def make(model="templates"):
        """A window on one of the tiny models (by name) or on a model file."""
        root = tk.Tk()
        window = gui.DigitApp(root, Predictor(models.get(model, model)))
        root.update()
        made.append(root)
        return window

    yield make
    for root in made:
        try:
            root.destroy()
        except tk.TclError:
            pass  # the test closed it


def stroke(window, points, release=True):
    canvas = window.canvas
    (x, y), rest = points[0], points[1:]
    canvas.event_generate("<ButtonPress-1>", x=round(x), y=round(y))
    for x, y in rest:
        canvas.event_generate("<B1-Motion>", x=round(x), y=round(y))
    if release:
        canvas.event_generate("<ButtonRelease-1>", x=round(x), y=round(y))
    window.root.update()


def draw_digit(window, digit, left=200, top=60, height=300):
    for path in samples.stroke_paths(digit, (left, top, height), slant=0.05):
        stroke(window, path)


def key(window, sequence):
    window.canvas.focus_force()
    window.canvas.event_generate(sequence)
    window.root.update()


def test_starts_empty_and_names_the_model(make_window):
    window = make_window()
    assert window.number_var.get() == "–"
    assert window.detail_var.get() == "Nothing drawn yet."
    assert window.status_var.get().startswith("Model templates (test accuracy 81.25%)")
    assert window.root.title() == "Digit Recognizer"


@pytest.mark.parametrize("digit", [0, 3, 7])
def test_drawing_a_digit_shows_it(make_window, digit):
    window = make_window()
    draw_digit(window, digit)
    assert window.number_var.get() == str(digit)
    assert window.detail_var.get().endswith("% sure")
    bars = window.bars.lengths()
    assert int(np.argmax(bars)) == digit
    seen = (window.reading.guesses[0].image[:, :, 0] * 255).astype(int)
    np.testing.assert_allclose(preview_pixels(window), seen, atol=1)  # the model's input, scaled up


def preview_pixels(window):
    """The 28x28 preview as the user sees it, read back from the Tk photo image."""
    zoom = gui.PREVIEW_ZOOM
    get = window.root.tk.call
    return np.array(
        [[get(str(window.preview), "get", x * zoom, y * zoom)[0] for x in range(28)] for y in range(28)]
    )


def test_canvas_ink_matches_the_drawing(make_window):
    window = make_window()
    stroke(window, [(100, 100), (300, 100)])
    assert window.drawing.pixels[100, 200] == 255
    assert window.drawing.pixels[100 + window.brush_width, 200] == 0


def test_prediction_updates_while_drawing(make_window):
    window = make_window()
    path = samples.stroke_paths(7, (200, 60, 300))[0]
    stroke(window, path, release=False)
    time.sleep(gui.LIVE_MS / 1000 * 2)
    window.root.update()
    assert window.number_var.get() == "7"  # the pen is still down
    window.canvas.event_generate("<ButtonRelease-1>", x=round(path[-1][0]), y=round(path[-1][1]))


def test_live_prediction_is_throttled(make_window, monkeypatch):
    window = make_window()
    calls = []
    real = gui.recognize.read_drawing  # the window's read path
    monkeypatch.setattr(gui.recognize, "read_drawing", lambda *a, **k: calls.append(1) or real(*a, **k))
    canvas = window.canvas
    canvas.event_generate("<ButtonPress-1>", x=100, y=100)
    for i in range(60):  # a fast scribble: many motion events between two idle moments
        canvas.event_generate("<B1-Motion>", x=100 + 3 * i, y=100 + (i % 7))
    window.root.update()
    assert len(calls) <= 1
    time.sleep(gui.LIVE_MS / 1000 * 2)
    window.root.update()
    assert 1 <= len(calls) <= 2
    before = len(calls)
    canvas.event_generate("<ButtonRelease-1>", x=280, y=100)
    window.root.update()
    assert len(calls) == before + 1  # once more when the pen lifts, at once


def test_the_pen_lifting_reads_the_whole_stroke(make_window):
    """A stroke drawn faster than the live reads is read in full when the pen lifts."""
    window = make_window()
    path = samples.stroke_paths(7, (200, 60, 300))[0]
    canvas = window.canvas
    canvas.event_generate("<ButtonPress-1>", x=round(path[0][0]), y=round(path[0][1]))
    window.root.update()  # the live read sees a dot
    for x, y in path[1:]:
        canvas.event_generate("<B1-Motion>", x=round(x), y=round(y))
    canvas.event_generate("<ButtonRelease-1>", x=round(path[-1][0]), y=round(path[-1][1]))
    window.root.update_idletasks()  # no timer has fired: only the pen-up read can have seen the 7
    assert window.number_var.get() == "7"


def test_undo_and_clear(make_window):
    window = make_window()
    draw_digit(window, 1, left=100, height=200)
    draw_digit(window, 7, left=300, height=200)
    assert window.number_var.get() == "17"
    key(window, "<Control-z>")
    assert window.number_var.get() == "1"
    window.undo_button.invoke()
    assert window.number_var.get() == "–" and window.drawing.pixels.max() == 0
    for clear in ("<Escape>", "<Delete>", "button"):
        draw_digit(window, 4)
        assert window.number_var.get() == "4"
        if clear == "button":
            window.clear_button.invoke()
        else:
            key(window, clear)
        assert window.number_var.get() == "–", clear
        assert window.drawing.empty and window.drawing.pixels.max() == 0


def test_a_whole_number(make_window):
    window = make_window()
    for i, digit in enumerate([2, 0, 2, 6]):
        draw_digit(window, digit, left=25 + i * 135, top=110, height=180)
    assert window.number_var.get() == "2026"
    assert window.detail_var.get().startswith("4 digits, each at least")
    assert window.bars_title.get() == "Probabilities for digit 4 of 4"


def test_bars_show_the_digit_drawn_last_not_the_rightmost(make_window):
    window = make_window()
    draw_digit(window, 7, left=320, top=110, height=200)  # the right-hand digit first ...
    assert window.bars_title.get() == "Probabilities"
    draw_digit(window, 1, left=80, top=110, height=200)  # ... then the left-hand one
    assert window.number_var.get() == "17"
    assert "digit 1 of 2" in window.bars_title.get()
    np.testing.assert_allclose(preview_pixels(window), guess_pixels(window, 0), atol=1)


def test_dashes_show_in_the_number_and_have_no_bars(make_window):
    window = make_window("always3")
    stroke(window, [(40, 200), (65, 201), (90, 202)])  # a minus sign ...
    stroke(window, [(150, 120), (150, 200), (150, 280)])  # ... a digit, a hyphen and a digit
    stroke(window, [(190, 200), (212, 201), (235, 201)])
    stroke(window, [(290, 120), (290, 200), (290, 280)])
    assert window.number_var.get() == "-3-3"
    assert window.detail_var.get().startswith("2 digits, each at least")
    assert window.bars_title.get() == "Probabilities for digit 2 of 2"  # the newest digit, no dash counted
    window.pick(2)  # a click on the hyphen: nothing to show
    assert window.bars_title.get() == "Probabilities for digit 2 of 2"
    window.step_pick(-1)  # the arrow passes over the hyphen
    assert window.bars_title.get() == "Probabilities for digit 1 of 2"


def guess_pixels(window, index):
    return (window.reading.guesses[index].image[:, :, 0] * 255).astype(int)


def test_low_confidence_is_shown_as_a_guess(make_window):
    window = make_window("unsure")
    draw_digit(window, 5)
    assert window.number_var.get() == "9?"
    assert window.detail_var.get().startswith("Not sure: maybe 9")


def test_brush_width(make_window):
    window = make_window()
    window.set_brush(1000)
    assert window.brush_width == gui.BRUSH[1]
    window.set_brush(10)
    key(window, "<bracketright>")
    assert window.brush_width == 12
    stroke(window, [(100, 200), (300, 200)])
    column = window.drawing.pixels[:, 200]
    assert 11 <= np.count_nonzero(column > 127) <= 13


def test_open_image(make_window, tmp_path):
    window = make_window()
    path = tmp_path / "number.png"
    Image.fromarray(255 - write([4, 2])).save(path)  # dark ink on white, like a scan
    window.open_image(path)
    assert window.wait_for_read()
    assert window.number_var.get() == "42"
    assert "Opened number.png" in window.status_var.get()
    draw_digit(window, 1)  # drawing starts over
    assert window.number_var.get() == "1"


def test_unreadable_image_opens_an_error_dialog(make_window, tmp_path, monkeypatch):
    window = make_window()
    shown = []
    monkeypatch.setattr(gui.messagebox, "showerror", lambda title, message, **kw: shown.append(message))
    bad = tmp_path / "scan.png"
    bad.write_text("garbage")
    window.open_image(bad)
    assert window.wait_for_read()
    assert shown == ["Cannot open scan.png"]
    assert window.status_var.get() == "Could not open scan.png"
    draw_digit(window, 7)  # still alive
    assert window.number_var.get() == "7"


def test_ctrl_q_closes_the_window(make_window):
    window = make_window()
    key(window, "<Control-q>")
    with pytest.raises(tk.TclError):
        window.root.winfo_exists()


def test_shipped_model_reads_a_drawn_number(make_window, shipped_model):
    window = make_window(shipped_model)
    for i, digit in enumerate([2, 0, 2, 6]):
        draw_digit(window, digit, left=25 + i * 135, top=110, height=180)
    assert window.number_var.get() == "2026"


# -- the pure helpers behind the window's parts (no display) ----------------------------------


def guess(label, confidence=0.99):
    p = np.zeros(11, np.float32)
    p[10 if label == NOT_A_DIGIT else int(label)] = confidence
    return Guess(label, confidence, p, np.zeros((28, 28, 1), np.float32), (0, 0, 10, 10))


def test_counts_agree_with_their_number():
    assert presentation.count_of(1, "digit") == "1 digit"
    assert presentation.count_of(2, "digit") == "2 digits"
    assert presentation.count_of(0, "mark") == "0 marks"
    assert presentation.count_of(1, "box", "boxes") == "1 box"
    assert presentation.count_of(3, "box", "boxes") == "3 boxes"


def test_the_status_line_drops_its_last_sentences_then_cuts_with_an_ellipsis():
    def measure(text):  # 7 px a character
        return 7 * len(text)

    line = "Opened my-number.png - draw to start over.  Model improved (test accuracy 99.12%)"
    assert presentation.fit_status(line, measure, 7 * len(line)) == line
    assert presentation.fit_status(line, measure, 0) == line  # not laid out yet: all of it
    assert presentation.fit_status(line, measure, 7 * 50) == "Opened my-number.png - draw to start over."
    cut = presentation.fit_status(line, measure, 7 * 20)
    assert cut == "Opened my-number.pn" + presentation.ELLIPSIS and measure(cut) <= 7 * 20
    assert presentation.fit_status("Copied 72.  Model x", measure, 7) == presentation.ELLIPSIS


@pytest.mark.parametrize("labels, text", [
    ("1x", "1 digit and 1 mark that is not a digit"),
    ("12x", "2 digits and 1 mark that is not a digit"),
    ("1xx", "1 digit and 2 marks that are not a digit"),
    ("12xx", "2 digits and 2 marks that are not a digit"),
])
def test_the_line_under_a_number_with_marks_counts_in_words(labels, text):
    reading = Reading(tuple(guess(NOT_A_DIGIT if c == "x" else c) for c in labels))
    names = [str(d) for d in range(10)] + [NOT_A_DIGIT]
    assert presentation.detail(reading, names, False) == text


def test_the_line_under_a_number_with_marks_names_its_unclear_digits():
    """An H drawn beside a number read "1 x 2025": the line said nothing of the 1 shown unsure."""
    names = [str(d) for d in range(10)] + [NOT_A_DIGIT]
    reading = Reading((guess("1", 0.3), guess(NOT_A_DIGIT), guess("2"), guess("0", 0.4)))
    assert presentation.detail(reading, names, False) == \
        "3 digits and 1 mark that is not a digit; digit 1, 4 unclear"
    unsure_mark = Reading((guess("1"), guess(NOT_A_DIGIT, 0.4)))  # an unsure mark is no unclear digit
    assert presentation.detail(unsure_mark, names, False) == "1 digit and 1 mark that is not a digit"


def test_the_line_under_a_sure_number_names_its_weakest_digit():
    names = [str(d) for d in range(10)] + [NOT_A_DIGIT]
    assert presentation.detail(Reading((guess("4", 0.999), guess("2", 0.97))), names, False) == \
        "2 digits, each at least 97% sure. Click one to see its scores."
    assert presentation.detail(Reading((guess("4", 1.0), guess("2", 1.0))), names, False) == \
        "2 digits, each 100% sure. Click one to see its scores."


def test_a_decimal_point_is_not_counted_as_a_digit():
    point = Guess(".", 1.0, np.zeros(11, np.float32), np.zeros((28, 28, 1), np.float32), (0, 0, 2, 2))
    names = [str(d) for d in range(10)] + [NOT_A_DIGIT]
    sure = Reading((guess("3"), point, guess("1"), guess("4")))
    assert presentation.detail(sure, names, False).startswith("3 digits, each at least")
    marked = Reading((guess("3"), point, guess(NOT_A_DIGIT)))
    assert presentation.detail(marked, names, False) == "1 digit and 1 mark that is not a digit"


def test_an_unclear_digit_is_counted_among_the_digits_only():
    """"-3.14" with the 1 unclear: it is digit 2, not piece 4."""
    names = [str(d) for d in range(10)] + [NOT_A_DIGIT]
    minus = Guess("-", 1.0, np.zeros(11, np.float32), np.zeros((28, 28, 1), np.float32), (0, 0, 2, 2))
    point = Guess(".", 1.0, np.zeros(11, np.float32), np.zeros((28, 28, 1), np.float32), (0, 0, 2, 2))
    reading = Reading((minus, guess("3"), point, guess("1", 0.3), guess("4")))
    assert presentation.detail(reading, names, False) == "Not sure: maybe -3.14 (digit 2 unclear)"


def test_forgetting_corrections_counts_in_words():
    assert correction_menu.forget_question(1) == "Forget 1 correction and the readings kept with them?"
    assert correction_menu.forget_question(3) == "Forget 3 corrections and the readings kept with them?"
    assert correction_menu.forgot_message(1) == "Forgot 1 correction."
    assert correction_menu.forgot_message(0) == "Forgot 0 corrections."


def test_zoom_steps_from_the_nearest_and_stop_at_the_ends():
    steps = window_size.ZOOM_STEPS
    assert window_size.next_zoom(1.0, 1) == 1.25
    assert window_size.next_zoom(1.0, -1) == 0.75
    assert window_size.next_zoom(1.1, 1) == 1.25  # 1.1 is nearest 1.0
    assert window_size.next_zoom(steps[-1], 1) == steps[-1]
    assert window_size.next_zoom(steps[0], -1) == steps[0]
    assert window_size.too_big((900, 500), (800, 600)) and window_size.too_big((700, 700), (800, 600))
    assert not window_size.too_big((800, 600), (800, 600))


def test_picking_with_the_arrows_stops_at_the_ends():
    assert gui.next_pick(0, 1, [0, 1, 2, 3]) == 1
    assert gui.next_pick(3, 1, [0, 1, 2, 3]) == 3
    assert gui.next_pick(0, -1, [0, 1, 2, 3]) == 0
    assert gui.next_pick(1, 1, [1, 3]) == 3  # "-4-2": the dash between is passed over
    assert gui.next_pick(3, -1, [1, 3]) == 1


def test_brush_is_kept_in_range_and_scales_with_the_canvas():
    low, high, default = drawing_pad.BRUSH
    assert drawing_pad.clamp_brush(1000) == high and drawing_pad.clamp_brush(-5) == low
    assert drawing_pad.clamp_brush(12.7) == 12
    base = window_size.layout.BASE_CANVAS[0]
    assert drawing_pad.pen_width(default, base) == default
    assert drawing_pad.pen_width(default, 2 * base) == 2 * default


def test_an_opened_picture_is_fitted_centred_and_its_transparency_grey():
    picture = Image.new("RGBA", (10, 20), (255, 255, 255, 255))
    picture.paste((0, 0, 0, 0), (0, 10, 10, 20))  # the lower half transparent
    shown = np.asarray(drawing_pad.picture_on_canvas(picture, (80, 40)))
    assert shown.shape == (40, 80)
    assert shown[:, :30].max() == 0 and shown[:, 50:].max() == 0  # centred: 20 wide in 80, black beside
    # Scaled to the canvas' height (the resampling blends the rows where the halves meet):
    assert (shown[:18, 30:50] == 255).all()  # the white half
    assert (shown[22:, 30:50] == 128).all()  # mid grey under the transparent half


def test_save_suggests_the_number_read():
    assert picture_files.save_name(Reading((guess("4"), guess("2")))) == "42.png"
    assert picture_files.save_name(Reading()) == "drawing.png"
    assert picture_files.save_name(Reading((guess(NOT_A_DIGIT),))) == "drawing.png"
    assert picture_files.file_name("/some/where/scan.png") == "scan.png"


def test_shortcuts_follow_the_platform():
    assert menus.platform_keys(True, "darwin") == ("Command", "Cmd", "Cmd+Shift+Z")
    assert menus.platform_keys(False, "win32") == ("Control", "Ctrl", "Ctrl+Y")
    assert menus.platform_keys(False, "linux") == ("Control", "Ctrl", "Ctrl+Shift+Z")
    assert menus.key_names("z") == {"z", "Z"} and menus.key_names("plus") == {"plus"}


def test_the_preview_grows_with_the_scale():
    assert answer_panel.preview_zoom(1.0) == answer_panel.PREVIEW_ZOOM
    assert answer_panel.preview_zoom(2.0) == 2 * answer_panel.PREVIEW_ZOOM
    assert answer_panel.preview_zoom(0.1) == 1
    image = np.zeros((28, 28, 1), np.float32)
    image[0, 0, 0], image[0, 1, 0], image[0, 2, 0] = 1.5, 0.5, -1
    pixels = answer_panel.preview_pixels(image)
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert list(pixels[0, :3]) == [255, 127, 0]
