"""The answer side of the window: the recognised number, the line under it, the probability bars,
and what the network sees (or, with View > Why?, the ink for and against the digit in focus).

Texts and choices come from app.presentation, the why-view from app.explain; the number and the
bars are drawn by app.views. The window (app.gui) says which reading and which piece to show.
"""

import tkinter as tk
from tkinter import font, ttk

from PIL import Image, ImageTk

from app import explain, layout, presentation
from app.views import BarsView, NumberView

NUMBER_PT = (40, 12)  # largest and smallest size of the recognised number, in points
PREVIEW_ZOOM = 3  # screen pixels per model-input pixel at scale 1
PREVIEW_TITLE = "What the network sees"


def make_fonts(root):
    """The window's named fonts, in points (Tk scales them with the desktop)."""
    base = font.nametofont("TkDefaultFont").actual("family")
    return {
        "number": font.Font(root, family=base, size=NUMBER_PT[0], weight="bold"),
        "message": font.Font(root, family=base, size=NUMBER_PT[0] // 2, weight="bold"),
        "measure": font.Font(root, family=base, size=NUMBER_PT[0], weight="bold"),  # never shown
        "title": font.Font(root, family=base, size=10, weight="bold"),
        "bar": font.Font(root, family=base, size=9),
        "bar label": font.Font(root, family=base, size=9, weight="bold"),
    }


def preview_zoom(scale):
    """Screen pixels per model-input pixel in the preview at `scale` (app.layout.Metrics.scale)."""
    return max(1, round(PREVIEW_ZOOM * scale))


def preview_pixels(image):
    """The model's input (28, 28, 1) floats in [0, 1] as uint8 grey levels (28, 28)."""
    return (image[:, :, 0].clip(0, 1) * 255).astype("uint8")


class AnswerPanel:
    """The answer's widgets in `parent` for `window` (app.gui.DigitApp); the why-overlay goes on `canvas`."""

    def __init__(self, parent, window, canvas, fonts, background):
        self.window = window
        self.root = window.root
        self.canvas = canvas
        self.fonts = fonts
        self.why_var = tk.BooleanVar(self.root, value=False)
        self.why_photo = self.why_item = self.why_overlay = None
        self.preview = None

        right = ttk.Frame(parent)
        self.right = right
        self.recognised_title = ttk.Label(right, text="Recognised", font=fonts["title"])
        self.recognised_title.grid(row=0, column=0, sticky="w")
        self.number_var = tk.StringVar()  # the answer as text; the view draws it
        self.number_view = NumberView(right, window.pick, background)
        self.number_view.canvas.grid(row=1, column=0, sticky="w")
        self.detail_box = ttk.Frame(right)
        self.detail_box.grid(row=2, column=0, sticky="nw")
        self.detail_box.grid_propagate(False)
        self.detail_var = tk.StringVar()
        self.detail_label = ttk.Label(self.detail_box, textvariable=self.detail_var, justify="left")
        self.detail_label.grid(row=0, column=0, sticky="nw")
        self.bars_title = tk.StringVar()
        self.bars_title_label = ttk.Label(right, textvariable=self.bars_title, font=fonts["title"])
        self.bars_title_label.grid(row=3, column=0, sticky="w")
        self.bars = BarsView(right, background)
        self.bars.canvas.grid(row=4, column=0, sticky="w")
        self.preview_title = ttk.Label(right, text=PREVIEW_TITLE, font=fonts["title"])
        self.preview_title.grid(row=5, column=0, sticky="w")
        self.preview_label = tk.Label(right, borderwidth=1, relief="solid")
        self.preview_label.grid(row=6, column=0, sticky="w")

    def apply_sizes(self, metrics, labels):
        """Sizes at `metrics` (app.layout.Metrics) for a model with `labels`."""
        px = metrics.px
        self.right.configure(padding=(px(16), 0, 0, 0))
        bars_width = self.bars.layout(labels, self.fonts["bar label"], self.fonts["bar"], px)
        title_width = self.fonts["title"].measure(presentation.counted_title(9, 10))
        panel = max(px(250), bars_width, title_width)
        self.panel_width = panel
        self.metrics = metrics
        number_height = self.fonts["number"].metrics("linespace") + px(8)
        self.number_view.configure(panel, number_height, gap=px(6), underline=px(4))
        line = font.nametofont("TkDefaultFont").metrics("linespace")
        self.detail_label.configure(wraplength=panel)
        self.detail_box.configure(width=panel, height=2 * line + px(2))
        for title in (self.bars_title_label, self.preview_title):
            title.grid_configure(pady=(px(8), px(2)))
        self.preview_zoom = preview_zoom(metrics.scale)
        side = 28 * self.preview_zoom
        self.preview = ImageTk.PhotoImage("L", (side, side), master=self.root)
        self.preview_label.configure(image=self.preview)
        self.show_preview(None)  # a Pillow photo has no size until something is pasted

    def show(self, reading, focus, empty, pixels):
        """Show `reading` with piece `focus` in the bars; `empty`: nothing drawn or opened; `pixels`:
        the drawing's raster for the why-overlay (None while a picture is shown)."""
        guesses = reading.guesses
        labels = self.window.predictor.labels
        self.number_var.set(presentation.number_text(reading))
        self.detail_var.set(presentation.detail(reading, labels, empty))
        if not guesses or presentation.nothing_but_marks(reading):
            message = None if guesses else "–"
            self.number_view.show([], False, self.fonts["number"], None,
                                  message=message or "Not a digit", message_font=self.fonts["message"])
        if guesses and not presentation.nothing_but_marks(reading):
            items = presentation.number_items(reading)
            self._fit_number_font("".join(t for t, _ in items) + ("" if reading.sure else "?"), len(items))
            self.number_view.show(items, not reading.sure, self.fonts["number"], focus)
        self.bars_title.set(presentation.bars_title(guesses, focus))
        self.bars.show(guesses[focus] if guesses else None)
        self.show_preview(guesses[focus].image if guesses else None)
        self.show_why(guesses[focus] if guesses else None, pixels)

    def show_why(self, guess, pixels):
        """Overlay the ink for and against the digit in focus (canvas) and its runner-up (preview)."""
        if self.why_item is not None:
            self.canvas.delete(self.why_item)
            self.why_item = None
        if not self.why_var.get() or guess is None or not guess.probabilities.any():
            self.preview_label.configure(image=self.preview)
            self.preview_title.configure(text=PREVIEW_TITLE)
            return
        view = explain.why_view(self.window.predictor, guess, pixels, zoom=self.preview_zoom)
        self.why_photo = ImageTk.PhotoImage(view.preview)
        self.preview_label.configure(image=self.why_photo)
        self.preview_title.configure(text=view.title)
        if view.overlay is not None:
            self.why_overlay = ImageTk.PhotoImage(view.overlay)
            self.why_item = self.canvas.create_image(int(guess.box[0]), int(guess.box[1]), anchor="nw",
                                                     image=self.why_overlay)

    def show_preview(self, image):
        side = 28 * self.preview_zoom
        if image is None:
            self.preview.paste(Image.new("L", (side, side)))
            return
        self.preview.paste(Image.fromarray(preview_pixels(image), "L").resize((side, side), Image.Resampling.NEAREST))

    def _fit_number_font(self, text, pieces):
        measure_font = self.fonts["measure"]

        def measure(t, size):
            measure_font.configure(size=size)
            return measure_font.measure(t)

        px = self.metrics.px
        room = self.panel_width - px(6) * max(pieces - 1, 0) - px(4)
        size = layout.fit_font_size(text, room, NUMBER_PT[0], NUMBER_PT[1], measure)
        if self.fonts["number"].cget("size") != size:
            self.fonts["number"].configure(size=size)
