import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, mnist_dir):
    """`python -m training --quick`: the smoke run whose model must never replace a good one (tests that write
    into it work on a copy, or write only its parity.json)."""
    out = tmp_path_factory.mktemp("runs")
    done = subprocess.run([sys.executable, "-m", "training", "--quick", "--models", "simplified", "--data",
                           str(mnist_dir), "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return (out / "latest").resolve()
