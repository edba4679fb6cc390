"""The File menu's files. Open…: a picture is read on a worker thread (app.background) while the
window stays responsive, shows that it is busy (cursor, progress bar, status line) and lets Esc
cancel. Save drawing as PNG…: the raster the model reads, written atomically (app.drawing).

A failure is a dialog naming the file, never a dead window. What a read picture does to the window
(undo history, the canvas, the answer) is the window's (app.gui.DigitApp.show_picture).
"""

import gc
import os
import time
import tkinter as tk
from tkinter import filedialog, messagebox, ttk

from app import presentation, recognize
from app.background import BackgroundCall
from app.image_files import load_image

POLL_MS = 40  # how often the window looks whether a picture has been read
IMAGE_TYPES = [
    ("Images", "*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp"),
    ("All files", "*"),
]


def read_file(predictor, path):
    """What the worker thread does for Open…: load the picture and read it."""
    image = load_image(path)
    return image, recognize.read(predictor, image)


def file_name(path):
    """The name shown for a path in the status line and dialogs."""
    return os.path.basename(str(path))


def save_name(reading):
    """The file name Save drawing as PNG… suggests: the number read, else 'drawing'."""
    return f"{(reading.number or 'drawing') if reading.guesses else 'drawing'}.png"


class PictureFiles:
    """Opens pictures for `window` (app.gui.DigitApp) and saves its drawing; the progress bar shown
    while a picture is read goes in `status_bar`."""

    def __init__(self, window, status_bar):
        self.window = window
        self.root = window.root
        self.job = None  # (BackgroundCall, path) while a picture is being read
        self._poll_pending = None
        self.progress = ttk.Progressbar(status_bar, mode="indeterminate")

    @property
    def busy(self):
        return self.job is not None

    def open(self, path, read):
        """Start read(predictor, path) on a worker thread (asks for a file if `path` is None)."""
        window = self.window
        if path is None:
            path = filedialog.askopenfilename(parent=self.root, title="Open an image of a digit",
                                              initialdir=window.folder, filetypes=IMAGE_TYPES)
            if not path:
                return
        window.folder = os.path.dirname(os.path.abspath(path))
        self.cancel(quiet=True)
        # Tk objects in garbage cycles (a closed dialog's images, variables) must be freed on this
        # thread: freed by a collection on the worker, each would wait on the Tcl interpreter.
        gc.collect()
        self.job = (BackgroundCall(read, window.predictor, path), path)
        self._busy(True, f"Reading {file_name(path)}…  Esc cancels")
        window._trace(f"reading {path}")
        self._poll_pending = self.root.after(POLL_MS, self._poll)

    def wait(self, timeout=30.0):
        """Process events until the picture being read is shown (for tests and scripts); True if done."""
        deadline = time.monotonic() + timeout
        while self.job is not None and time.monotonic() < deadline:
            self.root.update()
            time.sleep(0.005)
        self.root.update()
        return self.job is None

    def cancel(self, quiet=False):
        """Stop waiting for the picture being read; its result, when it comes, is ignored."""
        if self.job is None:
            return
        path = self.job[1]
        self.job = None
        if self._poll_pending is not None:
            self.root.after_cancel(self._poll_pending)
            self._poll_pending = None
        self._busy(False, None if quiet else f"Cancelled reading {file_name(path)}.")
        self.window._trace("cancelled")

    def _poll(self):
        self._poll_pending = None
        if self.job is None:
            return
        call, path = self.job
        if not call.done:
            self._poll_pending = self.root.after(POLL_MS, self._poll)
            return
        self.job = None
        name = file_name(path)
        try:
            image, reading = call.result()
        except Exception as exc:  # every failure of a picture is a dialog, never a dead window
            self._busy(False, f"Could not open {name}")
            self.window._trace(f"open failed: {presentation.error_reason(exc, path)}")
            messagebox.showerror("Cannot open image", f"Cannot open {name}",
                                 detail=presentation.error_reason(exc, path), parent=self.root)
            return
        self._busy(False, None)
        self.window.show_picture(path, image, reading)

    def _busy(self, busy, message):
        cursor = "watch" if busy else ""
        self.root.configure(cursor=cursor)
        self.window.canvas.configure(cursor=cursor or "pencil")
        if busy:
            self.progress.grid(row=0, column=1, padx=(0, self.window.metrics.px(8)))
            self.progress.start(15)
        else:
            self.progress.stop()
            self.progress.grid_remove()
        if message is not None:
            self.window.status_var.set(message)

    def save(self, path=None):
        """Write the drawing as a PNG, white ink on black like the canvas (asks where if `path` is None)."""
        window = self.window
        if window.drawing.empty:
            self.root.bell()
            window.status_var.set("Nothing drawn to save.")
            return None
        if path is None:
            path = filedialog.asksaveasfilename(
                parent=self.root, title="Save drawing as PNG", initialdir=window.folder,
                initialfile=save_name(window.reading), defaultextension=".png", filetypes=[("PNG image", "*.png")])
            if not path:
                return None
        window.folder = os.path.dirname(os.path.abspath(path))
        try:
            window.drawing.save_png(path)
        except (OSError, ValueError) as exc:
            messagebox.showerror("Cannot save drawing", f"Cannot save {file_name(path)}",
                                 detail=presentation.error_reason(exc, path), parent=self.root)
            window.status_var.set(f"Could not save {file_name(path)}")
            return None
        window.status_var.set(f"Saved {file_name(path)}.  {window._model_status()}")
        window._trace(f"saved {path}")
        return path

    def stop(self):
        """The window is going: drop the job and stop the progress bar and the polling."""
        self.job = None
        try:
            self.progress.stop()
        except tk.TclError:
            pass  # already gone with its parent
        if self._poll_pending is not None:
            self.root.after_cancel(self._poll_pending)
            self._poll_pending = None
