"""Ctrl+C during training: exit code 130, one line saying what was kept, no complete-looking run."""
import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT


def test_sigint_during_training_exits_130_and_leaves_latest_alone(tmp_path, mnist_dir):
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-u", "-m", "training", "--quick", "--models", "simplified",
                             "--epochs", "50", "--data", str(mnist_dir), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        started = time.monotonic()
        for line in proc.stdout:  # wait until a model is being trained
            if line.startswith("== simplified") or time.monotonic() - started > 240:
                break
        assert list(out.glob("*.partial")), "the run directory should exist by now"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert not (out / "latest").exists()
    assert list(out.glob("*.partial"))  # the incomplete run is kept, and named as incomplete
