"""What the window says: texts and choices made from a Reading, kept apart from the widgets.

Pure functions (no Tk), so the wording and the rules are tested without a display. A guess is
read only through label, confidence, probabilities, box and sure (app.recognize).
"""

import os
from pathlib import Path

from app.predictor import NOT_A_DIGIT
from app.recognize import SEPARATORS
NOT_A_DIGIT_MARK = "\u00d7"  # stands for such a piece inside a number; in every font


def is_not_digit(guess):
    return guess.label == NOT_A_DIGIT


def bar_labels(labels):
    """Short names for the probability bars: the digits, and "none" for "not a digit"."""
    return ["none" if label == NOT_A_DIGIT else str(label) for label in labels]


def percent(p):
    """Whole percent, rounded down: 99.96% is not yet 100% sure."""
    return f"{int(p * 100)}%"


def count_of(n, noun, plural=None):
    """`n` and `noun` in the number that agrees with it: '1 digit', '2 digits', '0 marks'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def confidence(reading):
    """The weakest piece's confidence, 0 for an empty reading."""
    return min((g.confidence for g in reading.guesses), default=0.0)


def number_items(reading):
    """[(text, kind), ...] to show, one per guess; kind is "sure", "unsure" or "none"."""
    items = []
    for guess in reading.guesses:
        if is_not_digit(guess):
            items.append((NOT_A_DIGIT_MARK, "none"))
        else:
            items.append((guess.label, "sure" if guess.sure else "unsure"))
    return items


def nothing_but_marks(reading):
    """True when pieces were found and none of them is a digit: show "Not a digit"."""
    return bool(reading.guesses) and all(is_not_digit(g) for g in reading.guesses)


def number_text(reading):
    """The answer in one string: '42', '42?' when unsure, 'Not a digit', or '–' for nothing."""
    if not reading.guesses:
        return "–"
    if nothing_but_marks(reading):
        return "Not a digit"
    return reading.number + ("" if reading.sure else "?")


def detail(reading, labels, empty_canvas):
    """The line under the number: how sure, or what is unclear."""
    guesses = reading.guesses
    if not guesses:
        return "Nothing drawn yet." if empty_canvas else "No digit found."
    if len(guesses) == 1:
        g = guesses[0]
        if is_not_digit(g):
            return f"Not a digit ({percent(g.confidence)} sure)"
        if g.sure:
            return f"{percent(g.confidence)} sure"
        return f"Not sure: maybe {g.label} ({percent(g.confidence)}), or {runner_up(g, labels)}"
    marks = sum(is_not_digit(g) for g in guesses)
    digits = sum(g.label not in SEPARATORS for g in guesses) - marks  # "-3.14" holds 3 digits
    unclear = unclear_digits(guesses)
    if marks:
        verb = "is" if marks == 1 else "are"
        counted = f"{count_of(digits, 'digit')} and {count_of(marks, 'mark')} that {verb} not a digit"
        return counted + (f"; digit {unclear} unclear" if unclear else "")
    if reading.sure:
        least = percent(confidence(reading))
        each = "each 100% sure" if least == "100%" else f"each at least {least} sure"  # not "at least 100%"
        return f"{count_of(digits, 'digit')}, {each}. Click one to see its scores."
    return f"Not sure: maybe {reading.number} (digit {unclear} unclear)"


def unclear_digits(guesses):
    """'2' or '1, 3': the places of the digits not sure, counted as the bars' titles count ("-3.14": 3
    digits; a mark that is no digit has a place, as it has bars), '' when every digit is sure."""
    return ", ".join(str(k + 1) for k, i in enumerate(scored(guesses))
                     if guesses[i].is_digit and not guesses[i].sure)


def runner_up(guess, labels):
    """The most likely label of a guess other than its own (`Guess.runner_up`), as `labels` (the
    display's, in the model's order) name it."""
    if len(guess.probabilities) < 2:
        return ""
    return str(labels[list(guess.labels).index(guess.runner_up)])


def scored(guesses):
    """Indices of the pieces with scores of their own: all but decimal points and dashes."""
    return [i for i, g in enumerate(guesses) if g.label not in SEPARATORS]


def bars_title(guesses, index):
    """The bars' title for piece `index`, counted among the pieces with scores ("-42": digit 2 of 2)."""
    among = scored(guesses)
    return counted_title(among.index(index), len(among)) if index in among else "Probabilities"


def counted_title(position, count):
    return f"Probabilities for digit {position + 1} of {count}" if count > 1 else "Probabilities"


def focus_index(guesses, newest_stroke_box):
    """The piece whose bars to show: the one under the newest stroke, else the least certain one.

    A decimal point or a dash has no scores of its own, so the nearest piece that has them is shown instead.
    """
    among = scored(guesses) or list(range(len(guesses)))
    if newest_stroke_box is None or len(among) == 1:
        return min(among, key=lambda i: guesses[i].confidence)
    middle = (newest_stroke_box[0] + newest_stroke_box[2]) / 2
    return min(among, key=lambda i: abs((guesses[i].box[0] + guesses[i].box[2]) / 2 - middle))


def error_reason(exc, path):
    """The reason of a failed read without the path the message may start with (shown apart)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    name = os.path.basename(str(path))
    head, sep, rest = text.partition(": ")
    if sep and name and name in head:
        text = rest
    if not isinstance(exc, ValueError):  # not the reader's own message: say what kind of failure
        text = f"{type(exc).__name__}: {text}"
    return text


def initial_folder(home=None):
    """Where file dialogs start: the user's Pictures folder if there is one, else home."""
    home = Path(home) if home is not None else Path.home()
    pictures = home / "Pictures"
    return str(pictures if pictures.is_dir() else home)


def predict_hint(frozen, executable):
    """The command that reads pictures without a window, as this program is started."""
    if frozen:
        return f"{os.path.basename(executable)} predict FILE"
    return "python -m app predict FILE"


ELLIPSIS = "\u2026"


def fit_status(text, measure, width):
    """`text` as the status line shows it in `width` pixels (`measure`: a text's width in pixels).

    Messages are sentences parted by two spaces, the most important first: while the line is too
    wide the last sentence goes (usually the model's description, which Help > About also shows),
    then the first is cut with an ellipsis. A line cut at the window's edge would say half a word.
    """
    if width <= 0 or measure(text) <= width:
        return text
    parts = text.split("  ")
    while len(parts) > 1 and measure("  ".join(parts)) > width:
        parts.pop()
    line = "  ".join(parts)
    if measure(line) <= width:
        return line
    low, high = 0, len(line)  # the longest start that fits with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        if measure(line[:mid].rstrip() + ELLIPSIS) <= width:
            low = mid
        else:
            high = mid - 1
    return line[:low].rstrip() + ELLIPSIS
