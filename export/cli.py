"""`python -m export`: a run's chosen Keras model -> ONNX, proven equal on the MNIST test set, installed atomically."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from training.data import DataError

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "app" / "models" / "digits.onnx"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a training run's model to ONNX (input `image`, output `probabilities`), embed "
                    "its metadata, prove parity with Keras on the full MNIST test set (max |diff| <= 1e-5, "
                    "same class on every image) and only then replace the installed model.")
    p.add_argument("--run", default="runs/latest", help="training run directory (default %(default)s)")
    p.add_argument("--model", help="model of the run to export (default: the run's chosen model)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to install the ONNX model "
                   "(default app/models/digits.onnx)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default %(default)s; tf2onnx supports up to 18)")
    p.add_argument("--data", help="MNIST for the parity check (default: $MNIST_DIR, else the Keras download)")
    p.add_argument("--quantize", action="store_true",
                   help="also quantize to int8 (static, calibrated on training images) and install that instead "
                        "if test accuracy drops by at most 0.1 point")
    a = p.parse_args(argv)
    if not 13 <= a.opset <= 18:
        p.error("--opset must be between 13 and 18")
    return a


def export(run: str, model_name: str | None, out: Path, opset: int, data: str | None, quantize: bool) -> dict:
    """The whole export; returns the parity summary. Raises on any failure before touching `out`."""
    import keras
    import tf2onnx

    from app.preprocess import PREPROCESSING_ID
    from export.convert import check, keras_to_onnx, labels_for, set_metadata
    from export.parity import ParityError, compare, keras_probabilities, log_loss, onnx_probabilities
    from training.data import load_mnist, to_model_input
    from training.runs import resolve_run, write_atomic

    run_dir = resolve_run(run)
    results = json.loads((run_dir / "results.json").read_text())
    name = model_name or results["chosen_model"]
    if name not in results["models"]:
        raise ValueError(f"{run_dir}: no model {name!r}; the run has {', '.join(results['models'])}")
    print(f"exporting {name} from {run_dir}", flush=True)
    model = keras.models.load_model(run_dir / f"{name}.keras")

    started = time.perf_counter()
    stats = results["models"][name]
    temperature = float(stats.get("temperature", 1.0))
    proto = keras_to_onnx(model, opset, temperature)
    print(f"converted to ONNX opset {opset} in {time.perf_counter() - started:.1f}s", flush=True)

    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test), mnist.y_test.astype("int64")
    p_keras = keras_probabilities(model, x_test, temperature)
    measured_accuracy = float((p_keras.argmax(1) == y_test).mean())
    measured_loss = log_loss(p_keras, y_test)
    set_metadata(proto, {
        "model_name": name,
        "test_accuracy": round(measured_accuracy, 6),
        "test_loss": round(measured_loss, 6),
        "val_accuracy": round(results["models"][name]["val_accuracy"], 6),
        "trained_at": results["finished_at"],
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_id": results["run_id"],
        "labels": labels_for(p_keras.shape[1]),
        **model_card(results, stats),
        "preprocessing": PREPROCESSING_ID,
        "keras_version": keras.__version__,
        "tf2onnx_version": tf2onnx.__version__,
    })
    check(proto)
    blob = proto.SerializeToString()

    print(f"parity check on {len(y_test)} test images ...", flush=True)
    report = compare(p_keras, onnx_probabilities(blob, x_test), y_test)
    summary = {"model": name, "onnx_bytes": len(blob), "opset": opset, **report.as_dict()}
    write_atomic(run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")
    if not report.passed:
        raise ParityError(f"parity failed, {out} left unchanged: {report.describe()}")
    print(f"parity ok: {report.describe()}", flush=True)

    if quantize:
        from export.quantize import quantize_checked
        blob, summary["quantized"] = quantize_checked(blob, mnist, report.onnx_accuracy)
        write_atomic(run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")

    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, blob)
    print(f"installed {out} ({len(blob) / 1024:.0f} KB)", flush=True)
    return summary


def model_card(results: dict, stats: dict) -> dict:
    """What the app's About box and status line show: validation figures, calibration, training data."""
    card = {key: round(float(stats[key]), 6) for key in
            ("mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy", "temperature", "sure_threshold",
             "ece_after") if stats.get(key) is not None and stats[key] == stats[key]}
    if results.get("data", {}).get("trained_on"):
        card["trained_on"] = results["data"]["trained_on"]
    return card


def main(argv=None) -> int:
    args = parse_args(argv)
    from export.parity import ParityError
    try:
        export(args.run, args.model, args.out, args.opset, args.data, args.quantize)
    except ParityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except (DataError, FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the installed model is unchanged", file=sys.stderr)
        return 130
    return 0
