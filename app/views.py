"""The answer's widgets: the number with clickable digits, the probability bars, the About box.

Each view owns one Tk canvas or window and is told its sizes by the window (app.layout), so
that everything follows the desktop's scaling. Texts come from app.presentation.
"""

import tkinter as tk
from tkinter import ttk

import numpy as np

from app import presentation

ACCENT = "#2a7ae2"
UNSURE = "#c07000"
MUTED = "#8a8a8a"
INK = "#1a1a1a"
KIND_COLOURS = {"sure": INK, "unsure": UNSURE, "none": MUTED}


class NumberView:
    """The recognised number, one canvas item per piece; clicking one calls on_pick(index)."""

    def __init__(self, parent, on_pick, background):
        self.canvas = tk.Canvas(parent, highlightthickness=0, borderwidth=0, bg=background)
        self.on_pick = on_pick
        self.items = []  # canvas item of each piece, in reading order

    def configure(self, width, height, gap, underline):
        self.width, self.height, self.gap, self.underline = width, height, gap, underline
        self.canvas.configure(width=width, height=height)

    def show(self, items, unsure, font, selected, message=None, message_font=None):
        """Draw `items` [(text, kind)] centred in `font`, underlining `selected`; or a grey `message`."""
        c = self.canvas
        c.delete("all")
        self.items = []
        if message is not None:
            c.create_text(self.width / 2, self.height / 2, text=message, fill=MUTED,
                          font=message_font or font, tags=("message",))
            return
        widths = [font.measure(text) for text, _ in items]
        mark = "?" if unsure else ""
        total = sum(widths) + self.gap * (len(items) - 1) + font.measure(mark)
        x = (self.width - total) / 2
        y = self.height / 2
        for i, ((text, kind), w) in enumerate(zip(items, widths)):
            tag = f"piece{i}"
            item = c.create_text(x, y, text=text, anchor="w", font=font, fill=KIND_COLOURS[kind],
                                 tags=("piece", tag))
            c.tag_bind(tag, "<ButtonRelease-1>", lambda _e, i=i: self.on_pick(i))
            if len(items) > 1 and i == selected:
                bottom = self.height - self.underline
                c.create_rectangle(x, bottom, x + w, self.height, fill=ACCENT, outline="", tags=("selected",))
            self.items.append(item)
            x += w + self.gap
        if mark:
            c.create_text(x - self.gap + font.measure(" ") // 4, y, text=mark, anchor="w", font=font,
                          fill=UNSURE, tags=("mark",))
        c.tag_bind("piece", "<Enter>", lambda _e: c.configure(cursor="hand2"))
        c.tag_bind("piece", "<Leave>", lambda _e: c.configure(cursor=""))

    def pick_point(self, index):
        """Canvas (x, y) in the middle of piece `index` (where a click picks it)."""
        x0, y0, x1, y1 = self.canvas.bbox(self.items[index])
        return (x0 + x1) // 2, (y0 + y1) // 2


