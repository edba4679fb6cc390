"""Where the app finds its model, from a source checkout or a PyInstaller bundle."""

import sys
from pathlib import Path

MODEL_RELATIVE = Path("app", "models", "digits.onnx")


def default_model_path():
    """app/models/digits.onnx next to this file, or inside the bundle when frozen."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / MODEL_RELATIVE
    return Path(__file__).resolve().parent / "models" / "digits.onnx"
