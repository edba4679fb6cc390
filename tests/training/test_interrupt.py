"""Ctrl+C during training: exit code 130, one line saying what was kept, no complete-looking run."""
import os
import signal
import subprocess
import sys
import time

import pytest

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


def test_a_ctrl_c_that_tensorflow_swallowed_still_stops_the_fit():
    """Python raises KeyboardInterrupt in whatever runs when Ctrl+C comes, and TensorFlow's C++ side can
    swallow it there; the press is noted too, and the fit stops at the next batch's end."""
    import keras
    import numpy as np

    from training import interrupt

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = np.zeros((64, 4), np.float32), np.zeros(64, np.int64)
    before = signal.getsignal(signal.SIGINT)
    with interrupt.noted():
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # swallowed, as TensorFlow may
        assert interrupt.PRESSED.is_set()
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[interrupt.stop_on_ctrl_c()])
    interrupt.PRESSED.clear()
    assert signal.getsignal(signal.SIGINT) is before  # pytest's own handling is back
