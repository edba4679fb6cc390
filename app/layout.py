"""Sizes of the window, all derived from the desktop's scaling; pure, so tested without a display.

One number, `scale`, says how many screen pixels a 96-dpi pixel becomes (1.0 at 96 dpi, 2.0 at
192 dpi). Fonts are given in points and Tk scales them itself; every size given in pixels goes
through `Metrics.px`, so fonts and pixel sizes grow together.
"""

BASE_DPI = 96.0
SCALE_RANGE = (0.5, 4.0)
BASE_CANVAS = (560, 420)  # the canvas at scale 1; its aspect ratio is kept when it grows
MIN_CANVAS = (280, 210)
SCREEN_SHARE = 0.9  # the first window takes at most this share of the screen each way


def ui_scale(pixels_per_inch, zoom=1.0):
    """The scale for a display of `pixels_per_inch` (Tk: winfo_fpixels('1i')), times a user zoom."""
    scale = float(pixels_per_inch) / BASE_DPI * float(zoom)
    return min(max(scale, SCALE_RANGE[0]), SCALE_RANGE[1])


class Metrics:
    """Pixel sizes at one scale: `px(n)` is n pixels of a 96-dpi design."""

    def __init__(self, scale):
        self.scale = float(scale)

    def px(self, n):
        return max(1, round(n * self.scale))

    @property
    def canvas(self):
        return tuple(self.px(n) for n in BASE_CANVAS)

    @property
    def min_canvas(self):
        return tuple(self.px(n) for n in MIN_CANVAS)


def fit_canvas(width, height, minimum=(1, 1), aspect=BASE_CANVAS):
    """The largest (w, h) with the canvas' aspect ratio inside width x height, at least `minimum`."""
    factor = min(width / aspect[0], height / aspect[1])
    w, h = int(aspect[0] * factor), int(aspect[1] * factor)
    if w < minimum[0] or h < minimum[1]:
        return tuple(minimum)
    return (w, h)


def fill_height(canvas, height, aspect=BASE_CANVAS):
    """`canvas` (w, h) grown, keeping the aspect ratio, to `height` if that is taller."""
    if height <= canvas[1]:
        return tuple(canvas)
    return (int(height * aspect[0] / aspect[1]), int(height))


def fit_to_screen(canvas, window, screen, minimum=(1, 1), share=SCREEN_SHARE):
    """Shrink `canvas` (w, h) so that a `window` of that canvas fits in `share` of the `screen`.

    Everything in the window but the canvas keeps its size; the canvas keeps its aspect ratio
    and never goes below `minimum` (the window may then be cut off by a tiny screen).
    """
    room_w = screen[0] * share - (window[0] - canvas[0])
    room_h = screen[1] * share - (window[1] - canvas[1])
    if room_w >= canvas[0] and room_h >= canvas[1]:
        return tuple(canvas)
    return fit_canvas(min(room_w, canvas[0]), min(room_h, canvas[1]), minimum, aspect=canvas)


def fit_font_size(text, width, largest, smallest, measure):
    """The largest font size from `largest` down to `smallest` at which measure(text, size) <= width."""
    size = largest
    while size > smallest and measure(text, size) > width:
        size -= 1
    return size


def boxes_overlap(a, b):
    """True if two (x0, y0, x1, y1) boxes share any area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
