import os

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) hides the progress users want.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.cli import main  # noqa: E402

raise SystemExit(main())
