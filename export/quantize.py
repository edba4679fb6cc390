"""Optional int8 quantization (onnxruntime static QDQ, calibrated on training images), guarded by accuracy."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

MAX_ACCURACY_DROP = 0.001  # 0.1 percentage point
CALIBRATION_IMAGES = 1000


class QuantizationRefused(ValueError):
    """Quantization lost too much accuracy; the caller installs the checked float model instead."""


def quantize_checked(float_blob: bytes, mnist, float_accuracy: float) -> tuple[bytes, dict]:
    """Quantize `float_blob`; return the int8 model and a summary, or raise QuantizationRefused (int8 too inaccurate)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    import onnx

    from export.convert import set_metadata
    from export.parity import log_loss, onnx_probabilities
    from training.data import to_model_input

    calibration = to_model_input(mnist.x_train[:CALIBRATION_IMAGES])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(calibration[i:i + 100] for i in range(0, len(calibration), 100))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {"image": batch}

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "float.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(float_blob)
        quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        int8 = onnx.load(str(dst))
    float_meta = {p.key: p.value for p in onnx.load_from_string(float_blob).metadata_props}
    probs = onnx_probabilities(int8.SerializeToString(), to_model_input(mnist.x_test))
    accuracy = float((probs.argmax(1) == mnist.y_test).mean())
    loss = log_loss(probs, mnist.y_test.astype(np.int64))
    # The app reads the metadata of what it loads: it must describe the int8 model, not the float one.
    set_metadata(int8, {**float_meta, "test_accuracy": round(accuracy, 6), "test_loss": round(loss, 6),
                        "quantization": "int8 static QDQ, per-channel weights"})
    int8_blob = int8.SerializeToString()
    summary = {"float_bytes": len(float_blob), "int8_bytes": len(int8_blob),
               "float_accuracy": float_accuracy, "int8_accuracy": accuracy}
    print(f"int8: {len(int8_blob) / 1024:.0f} KB (float {len(float_blob) / 1024:.0f} KB), test accuracy "
          f"{accuracy:.4%} (float {float_accuracy:.4%})", flush=True)
    if float_accuracy - accuracy > MAX_ACCURACY_DROP:
        raise QuantizationRefused(f"int8 model loses {100 * (float_accuracy - accuracy):.2f} points of test "
                                  f"accuracy (limit {100 * MAX_ACCURACY_DROP:.1f})")
    return int8_blob, summary
