"""The window's sizes at the desktop's scaling times the user's zoom (View > Zoom in / Zoom out /
Actual size). The numbers come from app.layout; this module hands them to the window's parts and
sizes the window itself: the canvas at its design size, as tall as the answer panel, on the screen.
"""

from tkinter import font

from app import layout
from app.layout import Metrics

ZOOM_STEPS = (0.75, 1.0, 1.25, 1.5, 2.0)


def next_zoom(zoom, step, steps=ZOOM_STEPS):
    """The zoom `step` places along `steps` from the one nearest `zoom`, kept inside them."""
    here = min(range(len(steps)), key=lambda i: abs(steps[i] - zoom))
    return steps[min(max(here + step, 0), len(steps) - 1)]


def too_big(minimum, screen):
    """True if a window that cannot be smaller than `minimum` (w, h) does not fit on `screen` (w, h)."""
    return minimum[0] > screen[0] or minimum[1] > screen[1]


def apply_sizes(window, first=False):
    """Give every widget of `window` (app.gui.DigitApp) its size at its scale; `first`: also size the
    window (later, it takes its new natural size)."""
    root, m, px, pad = window.root, window.metrics, window.metrics.px, window.pad
    window.main.configure(padding=px(10))
    pad.apply_sizes(px)
    window.panel.apply_sizes(m, window.predictor.labels)
    window.status.configure(padding=(px(12), px(3)))
    window.progress.configure(length=px(120))

    # The window's own size: the canvas at its design size, as tall as the answer panel beside
    # it (no empty band under it), shrunk if the screen is small.
    pad.measure_tools()
    pad.set_room(m.min_canvas)
    root.update_idletasks()
    root.minsize(root.winfo_reqwidth(), root.winfo_reqheight())
    size = layout.fill_height(m.canvas, window.panel.right.winfo_reqheight() - pad.below)
    pad.set_room(size)
    root.update_idletasks()
    screen = (root.winfo_screenwidth(), root.winfo_screenheight())
    size = layout.fit_to_screen(size, (root.winfo_reqwidth(), root.winfo_reqheight()), screen,
                                minimum=m.min_canvas)
    pad.set_room(size)
    if not first:
        root.geometry("")  # let the window take its new natural size
    pad.resize_canvas(*size)
    if window.reading is not None and not first:
        window.show(window.reading, keep_selection=True)


def scale_to(window, zoom):
    """Put `window` at `zoom` times the desktop's scaling: Tk's scaling, the fonts, every size."""
    root = window.root
    window.zoom = zoom
    root.tk.call("tk", "scaling", window.desktop_tk_scaling * zoom)
    window.metrics = Metrics(layout.ui_scale(window.desktop_ppi, zoom))
    for name in font.names(root):  # fonts are in points: re-measure them at the new scaling
        named = font.nametofont(name, root=root)
        named.configure(size=named.cget("size"))
    apply_sizes(window)


def set_zoom(window, zoom):
    """Scale `window` by `zoom`; False (and a bell) if its smallest size would not fit on the screen."""
    before = window.zoom
    scale_to(window, zoom)
    root = window.root
    if zoom > before and too_big(root.minsize(), (root.winfo_screenwidth(), root.winfo_screenheight())):
        scale_to(window, before)
        root.bell()
        return False
    return True
