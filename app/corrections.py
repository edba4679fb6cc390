"""The user's corrections, kept in a per-user data folder as JSON lines in the pen record format.

A correction is {"writer", "label", "strokes": [[[x, y], ...], ...]} (app.pen's format, so
`python -m training --extra-data` reads it like the UNIPEN dev set) plus "widths" (brush per stroke),
"image" (the 28x28 model input as a base64 PNG), "read_as" (the misread answer), "model" and
"run_id" (the model that misread it) and "saved_at". A picture's correction has no strokes, only
its image. Beside it, confirmed.jsonl keeps the user's last readings that were right (image and
label), the guard app.adapt checks an adaptation against. Every write replaces the whole file by an
atomic rename: a crash leaves the old file or the new one, never half a line.
"""

import base64
import getpass
import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from app.pen import BadStrokes, check_strokes

APP_FOLDER = "digit-recognizer"
CORRECTIONS_FILE = "corrections.jsonl"
CONFIRMED_FILE = "confirmed.jsonl"
CONFIRMED_KEPT = 300  # the newest confirmed readings kept: enough to guard, not a diary


@dataclass(frozen=True)
class Example:
    """One kept example: its label, the 28x28x1 float32 model input, and for a correction its
    strokes (tuple of (n, 2) arrays; empty for a picture), brush widths, and what was misread."""

    label: str
    image: np.ndarray
    strokes: tuple = ()
    widths: tuple = ()
    read_as: str = ""
    model: str = ""
    writer: str = ""


def data_dir(platform=None, environ=None, home=None):
    """The per-user data folder: %APPDATA% on Windows, ~/Library/Application Support on macOS,
    $XDG_DATA_HOME (default ~/.local/share) elsewhere; with the app's own folder inside."""
    platform = platform or sys.platform
    environ = os.environ if environ is None else environ
    home = Path(home) if home is not None else Path.home()
    if platform == "win32":
        base = Path(environ["APPDATA"]) if environ.get("APPDATA") else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"  # the spec ignores relative
    return base / APP_FOLDER


def writer_id():
    """A stable pseudonym for this user (training mixes corrections in by writer; no name leaves)."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment: one anonymous writer
        name = ""
    return "user-" + hashlib.sha1(name.encode("utf-8", "replace")).hexdigest()[:10]


def encode_image(image):
    """A 28x28(x1) input in [0, 1] as a base64 PNG string."""
    pixels = (np.clip(np.asarray(image, np.float32).reshape(28, 28), 0, 1) * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image(text):
    """The 28x28x1 float32 input of `encode_image`; ValueError if it is not one."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(text, validate=True))) as picture:
            pixels = np.asarray(picture.convert("L"), np.float32)
    except Exception as exc:  # binascii, Pillow and OS errors alike mean a damaged field
        raise ValueError(f"image is not a base64 PNG ({type(exc).__name__})") from None
    if pixels.shape != (28, 28):
        raise ValueError(f"image is {pixels.shape[1]}x{pixels.shape[0]}, not 28x28")
    return (pixels / 255.0)[:, :, None]


def strokes_of(strokes, box):
    """The drawing's strokes ((width, [(x, y), ...]) pairs) whose points all lie in `box`."""
    x0, y0, x1, y1 = box
    return [(w, pts) for w, pts in strokes if all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in pts)]


