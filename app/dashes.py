"""A dash among digits, a minus sign ("-5") or a hyphen ("555-1234"): one rule for strokes and pictures.

Judged on boxes of the pen's path (a drawing's stroke points; a picture's ink shrunk by half its pen
width), so a thick pen does not make a dash look like a blob. Whether a dash stands where one may (a
digit after it, nothing but a digit before it) is app.recognize's to say, once the digits are read.
"""

FLAT = 0.35  # a dash is at most this share of its width tall ...
SHORT, LONG = 0.15, 1.2  # ... this share of the line's digit height wide at least and at most ...
APART = 0.2  # ... shares at most this share of its width with the digits beside it (and stands clear of one) ...
MIDDLE = 0.2  # ... and its middle lies at least this share of their height below their top and above their bottom


def is_dash(box, before, after, line):
    """Whether `box` (x0, y0, x1, y1) is a dash between the digits whose boxes are `before` (None at
    the start of a line) and `after`, on a line of digits `line` tall."""
    x0, y0, x1, y1 = box
    width = x1 - x0
    if after is None or y1 - y0 > FLAT * width or not SHORT * line <= width <= LONG * line:
        return False
    middle = (y0 + y1) / 2
    if before is not None and all(min(x1, o[2]) > max(x0, o[0]) for o in (before, after)):
        return False  # a bar reaching over the strokes on both sides: an H's, no hyphen
    for other in (before, after):
        if other is None:
            continue
        if min(x1, other[2]) - max(x0, other[0]) > APART * width or x0 <= other[0] <= other[2] <= x1:
            return False  # over a digit's span, or across a 1: a bar (a 7's, a 4's), no dash
        if not in_the_middle(middle, other):
            return False
    return True


def in_the_middle(y, box):
    """Whether height `y` lies in the middle of `box`: MIDDLE of its height below its top and above its bottom."""
    margin = MIDDLE * (box[3] - box[1])
    return box[1] + margin <= y <= box[3] - margin
