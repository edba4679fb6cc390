"""Import TensorFlow without its start-up log lines, so a one-line error is the only line a user sees.

TensorFlow 2.21 writes through absl before logging is initialised, to file descriptor 2 directly, and
ignores TF_CPP_MIN_LOG_LEVEL for it ("All log messages before absl::InitializeLog()...", "oneDNN custom
operations are on", the CPU-feature note). Those lines are dropped; anything else it prints is passed on.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile

CHATTER = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|cpu_feature_guard|"
    r"To enable the following instructions:|rebuild TensorFlow with the appropriate compiler flags|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|could not find cuda drivers|TF-TRT Warning|"
    r"computation placer already registered|failed call to cuInit")


def import_tensorflow() -> None:
    """Import tensorflow and keras once, with fd 2 captured and the known start-up lines filtered out."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # older versions do honour it
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr to guard
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not CHATTER.search(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
