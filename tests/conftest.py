import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where the tests find MNIST: $MNIST_DIR, else beside the repository, as the Makefile has it.
MNIST_DIR = Path(os.environ.get("MNIST_DIR") or ROOT.parent / "shared" / "data" / "mnist")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST; its absence fails loudly (CI and `make test` point MNIST_DIR at it)."""
    if not MNIST_DIR.is_dir():
        pytest.fail(f"MNIST not found at {MNIST_DIR}: set MNIST_DIR to the directory of the four IDX files "
                    "(make test uses ../shared/data/mnist)")
    return MNIST_DIR


def read_mnist_test(directory: Path = MNIST_DIR):
    """(images uint8 (n, 28, 28), labels) of the MNIST test set in `directory`, IDX files .gz or not;
    fails the test loudly when they are missing or malformed."""
    from training.data import IDX_FILES, IMAGES_MAGIC, LABELS_MAGIC, DataError, _find_idx, read_idx

    try:
        x = read_idx(_find_idx(Path(directory), IDX_FILES["x_test"]), IMAGES_MAGIC)
        y = read_idx(_find_idx(Path(directory), IDX_FILES["y_test"]), LABELS_MAGIC)
    except DataError as e:
        pytest.fail(f"MNIST test set: {e}; set MNIST_DIR to the directory of the IDX files")
    return x, y


@pytest.fixture(scope="session")
def xvfb():
    """Start a private Xvfb for the session; yields its DISPLAY (also set in os.environ)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: the GUI tests need it (apt-get install xvfb xdotool)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    number = b""
    with os.fdopen(read_end, "rb") as reader:
        while not number.endswith(b"\n"):
            chunk = reader.read(1)
            if not chunk:
                break
            number += chunk
    if not number.strip():
        server.kill()
        pytest.fail("Xvfb did not start (no display number reported)")
    display = f":{number.decode().strip()}"
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    yield display
    if previous is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = previous
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
