"""Edit > Correct this digit… (a pop-up of the model's labels) and Edit > Corrections: N kept —
Forget all…: the window's side of app.corrections. Keeping, adapting and forgetting are
app.corrections.Memory's (and app.adapt's); this module only asks and tells.
"""

import tkinter as tk
from tkinter import messagebox

from app import corrections, recognize
from app.presentation import count_of


def forget_question(count):
    """What Forget all… asks before deleting `count` corrections."""
    return f"Forget {count_of(count, 'correction')} and the readings kept with them?"


def forgot_message(count):
    """The status line once `count` corrections are forgotten."""
    return f"Forgot {count_of(count, 'correction')}."


class CorrectionMenu:
    """Corrections for `window` (app.gui.DigitApp), whose `memory` is an app.corrections.Memory."""

    def __init__(self, window):
        self.window = window
        self.root = window.root
        self.memory = window.memory

    def guess_in_focus(self):
        """The guess of the digit in focus, or None (nothing read, a decimal point or a dash)."""
        window = self.window
        guesses = window.reading.guesses
        guess = guesses[window._focus()] if guesses else None
        return guess if guess is not None and guess.label not in recognize.SEPARATORS else None

    def ask(self):
        """Pop up the labels to pick the right one for the digit in focus (Ctrl+K)."""
        if not self.memory.enabled or self.guess_in_focus() is None:
            self.root.bell()
            return None
        menu = tk.Menu(self.root, tearoff=False)
        for label in self.window.predictor.labels:
            menu.add_command(label=label, command=lambda c=label: self.window.correct(c))
        canvas = self.window.number_view.canvas
        menu.tk_popup(canvas.winfo_rootx(), canvas.winfo_rooty())
        return menu

    def correct(self, label):
        """Keep the digit in focus as `label` and read again with the adaptation."""
        window = self.window
        guess = self.guess_in_focus()
        if guess is None or not self.memory.enabled:
            self.root.bell()
            return
        strokes = corrections.strokes_of(window.drawing.strokes, guess.box) if window.opened is None else ()
        if not self.keep(lambda: self.memory.correct(guess, label, strokes)):
            return
        window._trace(f"corrected {guess.label} -> {label}")
        self._show_count(self.memory.count())
        if window.opened is None:
            window.predict_now()
        window.status_var.set(f"Kept as {label} (read as {guess.label}); {self.memory.status}.  "
                              + window._model_status())

    def forget_all(self):
        window = self.window
        count = self.memory.count()
        if not messagebox.askyesno("Forget corrections", forget_question(count), parent=self.root):
            return
        self.keep(self.memory.forget_all)
        self._show_count(0)
        window.status_var.set(f"{forgot_message(count)}  " + window._model_status())
        if window.opened is None:
            window.predict_now()

    def keep(self, action):
        """Run a change to the kept corrections; a folder that cannot be written is a status line."""
        try:
            return action() or True
        except OSError as exc:
            self.window.status_var.set(f"Cannot keep corrections in {self.memory.store.folder}: "
                                       f"{exc.strerror or exc}")
            return False

    def _show_count(self, count):
        window = self.window
        window.menus["Edit"].entryconfigure(window.corrections_entry, label=corrections.menu_label(count))
