"""Text from outside (file names, model metadata, decoder messages) made safe for one terminal line."""

import unicodedata

MAX_CHARS = 200  # a decoder message or a model name longer than this is cut, not printed whole


def printable(text, limit=MAX_CHARS):
    """`text` with undecodable bytes as \\xNN and control characters escaped, on one line, at most `limit` chars.

    File names from the command line may hold bytes that are not UTF-8 (kept by Python as lone
    surrogates) and escape sequences or newlines; printed raw they crash a strict UTF-8 stdout,
    drive the terminal, or break the one-line-per-file output.
    """
    text = str(text)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte became
        raw = text.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    if any(unicodedata.category(c)[0] == "C" for c in text):
        text = "".join(
            c if unicodedata.category(c)[0] != "C" else c.encode("unicode_escape").decode("ascii")
            for c in text
        )
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
