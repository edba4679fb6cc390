import os

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) hides the progress users want.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    from training.cli import main  # noqa: E402
except KeyboardInterrupt:  # Ctrl+C while the modules load: nothing has started, say so without a traceback
    import sys

    print("\ninterrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
