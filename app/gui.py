"""The drawing window. Widgets only: decisions live in app.recognize, app.presentation,
app.layout and app.history; the answer's widgets in app.views.

The canvas shows the very raster the model reads (app.drawing), so what you see is what is
recognised. Prediction runs live while drawing, at most every LIVE_MS, and once more when the pen
lifts. Every size follows the desktop's scaling (app.layout); the canvas grows with the window and
the strokes with it. Pictures are read on a worker thread, so the window never freezes.
"""

import gc
import os
import sys
import time
import tkinter as tk
from tkinter import filedialog, font, messagebox, ttk

from PIL import Image, ImageOps, ImageTk

import app
from app import corrections, explain, layout, presentation, recognize
from app.background import BackgroundCall
from app.drawing import Drawing
from app.history import History
from app.icon import draw_icon
from app.layout import Metrics
from app.model_card import model_card
from app.preprocess import load_image
from app.views import ACCENT, AboutBox, BarsView, NumberView

TITLE = "Digit Recognizer"
CLASS_NAME = "digit-recognizer"  # WM_CLASS (X11 capitalises it: Digit-recognizer), .desktop file
BRUSH = (4, 60, 28)  # min, max, default width in pixels of the canvas at its base size (layout)
LIVE_MS = 60
RESIZE_MS = 80  # the raster is redrawn once the window has stopped changing size
POLL_MS = 40  # how often the window looks whether a picture has been read
PREVIEW_ZOOM = 3  # screen pixels per model-input pixel at scale 1
NUMBER_PT = (40, 12)  # largest and smallest size of the recognised number, in points
ZOOM_STEPS = (0.75, 1.0, 1.25, 1.5, 2.0)
ICON_SIZES = (16, 32, 48, 64, 128)
IMAGE_TYPES = [
    ("Images", "*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp"),
    ("All files", "*"),
]


def read_file(predictor, path):
    """What the worker thread does for Open…: load the picture and read it."""
    image = load_image(path)
    return image, recognize.read(predictor, image)


