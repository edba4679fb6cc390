import os
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
