"""One call run on a worker thread, its outcome collected later by polling (Tk is not thread-safe).

The window polls `done` from its own thread (root.after) and then takes `result()`; a call it no
longer wants is simply dropped: the thread ends on its own and nobody looks at it.
"""

import threading


class BackgroundCall:
    """Start fn(*args) now on a daemon thread; `result()` returns its value or raises its error."""

    def __init__(self, fn, *args):
        self._done = threading.Event()
        self._value = None
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed over to the caller's thread, where it is shown
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        """Block until done (for tests and shutdown); True if it finished."""
        return self._done.wait(timeout)

    def result(self):
        if not self._done.is_set():
            raise RuntimeError("the call has not finished")
        if self._error is not None:
            raise self._error
        return self._value
