"""MNIST loading and validation: IDX directory (raw or .gz), Keras-style mnist.npz, MNIST_DIR, ../shared/data/mnist, or Keras download.

Every file is checked (magic number, declared counts, actual length, label range) and a bad one raises
`DataError` naming it; npz files are read with allow_pickle=False so a pickled payload is refused.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051  # IDX: unsigned byte, 3 dimensions
LABELS_MAGIC = 2049  # IDX: unsigned byte, 1 dimension
ROWS = COLS = 28
TRAIN_COUNT, TEST_COUNT = 60000, 10000
MAX_SAMPLES = 1_000_000  # IDX sets of 28x28 digits (MNIST, EMNIST) hold fewer; a header claiming more is a bomb
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NO_DATA_HINT = ("no MNIST data: pass --data DIR (the four IDX files, .gz or not) or --data mnist.npz, "
                "or set MNIST_DIR, or put the IDX files in ../shared/data/mnist; the Keras download needs internet")
# Where the workspace keeps its data beside the repository (as ../shared/data/unipen for the pen data).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


class DataError(ValueError):
    """A data source is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Mnist:
    """Raw MNIST as uint8: images (N, 28, 28), labels (N,)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Splits:
    """Model-ready arrays: float32 images (N, 28, 28, 1) in [0, 1], int64 labels; x_val/y_val are MNIST's."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pen: object = None  # training.pen_data.PenSets: real pen validation sets (its training part is in x_train)


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes; shape from its header, validated against its length.

    The header is checked first and the body read only up to the size it promises (plus one byte to
    see whether there is more), so a gzip bomb or a huge file is refused without being inflated.
    """
    ndim = 3 if expected_magic == IMAGES_MAGIC else 1
    header_len = 4 + 4 * ndim
    try:
        with _open(path) as f:
            header = f.read(header_len)
            if len(header) < header_len:
                raise DataError(f"{path}: truncated header ({len(header)} bytes)")
            magic = struct.unpack(">I", header[:4])[0]
            if magic != expected_magic:
                raise DataError(f"{path}: wrong magic number {magic}, expected {expected_magic}")
            dims = struct.unpack(f">{ndim}I", header[4:header_len])
            if ndim == 3 and dims[1:] != (ROWS, COLS):
                raise DataError(f"{path}: images of {dims[1]}x{dims[2]} pixels, expected {ROWS}x{COLS}")
            if dims[0] > MAX_SAMPLES:
                raise DataError(f"{path}: header claims {dims[0]} samples (more than {MAX_SAMPLES}); not MNIST")
            body_len = int(np.prod(dims, dtype=np.int64))
            body = f.read(body_len + 1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if len(body) != body_len:
        what = "more data than" if len(body) > body_len else f"{header_len + len(body)} bytes but"
        raise DataError(f"{path}: {what} header {dims} needs {header_len + body_len} (truncated or padded)")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory}: missing {stem}[.gz]")


def load_idx_dir(directory: Path) -> Mnist:
    """Load the four standard IDX files from a directory."""
    arrays = {}
    for key, stem in IDX_FILES.items():
        path = _find_idx(directory, stem)
        arrays[key] = read_idx(path, IMAGES_MAGIC if key.startswith("x") else LABELS_MAGIC)
        arrays[key + "_path"] = path
    return _validated(arrays)


def load_npz(path: Path) -> Mnist:
    """Load a Keras-style mnist.npz (keys x_train, y_train, x_test, y_test); pickled objects are refused."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in IDX_FILES if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}")
            arrays = {k: npz[k] for k in IDX_FILES}
    except DataError:
        raise
    except ValueError as e:  # numpy refuses object arrays without allow_pickle
        raise DataError(f"{path}: refused ({e})") from None
    except (OSError, EOFError, Exception) as e:  # zipfile.BadZipFile and friends
        raise DataError(f"{path}: not a readable .npz ({e})") from None
    for k in IDX_FILES:
        arrays[k + "_path"] = path
    return _validated(arrays)


def _validated(a: dict) -> Mnist:
    for split in ("train", "test"):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        xp, yp = a[f"x_{split}_path"], a[f"y_{split}_path"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (ROWS, COLS):
            raise DataError(f"{xp}: images must be uint8 (N, 28, 28), got {x.dtype} {x.shape}")
        if y.dtype != np.uint8 or y.ndim != 1:
            raise DataError(f"{yp}: labels must be uint8 (N,), got {y.dtype} {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{yp}: {len(y)} labels for {len(x)} images in {xp}")
        if len(y) == 0:
            raise DataError(f"{yp}: no samples")
        if y.max() > 9:
            raise DataError(f"{yp}: label {int(y.max())} outside 0-9")
    return Mnist(a["x_train"], a["y_train"], a["x_test"], a["y_test"])


def mnist_source(source: str | os.PathLike | None = None) -> Path | None:
    """Where MNIST is read from: `source`, else $MNIST_DIR, else ../shared/data/mnist if it holds the
    training images; None: the Keras download."""
    if source is None and os.environ.get("MNIST_DIR"):
        source = os.environ["MNIST_DIR"]
    if source is None and any((DEFAULT_MNIST_DIR / (IDX_FILES["x_train"] + ext)).is_file() for ext in ("", ".gz")):
        source = DEFAULT_MNIST_DIR
    return None if source is None else Path(source)


def load_mnist(source: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from mnist_source(`source`) (IDX dir or .npz), else keras.datasets.mnist (download)."""
    path = mnist_source(source)
    if path is not None:
        if path.is_dir():
            return load_idx_dir(path)
        if path.is_file():
            return load_npz(path)
        raise DataError(f"{path}: no such file or directory")
    try:
        import keras  # deferred: downloading is the last resort and pulls in TensorFlow
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # no internet, proxy error, corrupt cache ...
        raise DataError(f"{NO_DATA_HINT} ({type(e).__name__})") from None
    src = Path("keras.datasets.mnist")
    return _validated({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
                       "x_train_path": src, "y_train_path": src, "x_test_path": src, "y_test_path": src})


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: what the networks and the ONNX model take."""
    return (images.astype(np.float32) / 255.0)[..., None]


def make_splits(data: Mnist, val_size: int, seed: int, train_limit: int | None = None,
                test_limit: int | None = None) -> Splits:
    """Carve a seeded, deterministic validation split from the training set; optionally subsample."""
    n = len(data.x_train)
    if not 0 < val_size < n:
        raise DataError(f"validation size {val_size} must be between 1 and {n - 1}")
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = order[:val_size], order[val_size:]
    if train_limit:
        train_idx = train_idx[:train_limit]
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]
    return Splits(
        x_train=to_model_input(data.x_train[train_idx]), y_train=data.y_train[train_idx].astype(np.int64),
        x_val=to_model_input(data.x_train[val_idx]), y_val=data.y_train[val_idx].astype(np.int64),
        x_test=to_model_input(x_test), y_test=y_test.astype(np.int64),
    )