def correction_record(label, image, strokes=(), read_as="", model="", run_id=""):
    """The JSON record of one correction; `strokes` as the canvas keeps them: (width, points) pairs."""
    return {
        "writer": writer_id(),
        "label": str(label),
        "strokes": [[[round(float(x), 1), round(float(y), 1)] for x, y in pts] for _w, pts in strokes],
        "widths": [round(float(w), 2) for w, _pts in strokes],
        "image": encode_image(image),
        "read_as": str(read_as),
        "model": str(model),
        "run_id": str(run_id),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def parse_example(record):
    """An Example from a decoded record; ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
    label = record.get("label")
    if not isinstance(label, str) or not label:
        raise ValueError("record has no label")
    strokes = record.get("strokes") or ()
    if strokes:
        try:
            strokes = check_strokes(strokes)
        except BadStrokes as exc:
            raise ValueError(str(exc)) from None
    widths = record.get("widths") or ()
    if not isinstance(widths, list) or not all(isinstance(w, (int, float)) for w in widths):
        widths = ()
    if "image" not in record:
        raise ValueError("record has no image")
    return Example(label, decode_image(record["image"]), tuple(strokes), tuple(float(w) for w in widths),
                   str(record.get("read_as", "")), str(record.get("model", "")), str(record.get("writer", "")))


def read_examples(path, warn=None):
    """The Examples of a JSON-lines file (none if it is missing); a corrupt line is skipped with
    a one-line warning (to stderr unless `warn` is given)."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        warn(f"warning: cannot read {path}: {exc.strerror or exc}")
        return []
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            examples.append(parse_example(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            warn(f"warning: {path}: line {number} skipped ({str(exc).splitlines()[0][:80]})")
    return examples


def append_line(path, record, keep=None):
    """Append one JSON record to `path` atomically (temp file, fsync, rename); `keep`: only the
    newest `keep` lines stay."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = b""
    if old and not old.endswith(b"\n"):
        old += b"\n"  # a torn last line stays a line of its own, skipped when read
    lines = old.splitlines(keepends=True) + [(json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")]
    if keep is not None:
        lines = lines[-keep:]
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(temp, "wb") as f:
            f.write(b"".join(lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


class Store:
    """The corrections and confirmed readings in `folder` (default: data_dir())."""

    def __init__(self, folder=None, warn=None):
        self.folder = Path(folder) if folder is not None else data_dir()
        self.warn = warn

    @property
    def corrections_path(self):
        return self.folder / CORRECTIONS_FILE

    @property
    def confirmed_path(self):
        return self.folder / CONFIRMED_FILE

    def add(self, record):
        """Keep a correction record (see correction_record)."""
        append_line(self.corrections_path, record)

    def confirm(self, image, label):
        """Keep a reading the user let stand, as a guard for adaptation (only the newest are kept)."""
        append_line(self.confirmed_path, {"label": str(label), "image": encode_image(image)}, keep=CONFIRMED_KEPT)

    def corrections(self):
        return read_examples(self.corrections_path, self.warn)

    def confirmed(self):
        return read_examples(self.confirmed_path, self.warn)

    def count(self):
        """How many corrections are kept (readable ones)."""
        return len(self.corrections())

    def forget_all(self):
        """Delete every correction and confirmed reading; returns how many corrections there were."""
        count = self.count()
        for path in (self.corrections_path, self.confirmed_path):
            path.unlink(missing_ok=True)
        return count


class Memory:
    """The window's side of corrections: the store, and `predictor`, the network adapted to them
    (an app.adapt.Personal whose adapter is rebuilt after every change). `store` None: nothing is
    kept and nothing adapts (windows made by tests and scripts)."""

    def __init__(self, network, store=None):
        from app.adapt import Personal

        self.network = network
        self.store = store
        self.predictor = Personal(network)
        self.status = "corrections off"
        self.refresh()

    @property
    def enabled(self):
        return self.store is not None

    def count(self):
        return self.store.count() if self.store else 0

    def refresh(self):
        """Rebuild the adaptation from what is kept; returns its one-line status."""
        from app.adapt import personal

        if self.store is None:
            return self.status
        rebuilt, self.status = personal(self.network, self.store.corrections(), self.store.confirmed())
        self.predictor.adapter = rebuilt.adapter
        return self.status

    def correct(self, guess, label, strokes=()):
        """Keep `guess` (an app.recognize.Guess) as `label`, with its strokes; adapt at once."""
        metadata = getattr(self.network, "metadata", {})
        self.store.add(correction_record(label, guess.image, strokes, read_as=guess.label,
                                         model=getattr(self.network, "name", ""), run_id=metadata.get("run_id", "")))
        return self.refresh()

    def confirm(self, reading):
        """Keep the sure digits of a reading the user let stand (guards against over-adapting)."""
        if self.store is None:
            return
        for guess in reading.guesses:
            if guess.is_digit and guess.sure:
                self.store.confirm(guess.image, guess.label)

    def forget_all(self):
        count = self.store.forget_all() if self.store else 0
        self.refresh()
        return count


def menu_label(count):
    """The menu entry that shows how many corrections are kept and forgets them."""
    return f"Corrections: {count} kept — Forget all…"
