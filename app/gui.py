"""The drawing window: `run` opens it. DigitApp holds what the window shows (the drawing, the
reading, an opened picture, undo history, the scale) and wires its parts together:

- app.drawing_pad: the canvas, pen input and resizing, the tools under it;
- app.answer_panel: the number, the line under it, the bars, the preview and the why-view;
- app.picture_files: Open… on a worker thread (busy state, Esc cancels), Save drawing as PNG…;
- app.menus: the menu bar and the shortcuts; app.correction_menu: Correct this digit… and Forget all;
- decisions: app.recognize, app.presentation, app.layout, app.history; the About box: app.views.

The canvas shows the very raster the model reads (app.drawing), so what you see is what is
recognised. Prediction runs live while drawing, at most every LIVE_MS, and once more when the pen
lifts. Every size follows the desktop's scaling (app.layout); the canvas grows with the window.
"""

import os
import sys
import time
import tkinter as tk
from tkinter import filedialog, messagebox, ttk  # noqa: F401 (filedialog: tests replace its functions here)

from PIL import ImageTk

import app
from app import corrections, layout, menus, presentation, recognize, window_size
from app.answer_panel import AnswerPanel, make_fonts
from app.correction_menu import CorrectionMenu
from app.drawing import Drawing
from app.drawing_pad import DrawingPad
from app.history import History
from app.icon import draw_icon
from app.layout import Metrics
from app.model_card import model_card
from app.picture_files import PictureFiles, file_name
from app.views import AboutBox

# The parts' settings, read from here by the tests and the benchmarks; read_file is looked up here
# when a picture is opened, so that a test can replace it.
from app.answer_panel import PREVIEW_ZOOM  # noqa: F401
from app.drawing_pad import BRUSH, RESIZE_MS  # noqa: F401
from app.picture_files import POLL_MS, read_file  # noqa: F401

TITLE = "Digit Recognizer"
CLASS_NAME = "digit-recognizer"  # WM_CLASS (X11 capitalises it: Digit-recognizer), .desktop file
LIVE_MS = 60
ICON_SIZES = (16, 32, 48, 64, 128)


def next_pick(current, step, among):
    """The piece `step` places from `current` among the indices `among` (those with scores, in
    order), kept inside them."""
    here = among.index(current) if current in among else 0
    return among[min(max(here + step, 0), len(among) - 1)]