class DigitApp:
    """Main window contents on `root`; `predictor` is an app.predictor.Predictor."""

    def __init__(self, root, predictor, trace=False, store=None):
        self.root = root
        # Corrections adapt the network at once (app.corrections, app.adapt); store None keeps none.
        self.memory = corrections.Memory(predictor, store)
        self.predictor = self.memory.predictor
        self.why_var = tk.BooleanVar(root, value=False)
        self.why_photo = self.why_item = self.why_overlay = None
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
        self.job = None  # (BackgroundCall, path) while a picture is being read
        self.about = None
        self._stroke_before = None
        self._pending = None
        self._refresh_pending = None
        self._resize_pending = None
        self._poll_pending = None
        self._last_predict = 0.0

        root.withdraw()  # sized while hidden: it appears once, at its final size
        root.title(TITLE)
        root.protocol("WM_DELETE_WINDOW", self.quit)
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        self.background = style.lookup("TFrame", "background") or "#dcdad5"
        base = font.nametofont("TkDefaultFont").actual("family")
        self.fonts = {
            "number": font.Font(root, family=base, size=NUMBER_PT[0], weight="bold"),
            "message": font.Font(root, family=base, size=NUMBER_PT[0] // 2, weight="bold"),
            "measure": font.Font(root, family=base, size=NUMBER_PT[0], weight="bold"),  # never shown
            "title": font.Font(root, family=base, size=10, weight="bold"),
            "bar": font.Font(root, family=base, size=9),
            "bar label": font.Font(root, family=base, size=9, weight="bold"),
        }
        self.icons = self._set_icon(root)
        self._build(root)
        self._build_menus(root)
        self._bind(root)
        self._apply_sizes(first=True)
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

        # The holder takes whatever room the window gives; in it, the canvas is the largest 4:3
        # raster that leaves room for the hint and the tools right under it.
        self.holder = ttk.Frame(self.main)
        self.holder.grid(row=0, column=0, sticky="nsew")
        self.holder.grid_propagate(False)
        left = ttk.Frame(self.holder)
        left.place(relx=0.5, rely=0.0, anchor="n")
        self.left = left
        self.canvas = tk.Canvas(left, bg="black", cursor="pencil", highlightthickness=0, borderwidth=0)
        self.canvas.grid(row=0, column=0)
        self.photo = ImageTk.PhotoImage("L", self.drawing.size, master=root)
        self.canvas_image = self.canvas.create_image(0, 0, anchor="nw", image=self.photo)
        self.hint = ttk.Label(left, text="Draw a digit or a whole number.")
        self.hint.grid(row=1, column=0, sticky="w")

        tools = ttk.Frame(left)
        tools.grid(row=2, column=0, sticky="ew")
        self.tools = tools
        self.clear_button = ttk.Button(tools, text="Clear", width=6, command=self.clear)
        self.undo_button = ttk.Button(tools, text="Undo", width=6, command=self.undo)
        self.open_button = ttk.Button(tools, text="Open image…", command=self.open_image)
        self.clear_button.grid(row=0, column=0)
        self.undo_button.grid(row=0, column=1)
        self.open_button.grid(row=0, column=2)
        tools.columnconfigure(3, weight=1)
        self.brush_title = ttk.Label(tools, text="Brush")
        self.brush_title.grid(row=0, column=4)
        self.brush_var = tk.DoubleVar(value=BRUSH[2])
        self.brush_scale = ttk.Scale(tools, from_=BRUSH[0], to=BRUSH[1], variable=self.brush_var,
                                     command=lambda _v: self.brush_label.configure(text=str(self.brush_width)))
        self.brush_scale.grid(row=0, column=5)
        self.brush_label = ttk.Label(tools, text=str(BRUSH[2]), width=3, anchor="e")
        self.brush_label.grid(row=0, column=6)

        right = ttk.Frame(self.main)
        right.grid(row=0, column=1, sticky="n")
        self.right = right
        self.recognised_title = ttk.Label(right, text="Recognised", font=self.fonts["title"])
        self.recognised_title.grid(row=0, column=0, sticky="w")
        self.number_var = tk.StringVar()  # the answer as text; the view draws it
        self.number_view = NumberView(right, self.pick, self.background)
        self.number_view.canvas.grid(row=1, column=0, sticky="w")
        self.detail_box = ttk.Frame(right)
        self.detail_box.grid(row=2, column=0, sticky="nw")
        self.detail_box.grid_propagate(False)
        self.detail_var = tk.StringVar()
        self.detail_label = ttk.Label(self.detail_box, textvariable=self.detail_var, justify="left")
        self.detail_label.grid(row=0, column=0, sticky="nw")
        self.bars_title = tk.StringVar()
        self.bars_title_label = ttk.Label(right, textvariable=self.bars_title, font=self.fonts["title"])
        self.bars_title_label.grid(row=3, column=0, sticky="w")
        self.bars = BarsView(right, self.background)
        self.bars.canvas.grid(row=4, column=0, sticky="w")
        self.preview_title = ttk.Label(right, text="What the network sees", font=self.fonts["title"])
        self.preview_title.grid(row=5, column=0, sticky="w")
        self.preview = None
        self.preview_label = tk.Label(right, borderwidth=1, relief="solid")
        self.preview_label.grid(row=6, column=0, sticky="w")

        bottom = ttk.Frame(root, relief="sunken")
        bottom.grid(row=1, column=0, sticky="ew")
        bottom.columnconfigure(0, weight=1)
        self.status_var = tk.StringVar()
        # width=1: a long message is cut at the window's edge instead of widening the window.
        self.status = ttk.Label(bottom, textvariable=self.status_var, anchor="w", width=1)
        self.status.grid(row=0, column=0, sticky="ew")
        self.progress = ttk.Progressbar(bottom, mode="indeterminate")

    def _apply_sizes(self, first=False):
        """Give every widget its size at the current scale; `first`: also size the window."""
        m, px = self.metrics, self.metrics.px
        self.main.configure(padding=px(10))
        self.hint.grid_configure(pady=(px(6), px(4)))
        for column, button in enumerate((self.clear_button, self.undo_button, self.open_button)):
            button.grid_configure(padx=(px(6) if column else 0, 0))
        self.brush_title.grid_configure(padx=(px(8), px(4)))
        self.brush_scale.configure(length=px(90))
        self.right.configure(padding=(px(16), 0, 0, 0))

        bars_width = self.bars.layout(self.predictor.labels, self.fonts["bar label"], self.fonts["bar"], px)
        title_width = self.fonts["title"].measure(presentation.bars_title(9, 10))
        panel = max(px(250), bars_width, title_width)
        self.panel_width = panel
        number_height = self.fonts["number"].metrics("linespace") + px(8)
        self.number_view.configure(panel, number_height, gap=px(6), underline=px(4))
        line = font.nametofont("TkDefaultFont").metrics("linespace")
        self.detail_label.configure(wraplength=panel)
        self.detail_box.configure(width=panel, height=2 * line + px(2))
        for title in (self.bars_title_label, self.preview_title):
            title.grid_configure(pady=(px(8), px(2)))
        self.preview_zoom = max(1, round(PREVIEW_ZOOM * m.scale))
        side = 28 * self.preview_zoom
        self.preview = ImageTk.PhotoImage("L", (side, side), master=self.root)
        self.preview_label.configure(image=self.preview)
        self._show_preview(None)  # a Pillow photo has no size until something is pasted
        self.status.configure(padding=(px(12), px(3)))
        self.progress.configure(length=px(120))

        # The window's own size: the canvas at its design size, as tall as the answer panel beside
        # it (no empty band under it), shrunk if the screen is small.
        self.canvas.configure(width=1, height=1)
        self.root.update_idletasks()
        self.below = self.left.winfo_reqheight() - 1  # the hint and the tools
        self.tools_width = self.left.winfo_reqwidth()
        self._set_canvas_room(m.min_canvas)
        self.root.update_idletasks()
        self.root.minsize(self.root.winfo_reqwidth(), self.root.winfo_reqheight())
        size = layout.fill_height(m.canvas, self.right.winfo_reqheight() - self.below)
        self._set_canvas_room(size)
        self.root.update_idletasks()
        screen = (self.root.winfo_screenwidth(), self.root.winfo_screenheight())
        window = (self.root.winfo_reqwidth(), self.root.winfo_reqheight())
        size = layout.fit_to_screen(size, window, screen, minimum=m.min_canvas)
        self._set_canvas_room(size)
        if not first:
            self.root.geometry("")  # let the window take its new natural size
        self._resize_canvas(*size)
        if self.reading is not None and not first:
            self.show(self.reading, keep_selection=True)

    def _set_canvas_room(self, size):
        self.holder.configure(width=max(size[0], self.tools_width), height=size[1] + self.below)

    def _set_icon(self, root):
        icons = [ImageTk.PhotoImage(draw_icon(s), master=root) for s in ICON_SIZES]
        root.iconphoto(True, *icons)
        return icons

    def _build_menus(self, root):
        mod, key = ("Command", "Cmd") if self.aqua else ("Control", "Ctrl")
        redo_key = "Ctrl+Y" if sys.platform == "win32" else f"{key}+Shift+Z"
        menubar = tk.Menu(root)
        self.menus = {}

        def menu(label):
            m = tk.Menu(menubar, tearoff=False)
            menubar.add_cascade(label=label, menu=m, underline=0)
            self.menus[label] = m
            return m

        file = menu("File")
        file.add_command(label="Open…", accelerator=f"{key}+O", command=self.open_image, underline=0)
        file.add_command(label="Save drawing as PNG…", accelerator=f"{key}+S", command=self.save_drawing,
                         underline=0)
        if not self.aqua:  # macOS has Quit in the application menu
            file.add_separator()
            file.add_command(label="Quit", accelerator=f"{key}+Q", command=self.quit, underline=0)
        edit = menu("Edit")
        edit.add_command(label="Undo", accelerator=f"{key}+Z", command=self.undo, underline=0)
        edit.add_command(label="Redo", accelerator=redo_key, command=self.redo, underline=0)
        edit.add_separator()
        edit.add_command(label="Copy number", accelerator=f"{key}+C", command=self.copy_number, underline=0)
        edit.add_command(label="Clear", accelerator="Esc", command=self.clear, underline=1)
        edit.add_separator()
        state = "normal" if self.memory.enabled else "disabled"
        edit.add_command(label="Correct this digit…", accelerator=f"{key}+K", command=self.ask_correction,
                         underline=1, state=state)
        edit.add_command(label=corrections.menu_label(self.memory.count()), command=self.forget_corrections,
                         state=state)
        self.corrections_entry = edit.index("end")
        view = menu("View")
        view.add_command(label="Thinner brush", accelerator="[", command=lambda: self.set_brush(self.brush_width - 2))
        view.add_command(label="Thicker brush", accelerator="]", command=lambda: self.set_brush(self.brush_width + 2))
        view.add_separator()
        view.add_command(label="Zoom in", accelerator=f"{key}++", command=lambda: self.step_zoom(1))
        view.add_command(label="Zoom out", accelerator=f"{key}+-", command=lambda: self.step_zoom(-1))
        view.add_command(label="Actual size", accelerator=f"{key}+0", command=lambda: self.set_zoom(1.0))
        view.add_separator()
        view.add_checkbutton(label="Why? (ink for and against)", accelerator=f"{key}+E", variable=self.why_var,
                             command=lambda: self.show(self.reading, keep_selection=True), underline=0)
        help_ = menu("Help")
        help_.add_command(label=f"About {TITLE}", command=self.show_about, underline=0)
        if self.aqua:
            root.createcommand("tk::mac::ShowAbout", self.show_about)
            root.createcommand("tk::mac::Quit", self.quit)
        root.configure(menu=menubar)
        self.menubar = menubar
        self._mod = mod

    def _bind(self, root):
        self.canvas.bind("<ButtonPress-1>", self._press)
        self.canvas.bind("<B1-Motion>", self._drag)
        self.canvas.bind("<ButtonRelease-1>", self._release)
        self.canvas.bind("<Map>", self._mapped, add="+")
        self.holder.bind("<Configure>", self._holder_resized)
        root.bind("<Destroy>", self._destroyed, add="+")
        mod = self._mod
        root.bind("<Escape>", lambda _e: self.cancel_read() if self.job else self.clear())
        root.bind("<Delete>", lambda _e: self.clear())
        shortcuts = {
            "z": self.undo, "y": self.redo, "o": self.open_image, "s": self.save_drawing,
            "c": self.copy_number, "q": self.quit, "0": lambda: self.set_zoom(1.0),
            "plus": lambda: self.step_zoom(1), "equal": lambda: self.step_zoom(1),
            "minus": lambda: self.step_zoom(-1), "k": self.ask_correction, "e": self.toggle_why,
        }
        for letter, action in shortcuts.items():
            for name in {letter, letter.upper()} if len(letter) == 1 else {letter}:
                root.bind(f"<{mod}-{name}>", lambda _e, a=action: a() or "break")
        root.bind(f"<{mod}-Shift-Z>", lambda _e: self.redo())
        root.bind(f"<{mod}-Shift-z>", lambda _e: self.redo())
        root.bind("<BackSpace>", lambda _e: self.undo())
        for key, step in (("<bracketleft>", -2), ("<minus>", -2), ("<bracketright>", 2), ("<plus>", 2)):
            root.bind(key, lambda _e, s=step: self.set_brush(self.brush_width + s))
        root.bind("<Left>", lambda _e: self.step_pick(-1))
        root.bind("<Right>", lambda _e: self.step_pick(1))

    # -- actions (also what the tests call) -------------------------------------

    @property
    def brush_width(self):
        """The brush setting, in pixels of the canvas at its base size."""
        return int(round(self.brush_var.get()))

    def pen_width(self):
        """The brush in raster pixels: the setting scaled with the canvas."""
        return self.brush_width * self.drawing.size[0] / layout.BASE_CANVAS[0]

    def set_brush(self, width):
        width = min(max(int(width), BRUSH[0]), BRUSH[1])
        self.brush_var.set(width)
        self.brush_label.configure(text=str(width))

    def clear(self):
        """Empty the canvas (undoable); a picture being read is dropped."""
        self.cancel_read(quiet=True)
        if self.drawing.empty and self.opened is None:
            return
        self._trace("clear")
        if self.opened is None:
            self._keep(lambda: self.memory.confirm(self.reading))  # a reading left standing was right
        self.history.record(self._state())
        self.drawing.clear()
        self._set_opened(None)
        self._refresh_canvas()
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
        self._refresh_canvas()
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
        if self.drawing.empty:
            self.root.bell()
            self.status_var.set("Nothing drawn to save.")
            return None
        if path is None:
            name = (self.reading.number or "drawing") if self.reading.guesses else "drawing"
            path = filedialog.asksaveasfilename(
                parent=self.root, title="Save drawing as PNG", initialdir=self.folder,
                initialfile=f"{name}.png", defaultextension=".png", filetypes=[("PNG image", "*.png")])
            if not path:
                return None
        self.folder = os.path.dirname(os.path.abspath(path))
        try:
            self.drawing.save_png(path)
        except (OSError, ValueError) as exc:
            name = os.path.basename(str(path))
            messagebox.showerror("Cannot save drawing", f"Cannot save {name}",
                                 detail=presentation.error_reason(exc, path), parent=self.root)
            self.status_var.set(f"Could not save {name}")
            return None
        self.status_var.set(f"Saved {os.path.basename(str(path))}.  {self._model_status()}")
        self._trace(f"saved {path}")
        return path

    def open_image(self, path=None):
        """Read a picture file on a worker thread (asks for one if `path` is None)."""
        if path is None:
            path = filedialog.askopenfilename(parent=self.root, title="Open an image of a digit",
                                              initialdir=self.folder, filetypes=IMAGE_TYPES)
            if not path:
                return
        self.folder = os.path.dirname(os.path.abspath(path))
        self.cancel_read(quiet=True)
        # Tk objects in garbage cycles (a closed dialog's images, variables) must be freed on this
        # thread: freed by a collection on the worker, each would wait on the Tcl interpreter.
        gc.collect()
        self.job = (BackgroundCall(read_file, self.predictor, path), path)
        self._busy(True, f"Reading {os.path.basename(str(path))}…  Esc cancels")
        self._trace(f"reading {path}")
        self._poll_pending = self.root.after(POLL_MS, self._poll_read)

    @property
    def busy(self):
        return self.job is not None

    def wait_for_read(self, timeout=30.0):
        """Process events until the picture being read is shown (for tests and scripts); True if done."""
        deadline = time.monotonic() + timeout
        while self.job is not None and time.monotonic() < deadline:
            self.root.update()
            time.sleep(0.005)
        self.root.update()
        return self.job is None

    def cancel_read(self, quiet=False):
        """Stop waiting for the picture being read; its result, when it comes, is ignored."""
        if self.job is None:
            return
        path = self.job[1]
        self.job = None
        if self._poll_pending is not None:
            self.root.after_cancel(self._poll_pending)
            self._poll_pending = None
        self._busy(False, None if quiet else f"Cancelled reading {os.path.basename(str(path))}.")
        self._trace("cancelled")

    def _poll_read(self):
        self._poll_pending = None
        if self.job is None:
            return
        call, path = self.job
        if not call.done:
            self._poll_pending = self.root.after(POLL_MS, self._poll_read)
            return
        self.job = None
        name = os.path.basename(str(path))
        try:
            image, reading = call.result()
        except Exception as exc:  # every failure of a picture is a dialog, never a dead window
            self._busy(False, f"Could not open {name}")
            self._trace(f"open failed: {presentation.error_reason(exc, path)}")
            messagebox.showerror("Cannot open image", f"Cannot open {name}",
                                 detail=presentation.error_reason(exc, path), parent=self.root)
            return
        self._busy(False, None)
        self.history.record(self._state())
        self.drawing.clear()
        self._set_opened((path, image, reading))
        self._refresh_canvas()
        self._cancel_pending()
        self.show(reading)

    def _busy(self, busy, message):
        cursor = "watch" if busy else ""
        self.root.configure(cursor=cursor)
        self.canvas.configure(cursor=cursor or "pencil")
        if busy:
            self.progress.grid(row=0, column=1, padx=(0, self.metrics.px(8)))
            self.progress.start(15)
        else:
            self.progress.stop()
            self.progress.grid_remove()
        if message is not None:
            self.status_var.set(message)

    def _set_opened(self, opened):
        self.opened = opened
        if opened is None:
            self.status_var.set(self._model_status())
        else:
            self.status_var.set(f"Opened {os.path.basename(str(opened[0]))} - draw to start over.  "
                                + self._model_status())

    def pick(self, index):
        """Show the bars and preview of piece `index` of the number (a click on that digit)."""
        if not 0 <= index < len(self.reading.guesses):
            return
        self.selected = index
        self.show(self.reading, keep_selection=True)

    def step_pick(self, step):
        count = len(self.reading.guesses)
        if count > 1:
            current = self.selected if self.selected is not None else self._focus()
            self.pick(min(max(current + step, 0), count - 1))

    def set_zoom(self, zoom):
        """Scale the whole window by `zoom` on top of the desktop's own scaling.

        A zoom whose smallest window would not fit on the screen is refused (a bell).
        """
        if zoom == self.zoom:
            return
        before = self.zoom
        self._scale_to(zoom)
        smallest = self.root.minsize()
        if zoom > before and (smallest[0] > self.root.winfo_screenwidth()
                              or smallest[1] > self.root.winfo_screenheight()):
            self._scale_to(before)
            self.root.bell()
            return
        self._trace(f"zoom {zoom}")

    def _scale_to(self, zoom):
        self.zoom = zoom
        self.root.tk.call("tk", "scaling", self.desktop_tk_scaling * zoom)
        self.metrics = Metrics(layout.ui_scale(self.desktop_ppi, zoom))
        for name in font.names(self.root):  # fonts are in points: re-measure them at the new scaling
            named = font.nametofont(name, root=self.root)
            named.configure(size=named.cget("size"))
        self._apply_sizes()

    def step_zoom(self, step):
        steps = ZOOM_STEPS
        here = min(range(len(steps)), key=lambda i: abs(steps[i] - self.zoom))
        self.set_zoom(steps[min(max(here + step, 0), len(steps) - 1)])

    def show_about(self):
        if self.about is not None and self.about.window.winfo_exists():
            self.about.window.lift()
            return self.about
        card = model_card(self.predictor.metadata, app.__version__)
        px = self.metrics.px
        self.about = AboutBox(self.root, TITLE, card, self.icons[-2], px, wrap=px(360))
        return self.about

    def quit(self):
        self.root.destroy()  # _destroyed cleans up

    def _destroyed(self, event):
        """The window is going: nothing scheduled may run on a dead interpreter."""
        if event.widget is not self.root:
            return
        self.job = None
        try:
            self.progress.stop()
        except tk.TclError:
            pass  # already gone with its parent
        for pending in (self._pending, self._refresh_pending, self._resize_pending, self._poll_pending):
            if pending is not None:
                self.root.after_cancel(pending)
        self._pending = self._refresh_pending = self._resize_pending = self._poll_pending = None

    # -- drawing ----------------------------------------------------------------

    def _press(self, event):
        self.cancel_read(quiet=True)
        self._stroke_before = self._state()
        if self.opened is not None:
            self._set_opened(None)
        self.drawing.begin(event.x, event.y, self.pen_width())
        self.history.record(self._stroke_before)
        self._schedule_refresh()
        self._schedule_predict()

    def _drag(self, event):
        if self._stroke_before is None:  # the press happened elsewhere
            return
        if self.drawing.extend(event.x, event.y):
            self._schedule_refresh()
            self._schedule_predict()

    def _release(self, event):
        if self._stroke_before is None:
            return
        self._stroke_before = None
        self.drawing.extend(event.x, event.y)
        self._refresh_canvas()
        self.predict_now()

    def _holder_resized(self, event):
        if self._resize_pending is not None:
            self.root.after_cancel(self._resize_pending)
        size = layout.fit_canvas(event.width, event.height - self.below, minimum=(16, 12))
        if max(abs(size[0] - self.drawing.size[0]), abs(size[1] - self.drawing.size[1])) <= 2:
            return  # a pixel of rounding in the layout is not worth redrawing the strokes
        self._resize_pending = self.root.after(RESIZE_MS, self._resize_canvas, *size)

    def _resize_canvas(self, width, height):
        """Make the canvas and its raster width x height; the strokes scale with it."""
        if self._resize_pending is not None:
            self.root.after_cancel(self._resize_pending)
            self._resize_pending = None
        if self._stroke_before is not None:  # never rescale under the pen: try again when it lifts
            self._resize_pending = self.root.after(RESIZE_MS, self._resize_canvas, width, height)
            return
        changed = (width, height) != self.drawing.size
        self.canvas.configure(width=width, height=height)
        if not changed and self.photo.width() == width:
            return
        self.drawing.resize(width, height)
        self.photo = ImageTk.PhotoImage("L", (width, height), master=self.root)
        self.canvas.itemconfigure(self.canvas_image, image=self.photo)
        self._refresh_canvas()
        self._trace(f"resized {width} {height}")
        if self.opened is None and not self.drawing.empty:
            self.predict_now()

    def _schedule_refresh(self):
        if self._refresh_pending is None:
            self._refresh_pending = self.root.after_idle(self._refresh_canvas)

    def _refresh_canvas(self):
        if self._refresh_pending is not None:
            self.root.after_cancel(self._refresh_pending)
            self._refresh_pending = None
        size = self.drawing.size
        if self.opened is not None:
            shown = Image.new("L", size)
            fitted = ImageOps.contain(self.opened[1].convert("RGBA"), size)
            # Mid grey under transparent parts keeps both dark and light ink visible.
            backed = Image.new("RGB", fitted.size, (128, 128, 128))
            backed.paste(fitted, (0, 0), fitted)
            shown.paste(backed.convert("L"), ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
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

    def show(self, reading, keep_selection=False):
        """Put a Reading on screen: number, confidence text, bars and preview."""
        self.reading = reading
        if not keep_selection:
            self.selected = None
        guesses = reading.guesses
        self.number_var.set(presentation.number_text(reading))
        self.detail_var.set(presentation.detail(reading, self.predictor.labels,
                                                self.drawing.empty and self.opened is None))
        if not guesses or presentation.nothing_but_marks(reading):
            message = None if guesses else "–"
            self.number_view.show([], False, self.fonts["number"], None,
                                  message=message or "Not a digit", message_font=self.fonts["message"])
        focus = self._focus() if guesses else None
        if guesses and not presentation.nothing_but_marks(reading):
            items = presentation.number_items(reading)
            self._fit_number_font("".join(t for t, _ in items) + ("" if reading.sure else "?"), len(items))
            self.number_view.show(items, not reading.sure, self.fonts["number"], focus)
        self.bars_title.set(presentation.bars_title(focus, len(guesses)) if guesses else "Probabilities")
        self.bars.show(guesses[focus] if guesses else None)
        self._show_preview(guesses[focus].image if guesses else None)
        self._show_why(guesses[focus] if guesses else None)
        self._trace(f"prediction: {reading.number or '-'} {presentation.confidence(reading):.3f}")

    # -- corrections and the why-view (decisions in app.corrections, app.adapt, app.explain) --

    def _guess_in_focus(self):
        guesses = self.reading.guesses
        guess = guesses[self._focus()] if guesses else None
        return guess if guess is not None and guess.label != recognize.DECIMAL_POINT else None

    def ask_correction(self):
        """Pop up the labels to pick the right one for the digit in focus (Ctrl+K)."""
        if not self.memory.enabled or self._guess_in_focus() is None:
            self.root.bell()
            return None
        menu = tk.Menu(self.root, tearoff=False)
        for label in self.predictor.labels:
            menu.add_command(label=label, command=lambda c=label: self.correct(c))
        x, y = self.number_view.canvas.winfo_rootx(), self.number_view.canvas.winfo_rooty()
        menu.tk_popup(x, y)
        return menu

    def correct(self, label):
        """Keep the digit in focus as `label` and read again with the adaptation."""
        guess = self._guess_in_focus()
        if guess is None or not self.memory.enabled:
            self.root.bell()
            return
        strokes = corrections.strokes_of(self.drawing.strokes, guess.box) if self.opened is None else ()
        if not self._keep(lambda: self.memory.correct(guess, label, strokes)):
            return
        self._trace(f"corrected {guess.label} -> {label}")
        self.menus["Edit"].entryconfigure(self.corrections_entry, label=corrections.menu_label(self.memory.count()))
        if self.opened is None:
            self.predict_now()
        self.status_var.set(f"Kept as {label} (read as {guess.label}); {self.memory.status}.  " + self._model_status())

    def forget_corrections(self):
        count = self.memory.count()
        if not messagebox.askyesno("Forget corrections", f"Forget all {count} corrections and the readings "
                                   "kept with them?", parent=self.root):
            return
        self._keep(self.memory.forget_all)
        self.menus["Edit"].entryconfigure(self.corrections_entry, label=corrections.menu_label(0))
        self.status_var.set(f"Forgot {count} corrections.  " + self._model_status())
        if self.opened is None:
            self.predict_now()

    def _keep(self, action):
        """Run a change to the kept corrections; a folder that cannot be written is a status line."""
        try:
            return action() or True
        except OSError as exc:
            self.status_var.set(f"Cannot keep corrections in {self.memory.store.folder}: {exc.strerror or exc}")
            return False

    def toggle_why(self):
        self.why_var.set(not self.why_var.get())
        self.show(self.reading, keep_selection=True)

    def _show_why(self, guess):
        """Overlay the ink for and against the digit in focus (canvas) and its runner-up (preview)."""
        if self.why_item is not None:
            self.canvas.delete(self.why_item)
            self.why_item = None
        if not self.why_var.get() or guess is None or not guess.probabilities.any():
            self.preview_label.configure(image=self.preview)
            self.preview_title.configure(text="What the network sees")
            return
        view = explain.why_view(self.predictor, guess, self.drawing.pixels if self.opened is None else None,
                                zoom=self.preview_zoom)
        self.why_photo = ImageTk.PhotoImage(view.preview)
        self.preview_label.configure(image=self.why_photo)
        self.preview_title.configure(text=view.title)
        if view.overlay is not None:
            self.why_overlay = ImageTk.PhotoImage(view.overlay)
            self.why_item = self.canvas.create_image(int(guess.box[0]), int(guess.box[1]), anchor="nw",
                                                     image=self.why_overlay)

    def _focus(self):
        if self.selected is not None and self.selected < len(self.reading.guesses):
            return self.selected
        box = self.drawing.last_stroke_box() if self.opened is None else None
        return presentation.focus_index(self.reading.guesses, box)

    def _fit_number_font(self, text, pieces):
        measure_font = self.fonts["measure"]

        def measure(t, size):
            measure_font.configure(size=size)
            return measure_font.measure(t)

        room = self.panel_width - self.metrics.px(6) * max(pieces - 1, 0) - self.metrics.px(4)
        size = layout.fit_font_size(text, room, NUMBER_PT[0], NUMBER_PT[1], measure)
        if self.fonts["number"].cget("size") != size:
            self.fonts["number"].configure(size=size)

    def _show_preview(self, image):
        side = 28 * self.preview_zoom
        if image is None:
            self.preview.paste(Image.new("L", (side, side)))
            return
        pixels = (image[:, :, 0].clip(0, 1) * 255).astype("uint8")
        self.preview.paste(Image.fromarray(pixels, "L").resize((side, side), Image.Resampling.NEAREST))

    # -- misc -------------------------------------------------------------------

    def _model_status(self):
        return f"Model {self.predictor.describe()}"

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
