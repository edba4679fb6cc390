import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST; its absence fails loudly (CI and `make test` point MNIST_DIR at it)."""
    path = os.environ.get("MNIST_DIR")
    if not path or not Path(path).is_dir():
        pytest.fail(f"MNIST_DIR={path!r} is not a directory: point it at the MNIST IDX files "
                    "(make test does: ../shared/data/mnist)")
    return Path(path)


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