class DigitApp:
    """Main window contents on `root`; `predictor` is an app.predictor.Predictor."""

    def __init__(self, root, predictor, trace=False, store=None):
        self.root = root
        # Corrections adapt the network at once (app.corrections, app.adapt); store None keeps none.
        self.memory = corrections.Memory(predictor, store)
        self.predictor = self.memory.predictor
        self.trace = trace
        self.aqua = root.tk.call("tk", "windowingsystem") == "aqua"
        self.desktop_ppi = root.winfo_fpixels("1i")
        self.desktop_tk_scaling = float(root.tk.call("tk", "scaling"))
        self.zoom = 1.0
        self.metrics = Metrics(layout.ui_scale(self.desktop_ppi))
        self.drawing = Drawing(*self.metrics.canvas)
        self.history = History()
        self.reading = recognize.Reading()
        self.opened = None  # (path, Pillow image, Reading) while showing a picture file
        self.selected = None  # the piece the user clicked, until the next reading
        self.folder = presentation.initial_folder()
        self.about = None
        self._pending = None
        self._last_predict = 0.0

        root.withdraw()  # sized while hidden: it appears once, at its final size
        root.title(TITLE)
        root.protocol("WM_DELETE_WINDOW", self.quit)
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        self.background = style.lookup("TFrame", "background") or "#dcdad5"
        self.fonts = make_fonts(root)
        self.icons = self._set_icon(root)
        self._build(root)
        self.menubar, self.menus, self.corrections_entry = menus.build_menus(self, TITLE, sys.platform)
        self._bind(root)
        window_size.apply_sizes(self, first=True)
        self.status_var.set(self._model_status())
        self.show(self.reading)
        root.deiconify()

    # -- layout ---------------------------------------------------------------

    def _build(self, root):
        root.rowconfigure(0, weight=1)
        root.columnconfigure(0, weight=1)
        self.main = ttk.Frame(root)
        self.main.grid(row=0, column=0, sticky="nsew")
        self.main.rowconfigure(0, weight=1)
        self.main.columnconfigure(0, weight=1)

        self.pad = DrawingPad(self.main, self)
        self.pad.holder.grid(row=0, column=0, sticky="nsew")
        self.canvas = self.pad.canvas
        self.clear_button, self.undo_button = self.pad.clear_button, self.pad.undo_button

        self.panel = AnswerPanel(self.main, self, self.canvas, self.fonts, self.background)
        self.panel.right.grid(row=0, column=1, sticky="n")
        for name in ("why_var", "number_var", "number_view", "detail_var", "bars_title", "bars", "preview_title"):
            setattr(self, name, getattr(self.panel, name))

        bottom = ttk.Frame(root, relief="sunken")
        bottom.grid(row=1, column=0, sticky="ew")
        bottom.columnconfigure(0, weight=1)
        # status_var holds the whole message; the label shows it fitted to its width (width=1: a long
        # message never widens the window), refitted when either changes.
        self.status_var = tk.StringVar()
        self._status_shown = tk.StringVar()
        self.status = ttk.Label(bottom, textvariable=self._status_shown, anchor="w", width=1)
        self.status.grid(row=0, column=0, sticky="ew")
        self.status_var.trace_add("write", self._fit_status)
        self.status.bind("<Configure>", self._fit_status, add="+")
        self.files = PictureFiles(self, bottom)
        self.progress = self.files.progress
        self.correction_menu = CorrectionMenu(self)

    def _bind(self, root):
        self.pad.bind()
        self.canvas.bind("<Map>", self._mapped, add="+")
        root.bind("<Destroy>", self._destroyed, add="+")
        menus.bind_keys(self, sys.platform)

    def _set_icon(self, root):
        icons = [ImageTk.PhotoImage(draw_icon(s), master=root) for s in ICON_SIZES]
        root.iconphoto(True, *icons)
        return icons

    # -- what the parts show (the tests read these) ------------------------------

    @property
    def preview(self):
        return self.panel.preview

    @property
    def preview_zoom(self):
        return self.panel.preview_zoom

    @property
    def panel_width(self):
        return self.panel.panel_width

    @property
    def why_item(self):
        return self.panel.why_item

    @property
    def brush_width(self):
        """The brush setting, in pixels of the canvas at its base size."""
        return self.pad.brush_width

    def set_brush(self, width):
        self.pad.set_brush(width)

    def _resize_canvas(self, width, height):
        self.pad.resize_canvas(width, height)

    # -- actions (also what the tests call) -------------------------------------

    def clear(self):
        """Empty the canvas (undoable); a picture being read is dropped."""
        self.cancel_read(quiet=True)
        if self.drawing.empty and self.opened is None:
            return
        self._trace("clear")
        if self.opened is None:
            # A reading left standing was right: it guards the adaptation (app.corrections).
            self.correction_menu.keep(lambda: self.memory.confirm(self.reading))
        self.history.record(self._state())
        self.drawing.clear()
        self._set_opened(None)
        self.pad.refresh()
        self.predict_now()

    def undo(self):
        self._travel(self.history.undo, "undo")

    def redo(self):
        self._travel(self.history.redo, "redo")

    def _travel(self, step, name):
        state = step(self._state())
        if state is None:
            self.root.bell()
            return
        self._trace(name)
        self.cancel_read(quiet=True)
        snapshot, opened = state
        self.drawing.restore(snapshot)
        self._set_opened(opened)
        self.pad.refresh()
        if opened is not None:
            self._cancel_pending()
            self.show(opened[2])
        else:
            self.predict_now()

    def _state(self):
        return (self.drawing.snapshot(), self.opened)

    def copy_number(self):
        """Put the recognised number on the clipboard (digits only, no '?')."""
        number = self.reading.number if self.reading.guesses else ""
        if not number or presentation.nothing_but_marks(self.reading):
            self.root.bell()
            self.status_var.set("Nothing to copy: no number recognised.")
            return
        self.root.clipboard_clear()
        self.root.clipboard_append(number)
        self.status_var.set(f"Copied {number}.  {self._model_status()}")
        self._trace(f"copied {number}")

    def save_drawing(self, path=None):
        """Write the drawing as a PNG, white ink on black like the canvas (asks where if `path` is None)."""
        return self.files.save(path)

    def open_image(self, path=None):
        """Read a picture file on a worker thread (asks for one if `path` is None)."""
        self.files.open(path, read_file)  # looked up here, so a test can replace gui.read_file

    @property
    def busy(self):
        return self.files.busy

    def wait_for_read(self, timeout=30.0):
        """Process events until the picture being read is shown (for tests and scripts); True if done."""
        return self.files.wait(timeout)

    def cancel_read(self, quiet=False):
        """Stop waiting for the picture being read; its result, when it comes, is ignored."""
        self.files.cancel(quiet)

    def show_picture(self, path, image, reading):
        """A picture was read: show it on the canvas and its reading (undoable, like a stroke)."""
        self.history.record(self._state())
        self.drawing.clear()
        self._set_opened((path, image, reading))
        self.pad.refresh()
        self._cancel_pending()
        self.show(reading)

    def _set_opened(self, opened):
        self.opened = opened
        if opened is None:
            self.status_var.set(self._model_status())
        else:
            self.status_var.set(f"Opened {file_name(opened[0])} - draw to start over.  " + self._model_status())

    def pick(self, index):
        """Show the bars and preview of piece `index` of the number (a click on that digit)."""
        if index not in presentation.scored(self.reading.guesses):
            return  # nothing there, or a decimal point or a dash: no scores to show
        self.selected = index
        self.show(self.reading, keep_selection=True)

    def step_pick(self, step):
        among = presentation.scored(self.reading.guesses)
        if len(among) > 1:
            current = self.selected if self.selected is not None else self._focus()
            self.pick(next_pick(current, step, among))

    def set_zoom(self, zoom):
        """Scale the whole window by `zoom` on top of the desktop's own scaling.

        A zoom whose smallest window would not fit on the screen is refused (a bell).
        """
        if zoom != self.zoom and window_size.set_zoom(self, zoom):
            self._trace(f"zoom {zoom}")

    def step_zoom(self, step):
        self.set_zoom(window_size.next_zoom(self.zoom, step))

    def show_about(self):
        if self.about is not None and self.about.window.winfo_exists():
            self.about.window.lift()
            return self.about
        strokes = getattr(self.predictor, "trajectory", None)
        numbers = getattr(self.predictor, "numbers", None)
        card = model_card(self.predictor.metadata, app.__version__, strokes.metadata if strokes else None,
                          numbers.metadata if numbers else None)
        px = self.metrics.px
        self.about = AboutBox(self.root, TITLE, card, self.icons[-2], px, wrap=px(360))
        return self.about

    def ask_correction(self):
        """Pop up the labels to pick the right one for the digit in focus (Ctrl+K)."""
        return self.correction_menu.ask()

    def correct(self, label):
        """Keep the digit in focus as `label` and read again with the adaptation."""
        self.correction_menu.correct(label)

    def forget_corrections(self):
        self.correction_menu.forget_all()

    def toggle_why(self):
        self.why_var.set(not self.why_var.get())
        self.show(self.reading, keep_selection=True)

    def quit(self):
        self.root.destroy()  # _destroyed cleans up

    def _destroyed(self, event):
        """The window is going: nothing scheduled may run on a dead interpreter."""
        if event.widget is not self.root:
            return
        self.files.stop()
        self._cancel_pending()
        self.pad.cancel_pending()

    # -- prediction -------------------------------------------------------------

    def _schedule_predict(self):
        """Throttle: at most one prediction per LIVE_MS while the pen moves."""
        if self._pending is None:
            wait = LIVE_MS - (time.perf_counter() - self._last_predict) * 1000
            self._pending = self.root.after(max(int(wait), 1), self.predict_now)

    def _cancel_pending(self):
        if self._pending is not None:
            self.root.after_cancel(self._pending)
            self._pending = None

    def predict_now(self):
        self._cancel_pending()
        self._last_predict = time.perf_counter()
        if self.opened is not None:
            return
        self.show(recognize.read_drawing(self.predictor, self.drawing))

    def show(self, reading, keep_selection=False):
        """Put a Reading on screen: number, confidence text, bars and preview."""
        self.reading = reading
        if not keep_selection:
            self.selected = None
        focus = self._focus() if reading.guesses else None
        self.panel.show(reading, focus, empty=self.drawing.empty and self.opened is None,
                        pixels=self.drawing.pixels if self.opened is None else None)
        self._trace(f"prediction: {reading.number or '-'} {presentation.confidence(reading):.3f}")

    def _focus(self):
        if self.selected is not None and self.selected < len(self.reading.guesses):
            return self.selected
        box = self.drawing.last_stroke_box() if self.opened is None else None
        return presentation.focus_index(self.reading.guesses, box)

    # -- misc -------------------------------------------------------------------

    def _model_status(self):
        return f"Model {self.predictor.describe()}"

    def _fit_status(self, *_args):
        label = self.status
        padding = [int(float(str(p))) for p in (label.cget("padding") or ())]
        across = padding[0] + padding[2 if len(padding) > 2 else 0] if padding else 0
        font = str(label.cget("font")) or ttk.Style(label).lookup("TLabel", "font") or "TkDefaultFont"
        width = label.winfo_width() - across if label.winfo_ismapped() else 0

        def measure(text):
            return int(label.tk.call("font", "measure", font, "-displayof", label, text))

        self._status_shown.set(presentation.fit_status(self.status_var.get(), measure, width))

    def _mapped(self, _event):
        self.root.update_idletasks()  # Map comes before the geometry settles: report the real place
        self._trace(f"ready {self.canvas.winfo_rootx()} {self.canvas.winfo_rooty()} "
                    f"{self.canvas.winfo_width()} {self.canvas.winfo_height()}")

    def _trace(self, line):
        if self.trace:
            print(line, flush=True)


def show_error(message):
    """A lone error dialog, for failures before the window exists; silent without a display."""
    try:
        root = tk.Tk(className=CLASS_NAME)
    except tk.TclError:
        return
    root.withdraw()
    messagebox.showerror(TITLE, message, parent=root)
    root.destroy()


def _dpi_aware():
    """Windows: ask for per-monitor DPI awareness, so Tk sees the real DPI instead of a blurry 96."""
    if sys.platform != "win32":
        return
    try:
        import ctypes

        ctypes.windll.shcore.SetProcessDpiAwareness(2)
    except (AttributeError, OSError):
        pass  # older Windows: the system-wide scaling still applies


def run(predictor):
    """Open the window and return the exit status when it closes."""
    _dpi_aware()
    try:
        root = tk.Tk(className=CLASS_NAME, baseName=CLASS_NAME)
    except tk.TclError as exc:
        hint = presentation.predict_hint(getattr(sys, "frozen", False), sys.executable)
        print(f"error: cannot open a window ({exc}); `{hint}` reads pictures without one", file=sys.stderr)
        return 1
    DigitApp(root, predictor, trace=os.environ.get("DIGITS_APP_TRACE") == "1", store=corrections.Store())
    root.mainloop()
    return 0