class BarsView:
    """One bar per class: its label, a bar, and the percentage, in rows of equal height."""

    def __init__(self, parent, background):
        self.canvas = tk.Canvas(parent, highlightthickness=0, borderwidth=0, bg=background)
        self.rows = []  # (label item, frame item, bar item, percent item) per class

    def layout(self, labels, label_font, bar_font, px):
        """Build the rows for `labels`; `px` turns 96-dpi pixels into screen pixels."""
        c = self.canvas
        c.delete("all")
        names = presentation.bar_labels(labels)
        label_w = max(label_font.measure(n) for n in names) + px(2)  # a margin: text boxes bleed a pixel
        percent_w = bar_font.measure("100%")
        row = max(label_font.metrics("linespace"), bar_font.metrics("linespace")) + px(3)
        self.bar_x = label_w + px(8)
        self.bar_length = px(150)
        self.row_height = row
        width = self.bar_x + self.bar_length + px(8) + percent_w + px(2)
        c.configure(width=width, height=len(names) * row + px(4))
        self.rows = []
        inner = max(px(2), (row - bar_font.metrics("linespace")) // 2)
        for i, name in enumerate(names):
            top = px(2) + i * row
            middle = top + row / 2
            label = c.create_text(label_w, middle, text=name, anchor="e", font=label_font, tags=("label",))
            frame = c.create_rectangle(self.bar_x, top + inner, self.bar_x + self.bar_length,
                                       top + row - inner, outline="#bbb", fill="#f4f4f4", tags=("frame",))
            bar = c.create_rectangle(self.bar_x, top + inner, self.bar_x, top + row - inner,
                                     outline="", fill="#999", tags=("bar",))
            text = c.create_text(self.bar_x + self.bar_length + px(8), middle, anchor="w", font=bar_font,
                                 tags=("percent",))
            self.rows.append((label, frame, bar, text))
        return width

    def show(self, guess):
        """Bars for one guess (None: all empty); the best is coloured by how sure it is."""
        best = int(np.argmax(guess.probabilities)) if guess is not None else -1
        for i, (_label, frame, bar, text) in enumerate(self.rows):
            p = float(guess.probabilities[i]) if guess is not None and i < len(guess.probabilities) else 0.0
            x0, y0, _x1, y1 = self.canvas.coords(frame)
            self.canvas.coords(bar, x0, y0, x0 + round(p * self.bar_length), y1)
            colour = "#999"
            if i == best:
                colour = MUTED if presentation.is_not_digit(guess) else (ACCENT if guess.sure else UNSURE)
            self.canvas.itemconfigure(bar, fill=colour)
            self.canvas.itemconfigure(text, text=presentation.percent(p) if guess is not None else "")

    def lengths(self):
        """The drawn length of each bar, in pixels (what the user compares)."""
        return [self.canvas.coords(bar)[2] - self.canvas.coords(bar)[0] for _l, _f, bar, _t in self.rows]


class AboutBox:
    """Help > About: the model card (app.model_card) in a small dialog window."""

    def __init__(self, root, title, card, icon, px, wrap):
        self.window = tk.Toplevel(root)
        self.window.title(f"About {title}")
        self.window.transient(root)
        self.window.resizable(False, False)
        frame = ttk.Frame(self.window, padding=px(16))
        frame.grid(sticky="nsew")
        if icon is not None:
            ttk.Label(frame, image=icon).grid(row=0, column=0, rowspan=len(card) + 1, sticky="n",
                                              padx=(0, px(16)))
        ttk.Label(frame, text=title, font="TkHeadingFont").grid(row=0, column=1, columnspan=2, sticky="w",
                                                                pady=(0, px(8)))
        self.fields = {}
        for row, (name, value) in enumerate(card, start=1):
            ttk.Label(frame, text=name + ":").grid(row=row, column=1, sticky="nw", padx=(0, px(8)))
            shown = ttk.Label(frame, text=value, wraplength=wrap, justify="left")
            shown.grid(row=row, column=2, sticky="w")
            self.fields[name] = shown
        close = ttk.Button(frame, text="Close", command=self.close)
        close.grid(row=len(card) + 1, column=2, sticky="e", pady=(px(12), 0))
        self.window.bind("<Escape>", lambda _e: self.close())
        self.window.bind("<Return>", lambda _e: self.close())
        close.focus_set()
        # Over the middle of the main window, where the eye is (not wherever the WM puts it).
        self.window.update_idletasks()
        x = root.winfo_rootx() + (root.winfo_width() - self.window.winfo_reqwidth()) // 2
        y = root.winfo_rooty() + (root.winfo_height() - self.window.winfo_reqheight()) // 3
        self.window.geometry(f"+{max(x, 0)}+{max(y, 0)}")

    def text(self):
        """Everything the box says, one 'name: value' per line."""
        return "\n".join(f"{name}: {label.cget('text')}" for name, label in self.fields.items())

    def close(self):
        self.window.destroy()
