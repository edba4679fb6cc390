"""The drawing side of the window: the canvas, the hint and the tools under it (Clear, Undo, Open
image…, the brush). It turns mouse or pen input into strokes of an app.drawing.Drawing and shows the
very raster the model reads; what a change means for the reading is the window's (app.gui).

The canvas is the largest 4:3 raster its holder has room for (app.layout); the strokes scale with it.
"""

import tkinter as tk
from tkinter import ttk

from PIL import Image, ImageOps, ImageTk

from app import layout

BRUSH = (4, 60, 28)  # min, max, default width in pixels of the canvas at its base size (layout)
RESIZE_MS = 80  # the raster is redrawn once the window has stopped changing size
HINT = "Draw a digit or a whole number."


def clamp_brush(width):
    """A brush setting inside the slider's range, in whole pixels."""
    return min(max(int(width), BRUSH[0]), BRUSH[1])


def pen_width(brush, canvas_width):
    """The brush in raster pixels: the setting (pixels of the base canvas) scaled with the canvas."""
    return brush * canvas_width / layout.BASE_CANVAS[0]


def picture_on_canvas(image, size):
    """An opened picture as the canvas shows it: an "L" image of `size`, the picture fitted and centred."""
    shown = Image.new("L", size)
    fitted = ImageOps.contain(image.convert("RGBA"), size)
    # Mid grey under transparent parts keeps both dark and light ink visible.
    backed = Image.new("RGB", fitted.size, (128, 128, 128))
    backed.paste(fitted, (0, 0), fitted)
    shown.paste(backed.convert("L"), ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
    return shown


class DrawingPad:
    """The canvas and its tools in `parent`, for `window` (app.gui.DigitApp), whose Drawing it draws into."""

    def __init__(self, parent, window):
        self.window = window
        self.root = root = window.root
        self.drawing = window.drawing
        self._stroke_before = None  # the window's state before the stroke under the pen
        self._refresh_pending = None
        self._resize_pending = None

        # The holder takes whatever room the window gives; in it, the canvas is the largest 4:3
        # raster that leaves room for the hint and the tools right under it.
        self.holder = ttk.Frame(parent)
        self.holder.grid_propagate(False)
        left = ttk.Frame(self.holder)
        left.place(relx=0.5, rely=0.0, anchor="n")
        self.left = left
        self.canvas = tk.Canvas(left, bg="black", cursor="pencil", highlightthickness=0, borderwidth=0)
        self.canvas.grid(row=0, column=0)
        self.photo = ImageTk.PhotoImage("L", self.drawing.size, master=root)
        self.canvas_image = self.canvas.create_image(0, 0, anchor="nw", image=self.photo)
        self.hint = ttk.Label(left, text=HINT)
        self.hint.grid(row=1, column=0, sticky="w")

        tools = ttk.Frame(left)
        tools.grid(row=2, column=0, sticky="ew")
        self.tools = tools
        self.clear_button = ttk.Button(tools, text="Clear", width=6, command=window.clear)
        self.undo_button = ttk.Button(tools, text="Undo", width=6, command=window.undo)
        self.open_button = ttk.Button(tools, text="Open image…", command=window.open_image)
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

    def bind(self):
        self.canvas.bind("<ButtonPress-1>", self._press)
        self.canvas.bind("<B1-Motion>", self._drag)
        self.canvas.bind("<ButtonRelease-1>", self._release)
        self.holder.bind("<Configure>", self._holder_resized)

    # -- sizes --------------------------------------------------------------------

    def apply_sizes(self, px):
        """Paddings and lengths at the current scale; `px` turns 96-dpi pixels into screen pixels."""
        self.hint.grid_configure(pady=(px(6), px(4)))
        for column, button in enumerate((self.clear_button, self.undo_button, self.open_button)):
            button.grid_configure(padx=(px(6) if column else 0, 0))
        self.brush_title.grid_configure(padx=(px(8), px(4)))
        self.brush_scale.configure(length=px(90))

    def measure_tools(self):
        """With the canvas shrunk to nothing: remember the height and width of what is under it."""
        self.canvas.configure(width=1, height=1)
        self.root.update_idletasks()
        self.below = self.left.winfo_reqheight() - 1  # the hint and the tools
        self.tools_width = self.left.winfo_reqwidth()

    def set_room(self, size):
        """Ask for room for a canvas of `size` (w, h) and the tools under it."""
        self.holder.configure(width=max(size[0], self.tools_width), height=size[1] + self.below)

    # -- the brush ------------------------------------------------------------------

    @property
    def brush_width(self):
        """The brush setting, in pixels of the canvas at its base size."""
        return int(round(self.brush_var.get()))

    def pen_width(self):
        """The brush in raster pixels: the setting scaled with the canvas."""
        return pen_width(self.brush_width, self.drawing.size[0])

    def set_brush(self, width):
        width = clamp_brush(width)
        self.brush_var.set(width)
        self.brush_label.configure(text=str(width))

    # -- pen input ------------------------------------------------------------------

    def _press(self, event):
        window = self.window
        window.cancel_read(quiet=True)
        self._stroke_before = window._state()
        if window.opened is not None:
            window._set_opened(None)
        self.drawing.begin(event.x, event.y, self.pen_width())
        window.history.record(self._stroke_before)
        self.schedule_refresh()
        window._schedule_predict()

    def _drag(self, event):
        if self._stroke_before is None:  # the press happened elsewhere
            return
        if self.drawing.extend(event.x, event.y):
            self.schedule_refresh()
            self.window._schedule_predict()

    def _release(self, event):
        if self._stroke_before is None:
            return
        self._stroke_before = None
        self.drawing.extend(event.x, event.y)
        self.refresh()
        self.window.predict_now()

    # -- resizing -------------------------------------------------------------------

    def _holder_resized(self, event):
        if self._resize_pending is not None:
            self.root.after_cancel(self._resize_pending)
        size = layout.fit_canvas(event.width, event.height - self.below, minimum=(16, 12))
        if max(abs(size[0] - self.drawing.size[0]), abs(size[1] - self.drawing.size[1])) <= 2:
            return  # a pixel of rounding in the layout is not worth redrawing the strokes
        self._resize_pending = self.root.after(RESIZE_MS, self.resize_canvas, *size)

    def resize_canvas(self, width, height):
        """Make the canvas and its raster width x height; the strokes scale with it."""
        if self._resize_pending is not None:
            self.root.after_cancel(self._resize_pending)
            self._resize_pending = None
        if self._stroke_before is not None:  # never rescale under the pen: try again when it lifts
            self._resize_pending = self.root.after(RESIZE_MS, self.resize_canvas, width, height)
            return
        changed = (width, height) != self.drawing.size
        self.canvas.configure(width=width, height=height)
        if not changed and self.photo.width() == width:
            return
        self.drawing.resize(width, height)
        self.photo = ImageTk.PhotoImage("L", (width, height), master=self.root)
        self.canvas.itemconfigure(self.canvas_image, image=self.photo)
        self.refresh()
        self.window._trace(f"resized {width} {height}")
        if self.window.opened is None and not self.drawing.empty:
            self.window.predict_now()

    # -- the raster shown -------------------------------------------------------------

    def schedule_refresh(self):
        if self._refresh_pending is None:
            self._refresh_pending = self.root.after_idle(self.refresh)

    def refresh(self):
        """Show the drawing's raster, or the opened picture while one is shown."""
        if self._refresh_pending is not None:
            self.root.after_cancel(self._refresh_pending)
            self._refresh_pending = None
        opened = self.window.opened
        if opened is not None:
            self.photo.paste(picture_on_canvas(opened[1], self.drawing.size))
        else:
            self.photo.paste(Image.fromarray(self.drawing.pixels, "L"))

    def cancel_pending(self):
        """Nothing scheduled may run once the window is gone."""
        for pending in (self._refresh_pending, self._resize_pending):
            if pending is not None:
                self.root.after_cancel(pending)
        self._refresh_pending = self._resize_pending = None
