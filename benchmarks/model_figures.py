"""Figures about the models: the training comparison, the shipped ONNX model, inference latency, the peer."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.stats import SINGLE, Row, p50_p95, runs, timings_ms

ROOT = Path(__file__).resolve().parents[1]


def ort_session(model_path: Path, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])


GOAL_TEST_ACCURACY = 0.996
GOAL_COMPARISON_MINUTES = 25  # "about 25 minutes" once the pen data came in (20 on MNIST alone)
GOAL_QUICK_SECONDS = 120
GOAL_MODEL_KB = 500  # "a few hundred KB"


def training(ctx) -> list[Row]:
    results = json.loads((ctx.run / "results.json").read_text())
    cmd = "python -m training" + (" --quick" if results["config"]["quick"] else "")
    basis = f"single run ({results.get('run_id', ctx.run.name)})"
    chosen = results["chosen_model"]
    rows = []
    for name, m in results["models"].items():
        star = " (chosen)" if name == chosen else ""
        test_ok = m["test_accuracy"] >= GOAL_TEST_ACCURACY if name == chosen else None
        rows += [
            Row(f"{name}{star}: test accuracy / loss", f"{m['test_accuracy']:.2%} / {m['test_loss']:.4f}",
                f">= {GOAL_TEST_ACCURACY:.1%}" if name == chosen else "", cmd, basis, test_ok),
            Row(f"{name}: validation score / loss (the selection criterion)",
                f"{m['val_accuracy']:.2%} / {m['val_loss']:.4f}", "", cmd, basis),
            Row(f"{name}: validation accuracy MNIST / pen digits of held-out writers / their non-digits",
                " / ".join("—" if m.get(k) is None or m[k] != m[k] else f"{m[k]:.2%}"
                           for k in ("mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy")),
                "", cmd, basis),
            Row(f"{name}: calibration (not-a-digit prior, temperature, ECE before -> after, sure from)",
                f"{m.get('reject_bias', 0.0):+.1f}, T = {m.get('temperature', 1.0):.2f}, "
                f"{m.get('ece_before', float('nan')):.3f} -> {m.get('ece_after', float('nan')):.3f}, "
                f"{m.get('sure_threshold', float('nan')):.3f}", "", cmd, basis),
            Row(f"{name}: parameters", f"{m['parameters']:,}", "", cmd, basis),
            Row(f"{name}: training time", f"{m['train_seconds']:.0f} s ({m['epochs_run']} epochs, "
                f"{m['seconds_per_epoch']:.1f} s/epoch)", "", cmd, basis),
        ]
    minutes = results["wall_seconds"] / 60
    rows.append(Row("whole comparison (3 models, wall)", f"{minutes:.1f} min", f"<= {GOAL_COMPARISON_MINUTES} min",
                    cmd, basis, minutes <= GOAL_COMPARISON_MINUTES))
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
                f"< {GOAL_QUICK_SECONDS // 60} min", "python -m benchmarks --only quick", SINGLE,
                seconds < GOAL_QUICK_SECONDS)]


def shipped_model(ctx) -> list[Row]:
    from export.parity import onnx_probabilities

    meta = ort_session(ctx.model).get_modelmeta().custom_metadata_map
    acc = float((onnx_probabilities(ctx.model.read_bytes(), ctx.x_test).argmax(1) == ctx.y_test).mean())
    claimed = float(meta.get("test_accuracy", "nan"))
    kb = ctx.model.stat().st_size / 1024
    cmd = "python -m benchmarks --only model"
    rows = [
        Row(f"shipped model ({meta.get('model_name', '?')}) test accuracy, onnxruntime only", f"{acc:.2%}",
            f"= metadata ({claimed:.2%})", cmd, f"exact count over {len(ctx.y_test):,} test images",
            abs(acc - claimed) < 1e-6),
        Row("shipped model size on disk", f"{kb:.0f} KB", f"<= {GOAL_MODEL_KB} KB (a few hundred KB)", cmd,
            "file size", kb <= GOAL_MODEL_KB),
    ]
    try:
        parity_file = ctx.run / "parity.json"
    except FileNotFoundError:  # no training run here: the parity figures live in it
        return rows
    if parity_file.is_file():
        parity = json.loads(parity_file.read_text())
        rows.append(Row(f"parity Keras vs ONNX ({parity['model']}, {parity['images']} images)",
                        f"max |diff| {parity['max_abs_diff']:.1e}, {parity['argmax_mismatches']} class mismatches",
                        "<= 1e-5, 0", "python -m export", f"exact, from {ctx.run.name}/parity.json",
                        parity["max_abs_diff"] <= 1e-5 and parity["argmax_mismatches"] == 0))
    return rows


def latency(ctx) -> list[Row]:
    """onnxruntime here, first; Keras in its own process afterwards (its threads must not overlap ours).

    Keras runs the shipped model's architecture, built from training.models by the name in its metadata
    (weights do not change the arithmetic), so no training run is needed."""
    from training.models import MODELS

    session = ort_session(ctx.model)
    rows, cmd = [], "python -m benchmarks --only latency"
    # The batches are cut before timing: the run alone is timed (a ctx.x_test inside the call had timed
    # MNIST's conversion to float32 too, 15-23 ms of every "batch 1" figure until 2026-11-28).
    batches = {batch: np.ascontiguousarray(ctx.x_test[:batch]) for batch in (1, 256)}
    ort_ms = {batch: timings_ms(lambda: session.run(None, {"image": x}), ctx.repeats) for batch, x in batches.items()}
    name = session.get_modelmeta().custom_metadata_map.get("model_name", "")
    if name not in MODELS:
        return [Row("onnxruntime vs Keras latency", f"not measured: the model's metadata names no builder of "
                    f"training.models ({name or 'no model_name'})", "", cmd, "")]
    proc = subprocess.run([sys.executable, "-m", "benchmarks.keras_latency", name, str(ctx.repeats)],
                          cwd=ROOT, capture_output=True, text=True)
    keras_ms = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    basis = runs(ctx.repeats)
    for batch, ms in ort_ms.items():
        rows.append(Row(f"onnxruntime, batch {batch}, 1 thread", p50_p95(ms), "", cmd, basis))
        if keras_ms:
            kp = np.asarray(keras_ms[f"predict_{batch}"])
            kc = np.asarray(keras_ms[f"call_{batch}"])
            rows.append(Row(f"Keras model.predict, batch {batch}, 1 thread (the same architecture, {name})",
                            f"{p50_p95(kp)} ({np.median(kp) / np.median(ms):.0f}x onnxruntime)", "", cmd, basis))
            rows.append(Row(f"Keras model(x) direct call, batch {batch}, 1 thread (the same architecture, {name})",
                            f"{p50_p95(kc)} ({np.median(kc) / np.median(ms):.0f}x onnxruntime)", "", cmd, basis))
    if not keras_ms:
        rows.append(Row("Keras latency", f"failed: {proc.stderr.strip().splitlines()[-1:]}", "", cmd, ""))
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
    """Train the peer on the same split with our chosen model's budget: its epochs, its augmentation, the
    same schedule and early stopping. Imports TensorFlow into this process, so it runs last."""
    import dataclasses
    import tempfile

    import tensorflow as tf

    from export.convert import keras_to_onnx
    from training.config import DEFAULT_EPOCHS, TrainConfig
    from training.data import make_splits
    from training.train import train_one

    meta = ort_session(ctx.model).get_modelmeta().custom_metadata_map
    ours = meta.get("model_name", "improved")
    cfg = TrainConfig()
    epochs = DEFAULT_EPOCHS.get(ours, max(DEFAULT_EPOCHS.values()))
    augmented = ours in cfg.augment
    cfg = dataclasses.replace(cfg, augment=("simple_convnet",) if augmented else ())
    splits = make_splits(ctx.mnist, cfg.val_size, cfg.seed)
    trained = train_one("simple_convnet", splits, cfg, tf.distribute.get_strategy(), epochs, build=simple_convnet)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "peer.onnx")
        path.write_bytes(keras_to_onnx(trained.model).SerializeToString())
        size = path.stat().st_size
        # Timed in a fresh process: TensorFlow's idle worker threads here would skew onnxruntime's figures.
        proc = subprocess.run([sys.executable, "-m", "benchmarks.ort_latency", str(path), str(ctx.model),
                               str(ctx.repeats)], cwd=ROOT, capture_output=True, text=True, check=True)
    ms, ours_ms = (np.asarray(t) for t in json.loads(proc.stdout))
    # The shipped model's metadata accuracy is the onnxruntime figure (the "model" section and a test check it).
    ours_acc = float(meta["test_accuracy"])
    m = trained.metrics
    cmd = "python -m benchmarks --only peer"
    budget = f"{epochs} epochs{' with our augmentation' if augmented else ''}, same split, schedule and early stopping"
    basis = SINGLE
    return [
        Row("peer's budget (that of our chosen model, " + ours + ")", budget, "", cmd, "configuration"),
        Row("Keras simple MNIST convnet: test accuracy", f"{m['test_accuracy']:.2%} (ours: {ours_acc:.2%})",
            "", cmd, basis),
        Row("Keras simple MNIST convnet: parameters / ONNX size",
            f"{m['parameters']:,} / {size / 1024:.0f} KB (ours: {ctx.model.stat().st_size / 1024:.0f} KB)",
            "", cmd, basis),
        Row("Keras simple MNIST convnet: training time",
            f"{m['train_seconds']:.0f} s ({m['epochs_run']} of {epochs} epochs run)", "", cmd, basis),
        Row("Keras simple MNIST convnet: onnxruntime batch 1, 1 thread",
            f"{p50_p95(ms)} (ours: {p50_p95(ours_ms)})", "", cmd, runs(ctx.repeats)),
    ]
