"""The model card shown by Help > About: what the model is, how well it reads, what it learnt from.

Built from the ONNX model's metadata_props (DESIGN.md), which come from a file: every value is
cleaned of control characters (app.printable) before it reaches the screen.
"""

from app.printable import printable

# (title, metadata keys tried in order, is an accuracy)
FIELDS = (
    ("Model", ("model_name",), False),
    ("MNIST test accuracy", ("test_accuracy",), True),
    ("Real pen digits, held-out writers", ("pen_val_accuracy",), True),
    ("Not a digit, held-out writers", ("reject_val_accuracy",), True),
    ("Called sure from", ("sure_threshold",), True),
    ("Trained on (and the data's terms)", ("trained_on",), False),
    ("Trained at", ("trained_at",), False),
)
# The stroke reader's (app.trajectory), when the window uses one: what drawn digits get.
STROKE_FIELDS = (
    ("Drawn digits, with the stroke reader", ("fused_val_accuracy",), True),
    ("Drawn digits called sure from", ("sure_threshold",), True),
)
# The number reader's (app.numbers), when pictures have one: what touching digits in a picture get.
NUMBER_FIELDS = (
    ("Numbers in pictures, readers voting", ("members",), False),
    ("Rows of held-out writers read exactly", ("val_row_accuracy",), True),
    ("Numbers in pictures called sure from", ("sure_threshold",), True),
)
MAX_VALUE = 400  # characters of one value shown; metadata is not a place for essays


def model_card(metadata, version, strokes=None, numbers=None):
    """[(title, text), ...] for the fields the metadata has (and `strokes`, the stroke reader's
    metadata, when the window uses one; `numbers`, the number reader's, when pictures have one), then
    the app's version."""
    card = _fields(metadata, FIELDS)
    if strokes is not None:
        card += _fields(strokes, STROKE_FIELDS)
    if numbers is not None:
        card += _fields(numbers, NUMBER_FIELDS)
    card.append(("App version", _clean(version)))
    return card


def _fields(metadata, fields):
    card = []
    for title, keys, is_accuracy in fields:
        value = next((metadata[k] for k in keys if str(metadata.get(k, "")).strip()), None)
        if value is None:
            continue
        text = _accuracy(value) if is_accuracy else _clean(value)
        card.append((title, text))
    return card


def _accuracy(value):
    """'0.9966' or '99.66' -> '99.66%'; anything else shown as it is."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _clean(value)
    if number != number:  # NaN
        return _clean(value)
    return f"{number / 100 if number > 1 else number:.2%}"


def _clean(value):
    return printable(str(value).strip(), limit=MAX_VALUE)
