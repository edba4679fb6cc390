"""Figures about the models: the training comparison, the shipped ONNX model, inference latency, the peer."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.stats import Row, p50_p95, timings_ms

ROOT = Path(__file__).resolve().parents[1]


def ort_session(model_path: Path, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])


def training(ctx) -> list[Row]:
    results = json.loads((ctx.run / "results.json").read_text())
    cmd = "python -m training" + (" --quick" if results["config"]["quick"] else "")
    chosen = results["chosen_model"]
    rows = []
    for name, m in results["models"].items():
        star = " (chosen)" if name == chosen else ""
        rows += [
            Row(f"{name}{star}: test accuracy / loss",
                f"{m['test_accuracy']:.2%} / {m['test_loss']:.4f}", ">= 99.6 %" if name == chosen else "", cmd),
            Row(f"{name}: validation accuracy / loss", f"{m['val_accuracy']:.2%} / {m['val_loss']:.4f}",
                "selection criterion", cmd),
            Row(f"{name}: parameters", f"{m['parameters']:,}", "", cmd),
            Row(f"{name}: training time", f"{m['train_seconds']:.0f} s ({m['epochs_run']} epochs, "
                f"{m['seconds_per_epoch']:.1f} s/epoch)", "", cmd),
        ]
    rows.append(Row("whole comparison (3 models, wall)", f"{results['wall_seconds'] / 60:.1f} min",
                    "<= 20 min", cmd))
    return rows


def quick_run(ctx) -> list[Row]:
    """Wall time of the smoke run, as a user starts it (a fresh process, TF start-up included)."""
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "training", "--quick", "--out", tmp], cwd=ROOT, check=True,
                       capture_output=True)
        seconds = time.perf_counter() - started
    return [Row("python -m training --quick (3 models, 2,000 images, 1 epoch), wall", f"{seconds:.0f} s",
                "< 2 min", "python -m benchmarks --only quick")]


def shipped_model(ctx) -> list[Row]:
    from export.parity import onnx_probabilities

    meta = ort_session(ctx.model).get_modelmeta().custom_metadata_map
    acc = float((onnx_probabilities(ctx.model.read_bytes(), ctx.x_test).argmax(1) == ctx.y_test).mean())
    cmd = "python -m benchmarks --only model"
    rows = [
        Row(f"shipped model ({meta.get('model_name', '?')}) test accuracy, onnxruntime only", f"{acc:.2%}",
            f"= metadata ({float(meta.get('test_accuracy', 'nan')):.2%})", cmd),
        Row("shipped model size on disk", f"{ctx.model.stat().st_size / 1024:.0f} KB", "a few hundred KB", cmd),
    ]
    parity_file = ctx.run / "parity.json"
    if parity_file.is_file():
        parity = json.loads(parity_file.read_text())
        rows.append(Row(f"parity Keras vs ONNX ({parity['model']}, {parity['images']} images)",
                        f"max |diff| {parity['max_abs_diff']:.1e}, {parity['argmax_mismatches']} class mismatches",
                        "<= 1e-5, 0", "python -m export"))
    return rows


def latency(ctx) -> list[Row]:
    session = ort_session(ctx.model)
    rows, cmd = [], "python -m benchmarks --only latency"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.keras_latency", str(ctx.keras_model), str(ctx.repeats)],
                          cwd=ROOT, capture_output=True, text=True)
    keras_ms = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    for batch in (1, 256):
        x = ctx.x_test[:batch]
        ms = timings_ms(lambda: session.run(None, {"image": x}), ctx.repeats)
        rows.append(Row(f"onnxruntime, batch {batch}, 1 thread", p50_p95(ms),
                        "< 5 ms with preprocessing" if batch == 1 else "", cmd))
        if keras_ms:
            kp = np.asarray(keras_ms[f"predict_{batch}"])
            kc = np.asarray(keras_ms[f"call_{batch}"])
            rows.append(Row(f"Keras model.predict, batch {batch}, 1 thread",
                            f"{p50_p95(kp)} ({np.median(kp) / np.median(ms):.0f}x onnxruntime)", "", cmd))
            rows.append(Row(f"Keras model(x) direct call, batch {batch}, 1 thread",
                            f"{p50_p95(kc)} ({np.median(kc) / np.median(ms):.0f}x onnxruntime)", "", cmd))
    if not keras_ms:
        rows.append(Row("Keras latency", f"failed: {proc.stderr.strip().splitlines()[-1:]}", "", cmd))
    return rows


def simple_convnet():
    """The Keras examples' "simple MNIST convnet": two conv layers, the peer we compare against."""
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ], name="simple_convnet")


def peer(ctx) -> list[Row]:
    """Train the peer on the same split, with the baseline's epoch budget and the same schedule."""
    import tempfile

    import tensorflow as tf

    from export.convert import keras_to_onnx
    from training.config import DEFAULT_EPOCHS, TrainConfig
    from training.data import make_splits
    from training.train import train_one

    cfg = TrainConfig()
    splits = make_splits(ctx.mnist, cfg.val_size, cfg.seed)
    trained = train_one("simple_convnet", splits, cfg, tf.distribute.get_strategy(), DEFAULT_EPOCHS["baseline"],
                        build=simple_convnet)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "peer.onnx")
        path.write_bytes(keras_to_onnx(trained.model).SerializeToString())
        size = path.stat().st_size
        # Timed in a fresh process: TensorFlow's idle worker threads here would skew onnxruntime's figures.
        proc = subprocess.run([sys.executable, "-m", "benchmarks.ort_latency", str(path), str(ctx.model),
                               str(ctx.repeats)], cwd=ROOT, capture_output=True, text=True, check=True)
    ms, ours_ms = (np.asarray(t) for t in json.loads(proc.stdout))
    # The shipped model's metadata accuracy is the onnxruntime figure (the "model" section and a test check it).
    ours_acc = float(ort_session(ctx.model).get_modelmeta().custom_metadata_map["test_accuracy"])
    m = trained.metrics
    cmd = "python -m benchmarks --only peer"
    return [
        Row("Keras simple MNIST convnet: test accuracy", f"{m['test_accuracy']:.2%}",
            f"ours: {ours_acc:.2%}", cmd),
        Row("Keras simple MNIST convnet: parameters / ONNX size",
            f"{m['parameters']:,} / {size / 1024:.0f} KB", f"ours: {ctx.model.stat().st_size / 1024:.0f} KB", cmd),
        Row("Keras simple MNIST convnet: training time",
            f"{m['train_seconds']:.0f} s ({m['epochs_run']} epochs)", "same data, epochs and schedule", cmd),
        Row("Keras simple MNIST convnet: onnxruntime batch 1, 1 thread", p50_p95(ms),
            f"ours: {p50_p95(ours_ms)}", cmd),
    ]
