"""The drawing window. Widgets only: every decision is made in app.recognize & co.

The canvas shows the very raster the model reads (app.drawing), so what you
see is what is recognised. Prediction runs live while drawing, at most every
LIVE_MS, and once more when the pen lifts.
"""

import os
import sys
import time
import tkinter as tk
from tkinter import filedialog, font, messagebox, ttk

import numpy as np
from PIL import Image, ImageOps, ImageTk

from app import recognize
from app.drawing import Drawing
from app.preprocess import BadImage, load_image

TITLE = "Digit Recognizer"
CANVAS_SIZE = (560, 420)
BRUSH = (4, 60, 28)  # min, max, default width in canvas pixels
LIVE_MS = 60
PREVIEW_ZOOM = 4
BAR_WIDTH = 150
ACCENT = "#2a7ae2"
UNSURE = "#c07000"
IMAGE_TYPES = [
    ("Images", "*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp"),
    ("All files", "*"),
]


class DigitApp:
    """Main window contents on `root`; `predictor` is an app.predictor.Predictor."""

    def __init__(self, root, predictor, trace=False):
        self.root = root
        self.predictor = predictor
        self.trace = trace
        self.drawing = Drawing(*CANVAS_SIZE)
        self.reading = recognize.Reading()
        self.opened = None  # (path, Pillow image) while showing an image file
        self._pending = None
        self._refresh_pending = None
        self._last_predict = 0.0

        root.title(TITLE)
        root.resizable(False, False)
        root.protocol("WM_DELETE_WINDOW", self.quit)
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        base = font.nametofont("TkDefaultFont").actual("family")
        self.fonts = {
            "number": font.Font(root, family=base, size=64, weight="bold"),
            "title": font.Font(root, family=base, size=10, weight="bold"),
            "bar": font.Font(root, family=base, size=9),
        }
        self._build(root)
        self._bind(root)
        self.status_var.set(self._model_status())
        self.show(self.reading)

    # -- layout ---------------------------------------------------------------

    def _build(self, root):
        frame = ttk.Frame(root, padding=12)
        frame.grid(row=0, column=0, sticky="nsew")

        left = ttk.Frame(frame)
        left.grid(row=0, column=0, sticky="n")
        width, height = CANVAS_SIZE
        self.canvas = tk.Canvas(
            left, width=width, height=height, bg="black", cursor="pencil",
            highlightthickness=1, highlightbackground="#888", borderwidth=0,
        )
        self.canvas.grid(row=0, column=0, sticky="w")
        self.photo = ImageTk.PhotoImage("RGB", CANVAS_SIZE)
        self.canvas.create_image(0, 0, anchor="nw", image=self.photo)
        self.hint = ttk.Label(
            left, text="Draw a digit or a whole number.    Esc: clear    Ctrl+Z: undo    [ ]: brush")
        self.hint.grid(row=1, column=0, sticky="w", pady=(6, 4))

        tools = ttk.Frame(left)
        tools.grid(row=2, column=0, sticky="ew")
        self.clear_button = ttk.Button(tools, text="Clear", width=7, command=self.clear)
        self.undo_button = ttk.Button(tools, text="Undo", width=7, command=self.undo)
        self.open_button = ttk.Button(tools, text="Open image…", command=self.open_image)
        self.clear_button.grid(row=0, column=0)
        self.undo_button.grid(row=0, column=1, padx=(6, 0))
        self.open_button.grid(row=0, column=2, padx=(6, 0))
        tools.columnconfigure(3, weight=1)
        ttk.Label(tools, text="Brush").grid(row=0, column=4, padx=(8, 4))
        self.brush_var = tk.DoubleVar(value=BRUSH[2])
        self.brush_scale = ttk.Scale(
            tools, from_=BRUSH[0], to=BRUSH[1], variable=self.brush_var, length=100,
            command=lambda _value: self.brush_label.configure(text=f"{self.brush_width} px"),
        )
        self.brush_scale.grid(row=0, column=5)
        self.brush_label = ttk.Label(tools, text=f"{BRUSH[2]} px", width=5, anchor="e")
        self.brush_label.grid(row=0, column=6)

        right = ttk.Frame(frame, padding=(18, 0, 0, 0))
        right.grid(row=0, column=1, sticky="n")
        ttk.Label(right, text="Recognised", font=self.fonts["title"]).grid(row=0, column=0, sticky="w")
        self.number_var = tk.StringVar()
        self.number_label = ttk.Label(right, textvariable=self.number_var, font=self.fonts["number"],
                                      anchor="center", width=5)
        self.number_label.grid(row=1, column=0, sticky="ew")
        self.detail_var = tk.StringVar()
        ttk.Label(right, textvariable=self.detail_var, wraplength=250).grid(row=2, column=0, sticky="w")
        self.bars_title = tk.StringVar()
        ttk.Label(right, textvariable=self.bars_title, font=self.fonts["title"]).grid(
            row=3, column=0, sticky="w", pady=(12, 2))
        self.bars = tk.Canvas(right, width=250, height=10 * 18 + 2, highlightthickness=0,
                              bg=ttk.Style(root).lookup("TFrame", "background"))
        self.bars.grid(row=4, column=0, sticky="w")
        self._bar_items = []
        for digit in range(10):
            y = 2 + digit * 18
            self.bars.create_text(8, y + 8, text=str(digit), font=self.fonts["title"])
            self.bars.create_rectangle(22, y + 2, 22 + BAR_WIDTH, y + 15, outline="#bbb", fill="#f4f4f4")
            bar = self.bars.create_rectangle(22, y + 2, 22, y + 15, outline="", fill="#999")
            text = self.bars.create_text(30 + BAR_WIDTH, y + 8, anchor="w", font=self.fonts["bar"])
            self._bar_items.append((bar, text))
        ttk.Label(right, text="What the network sees", font=self.fonts["title"]).grid(
            row=5, column=0, sticky="w", pady=(12, 2))
        side = 28 * PREVIEW_ZOOM
        self.preview = ImageTk.PhotoImage("L", (side, side))
        self.preview_label = tk.Label(right, image=self.preview, borderwidth=1, relief="solid")
        self.preview_label.grid(row=6, column=0, sticky="w")

        self.status_var = tk.StringVar()
        status = ttk.Label(root, textvariable=self.status_var, anchor="w", padding=(12, 3),
                           relief="sunken")
        status.grid(row=1, column=0, sticky="ew")

    def _bind(self, root):
        self.canvas.bind("<ButtonPress-1>", self._press)
        self.canvas.bind("<B1-Motion>", self._drag)
        self.canvas.bind("<ButtonRelease-1>", self._release)
        self.canvas.bind("<Map>", self._mapped, add="+")
        for key in ("<Escape>", "<Delete>"):
            root.bind(key, lambda _e: self.clear())
        for key in ("<Control-z>", "<Control-Z>", "<BackSpace>"):
            root.bind(key, lambda _e: self.undo())
        for key in ("<Control-o>", "<Control-O>"):
            root.bind(key, lambda _e: self.open_image())
        for key in ("<Control-q>", "<Control-Q>"):
            root.bind(key, lambda _e: self.quit())
        for key, step in (("<bracketleft>", -2), ("<minus>", -2), ("<bracketright>", 2), ("<plus>", 2)):
            root.bind(key, lambda _e, s=step: self.set_brush(self.brush_width + s))

    # -- actions (also what the tests call) -------------------------------------

    @property
    def brush_width(self):
        return int(round(self.brush_var.get()))

    def set_brush(self, width):
        width = min(max(int(width), BRUSH[0]), BRUSH[1])
        self.brush_var.set(width)
        self.brush_label.configure(text=f"{width} px")

    def clear(self):
        self._trace("clear")
        self.opened = None
        self.drawing.clear()
        self._refresh_canvas()
        self.predict_now()

    def undo(self):
        if self.opened is not None:
            self.clear()
            return
        if self.drawing.undo():
            self._trace("undo")
            self._refresh_canvas()
            self.predict_now()

    def open_image(self, path=None):
        """Read an image file (asks for one if `path` is None); errors open a dialog."""
        if path is None:
            path = filedialog.askopenfilename(parent=self.root, title="Open an image of a digit",
                                              filetypes=IMAGE_TYPES)
            if not path:
                return
        try:
            image = load_image(path)
            reading = recognize.read(self.predictor, image)
        except BadImage as exc:
            messagebox.showerror("Cannot open image", str(exc), parent=self.root)
            self.status_var.set(f"Could not open {os.path.basename(str(path))}")
            return
        self.drawing.clear()
        self.opened = (path, image)
        self._refresh_canvas()
        self.status_var.set(f"Opened {os.path.basename(str(path))} - draw to start over.  "
                            + self._model_status())
        self._cancel_pending()
        self.show(reading)

    def quit(self):
        self._cancel_pending()
        self.root.destroy()

    # -- drawing ----------------------------------------------------------------

    def _press(self, event):
        if self.opened is not None:
            self.opened = None
            self.status_var.set(self._model_status())
        self.drawing.begin(event.x, event.y, self.brush_width)
        self._schedule_refresh()
        self._schedule_predict()

    def _drag(self, event):
        if not self.drawing.strokes:  # the press happened elsewhere
            return
        if self.drawing.extend(event.x, event.y):
            self._schedule_refresh()
            self._schedule_predict()

    def _release(self, event):
        if not self.drawing.strokes:
            return
        self.drawing.extend(event.x, event.y)
        self._refresh_canvas()
        self.predict_now()

    def _schedule_refresh(self):
        if self._refresh_pending is None:
            self._refresh_pending = self.root.after_idle(self._refresh_canvas)

    def _refresh_canvas(self):
        if self._refresh_pending is not None:
            self.root.after_cancel(self._refresh_pending)
            self._refresh_pending = None
        if self.opened is not None:
            shown = Image.new("RGB", CANVAS_SIZE)
            fitted = ImageOps.contain(self.opened[1].convert("RGBA"), CANVAS_SIZE)
            # Mid grey under transparent parts keeps both dark and light ink visible.
            backed = Image.new("RGB", fitted.size, (128, 128, 128))
            backed.paste(fitted, (0, 0), fitted)
            shown.paste(backed, ((CANVAS_SIZE[0] - fitted.width) // 2, (CANVAS_SIZE[1] - fitted.height) // 2))
            self.photo.paste(shown)
        else:
            self.photo.paste(Image.fromarray(self.drawing.pixels, "L"))

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

    def show(self, reading):
        """Put a Reading on screen: number, confidence text, bars and preview."""
        self.reading = reading
        guesses = reading.guesses
        if not guesses:
            self.number_var.set("–")
            self.number_label.configure(foreground="#999")
            self.detail_var.set("Nothing drawn yet." if self.drawing.empty and self.opened is None
                                else "No digit found.")
            self.bars_title.set("Probabilities")
            self._show_bars(None)
            self._show_preview(None)
            self._trace("prediction: - 0.000")
            return
        number = reading.number + ("" if reading.sure else "?")
        size = 64 if len(number) <= 4 else max(18, int(64 * 4 / len(number)))
        self.fonts["number"].configure(size=size)
        self.number_var.set(number)
        self.number_label.configure(foreground="black" if reading.sure else UNSURE)
        self.detail_var.set(_detail(reading))
        focus = self._focus(guesses)
        if len(guesses) > 1:
            self.bars_title.set(f"Probabilities for digit {focus + 1} of {len(guesses)}")
        else:
            self.bars_title.set("Probabilities")
        self._show_bars(guesses[focus])
        self._show_preview(guesses[focus].image)
        self._trace(f"prediction: {reading.number} {reading.confidence:.3f}")

    def _focus(self, guesses):
        """Index of the digit under the newest stroke (else the least certain one)."""
        box = self.drawing.last_stroke_box() if self.opened is None else None
        if box is None or len(guesses) == 1:
            return min(range(len(guesses)), key=lambda i: guesses[i].confidence)
        middle = (box[0] + box[2]) / 2
        return min(range(len(guesses)),
                   key=lambda i: abs((guesses[i].box[0] + guesses[i].box[2]) / 2 - middle))

    def _show_bars(self, guess):
        best = int(np.argmax(guess.probabilities)) if guess is not None else -1
        for digit, (bar, text) in enumerate(self._bar_items):
            p = float(guess.probabilities[digit]) if guess is not None else 0.0
            y = 2 + digit * 18
            self.bars.coords(bar, 22, y + 2, 22 + round(p * BAR_WIDTH), y + 15)
            colour = (ACCENT if guess.sure else UNSURE) if digit == best else "#999"
            self.bars.itemconfigure(bar, fill=colour)
            self.bars.itemconfigure(text, text=_percent(p) if guess is not None else "")

    def _show_preview(self, image):
        side = 28 * PREVIEW_ZOOM
        if image is None:
            self.preview.paste(Image.new("L", (side, side)))
            return
        pixels = (np.clip(image[:, :, 0], 0, 1) * 255).astype(np.uint8)
        self.preview.paste(Image.fromarray(pixels, "L").resize((side, side), Image.Resampling.NEAREST))

    # -- misc -------------------------------------------------------------------

    def _model_status(self):
        return f"Model {self.predictor.describe()} - {self.predictor.path}"

    def _mapped(self, _event):
        self._trace(f"ready {self.canvas.winfo_rootx()} {self.canvas.winfo_rooty()} "
                    f"{CANVAS_SIZE[0]} {CANVAS_SIZE[1]}")

    def _trace(self, line):
        if self.trace:
            print(line, flush=True)


def _detail(reading):
    guesses = reading.guesses
    if len(guesses) == 1:
        g = guesses[0]
        if g.sure:
            return f"{_percent(g.confidence)} sure"
        return f"Not sure: maybe {g.label} ({_percent(g.confidence)}), or {g.runner_up}"
    if reading.sure:
        return f"{len(guesses)} digits, each at least {_percent(reading.confidence)} sure"
    unsure = [i for i, g in enumerate(guesses) if not g.sure]
    which = ", ".join(str(i + 1) for i in unsure)
    return f"Not sure: maybe {reading.number} (digit {which} unclear)"


def _percent(p):
    """Whole percent, rounded down: 99.96% is not yet 100% sure."""
    return f"{int(p * 100)}%"


def show_error(message):
    """A lone error dialog, for failures before the window exists; silent without a display."""
    try:
        root = tk.Tk()
    except tk.TclError:
        return
    root.withdraw()
    messagebox.showerror(TITLE, message, parent=root)
    root.destroy()


def run(predictor):
    """Open the window and return the exit status when it closes."""
    try:
        root = tk.Tk()
    except tk.TclError as exc:
        print(f"error: cannot open a window ({exc}); `python -m app predict FILE` works without one",
              file=sys.stderr)
        return 1
    DigitApp(root, predictor, trace=os.environ.get("DIGITS_APP_TRACE") == "1")
    root.mainloop()
    return 0
