"""Ctrl+C during a fit, noted as well as raised: Python raises KeyboardInterrupt in whatever runs when
SIGINT comes, and TensorFlow's C++ side sometimes swallowed it there (a run went on to its last epoch
and exited 0). Inside `noted()` the press is also kept in PRESSED, and the callback `stop_on_ctrl_c()`
raises it again at the next batch's end. Keras is imported only by that callback: `noted()` guards
commands that never load TensorFlow."""
from __future__ import annotations

import contextlib
import signal
import threading

PRESSED = threading.Event()


def _on_sigint(signum, frame):
    PRESSED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def noted():
    """While inside, Ctrl+C is noted in PRESSED as well as raised (main thread only; elsewhere Python's own
    handling stays); the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    PRESSED.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_on_ctrl_c():
    """A Keras callback that raises KeyboardInterrupt at the end of the next batch (or epoch) once
    Ctrl+C was pressed."""
    import keras

    return keras.callbacks.LambdaCallback(on_train_batch_end=_stop_if_pressed, on_epoch_end=_stop_if_pressed,
                                          on_test_batch_end=_stop_if_pressed)


def _stop_if_pressed(*_, **__):
    if PRESSED.is_set():
        raise KeyboardInterrupt
