"""Train and evaluate one model under a tf.distribute strategy; returns its metrics and history."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from training.calibrate import apply_reject_bias
from training.config import TrainConfig
from training.data import Splits
from training.distribute import is_multi_worker
from training.interrupt import stop_on_ctrl_c
from training.loop import fit_distributed, local_copy
from training.models import MODELS


@dataclass
class TrainedModel:
    """A fitted model and what the comparison reports about it."""
    name: str
    model: keras.Model
    metrics: dict = field(default_factory=dict)   # accuracies, losses, timings, parameter count
    history: dict = field(default_factory=dict)   # per-epoch loss, accuracy, val_loss, val_accuracy
    confusion: np.ndarray | None = None           # test-set confusion matrix, rows = true digit


# Augmentation ranges: the variation real handwriting has and MNIST's centred digits lack.
MAX_ROTATION = 0.18   # radians, about +-10 degrees
MAX_ZOOM = 0.10       # scale in [0.9, 1.1]
MAX_SHIFT = 0.10      # fraction of the side, about +-3 px


def random_affine(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Rotate, zoom and shift each image of a (B, H, W, 1) batch by one random affine warp.

    One fused ImageProjectiveTransformV3 instead of Keras' three RandomRotation/Zoom/Translation
    layers: measured here, those doubled the epoch time of the improved model on 2 cores.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    u = tf.random.stateless_uniform((batch, 4), seed=seed, minval=-1.0, maxval=1.0)
    angle, scale = u[:, 0] * MAX_ROTATION, 1.0 + u[:, 1] * MAX_ZOOM
    tx, ty = u[:, 2] * MAX_SHIFT * width, u[:, 3] * MAX_SHIFT * height
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # The transform maps each output pixel to the input pixel it samples: the inverse warp.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def training_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: bool) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        # Per-batch seeds from a seeded counter: reproducible, and different every batch and epoch.
        seeds = tf.data.Dataset.counter().map(lambda i: tf.stack([tf.cast(seed, tf.int64), i]))
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            lambda batch, s: (random_affine(batch[0], s), batch[1]), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _optimizer(cfg: TrainConfig, steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    warmup = max(1, steps_per_epoch // 2)
    total = max(warmup + 1, steps_per_epoch * epochs)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total - warmup, warmup_target=cfg.learning_rate, warmup_steps=warmup)
    return keras.optimizers.Adam(schedule)


class _EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t)


def train_one(name: str, splits: Splits, cfg: TrainConfig, strategy: tf.distribute.Strategy,
              epochs: int, build=None) -> TrainedModel:
    """Build (MODELS[name], or `build` for models outside the registry), fit with early stopping on
    val_loss (best weights restored) and evaluate."""
    keras.utils.set_random_seed(cfg.seed)
    with strategy.scope():
        model = (build or MODELS[name])()
        steps = -(-len(splits.x_train) // cfg.batch_size)
        model.compile(optimizer=_optimizer(cfg, steps, epochs),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train_ds = training_dataset(splits.x_train, splits.y_train, cfg.batch_size, cfg.seed, name in cfg.augment)
    x_val, y_val = validation_arrays(splits)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512)
    timer = _EpochTimer()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience or epochs, restore_best_weights=True)
    print(f"\n== {name}: {model.count_params():,} parameters, up to {epochs} epochs"
          f"{' with augmentation' if name in cfg.augment else ''}", flush=True)
    started = time.perf_counter()
    if is_multi_worker(strategy):  # Keras 3's fit() cannot train there (keras#20585)
        fit = fit_distributed(model, strategy, train_ds, val_ds, epochs, callbacks=[timer, stop, stop_on_ctrl_c()])
        model = local_copy(model)  # evaluate and predict cannot run there either
    else:  # shuffle=False: the dataset already reshuffles every epoch; Keras would only warn about it.
        fit = model.fit(train_ds, epochs=epochs, validation_data=val_ds, callbacks=[timer, stop, stop_on_ctrl_c()],
                        shuffle=False,
                        verbose=1 if sys.stdout.isatty() else 2)
    train_seconds = time.perf_counter() - started

    val_loss, _ = model.evaluate(val_ds, verbose=0)
    calibration = validation_metrics(model, splits)
    # The exported model's outputs: the "not a digit" prior fitted on validation applied.
    probs = apply_reject_bias(model.predict(splits.x_test, batch_size=512, verbose=0), calibration["reject_bias"])
    test_loss = float(-np.log(np.clip(probs[np.arange(len(splits.y_test)), splits.y_test], 1e-7, 1.0)).mean())
    predicted = probs.argmax(axis=1)  # over all classes: a rejected MNIST digit counts as wrong
    test_acc = float((predicted == splits.y_test).mean())
    confusion = np.zeros((10, probs.shape[1]), dtype=np.int64)
    np.add.at(confusion, (splits.y_test, predicted), 1)
    metrics = {
        "parameters": int(model.count_params()),
        "epochs_run": len(timer.seconds),
        "best_epoch": int(np.argmin(fit.history["val_loss"])) + 1,
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(float(np.mean(timer.seconds)), 2),
        **calibration,
        "val_loss": float(val_loss),
        "test_accuracy": test_acc,
        "test_loss": test_loss,
    }
    print(f"== {name}: score {metrics['val_accuracy']:.4f} (MNIST val {metrics['mnist_val_accuracy']:.4f}, "
          f"pen val {metrics['pen_val_accuracy']:.4f}, not-a-digit val {metrics['reject_val_accuracy']:.4f}), "
          f"test acc {test_acc:.4f}, not-a-digit bias {metrics['reject_bias']:+.1f}, T={metrics['temperature']:.2f}, "
          f"sure >= {metrics['sure_threshold']:.3f}, "
          f"{train_seconds:.0f}s", flush=True)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items() if k != "learning_rate"}
    return TrainedModel(name, model, metrics, history, confusion)


def validation_arrays(splits: Splits) -> tuple[np.ndarray, np.ndarray]:
    """Every validation image (MNIST, pen digits, non-digits) for early stopping on val_loss."""
    pen = splits.pen
    if pen is None:
        return splits.x_val, splits.y_val
    return (np.concatenate([splits.x_val, pen.x_val_digits, pen.x_val_reject]),
            np.concatenate([splits.y_val, pen.y_val_digits, pen.y_val_reject]))


def validation_metrics(model: keras.Model, splits: Splits) -> dict:
    """Per-set validation accuracies, the selection score, and the calibration fitted on validation."""
    from training.calibrate import (apply_temperature, choose_threshold, expected_calibration_error,
                                    fit_reject_bias, fit_temperature)
    from training.config import SELECTION_WEIGHTS

    sets = {"mnist": (splits.x_val, splits.y_val)}
    if splits.pen is not None:
        sets["pen"] = (splits.pen.x_val_digits, splits.pen.y_val_digits)
        sets["reject"] = (splits.pen.x_val_reject, splits.pen.y_val_reject)
    probs = {k: model.predict(x, batch_size=512, verbose=0) if len(x) else np.zeros((0, 11), np.float32)
             for k, (x, _) in sets.items()}
    bias = fit_reject_bias({k: (probs[k], sets[k][1]) for k in sets}, SELECTION_WEIGHTS)
    probs = {k: apply_reject_bias(p, bias) for k, p in probs.items()}
    acc = {k: float((probs[k].argmax(axis=1) == sets[k][1]).mean()) if len(sets[k][1]) else float("nan")
           for k in sets}
    weights = {k: w for k, w in SELECTION_WEIGHTS.items() if k in acc and len(sets[k][1])}
    score = sum(w * acc[k] for k, w in weights.items()) / sum(weights.values())
    all_p = np.concatenate(list(probs.values()))
    all_y = np.concatenate([y for _, y in sets.values()])
    temperature = fit_temperature(all_p, all_y)
    calibrated = apply_temperature(all_p, temperature)
    # The "sure" threshold is chosen on the real pen validation writers (digits and non-digits) when present.
    real = [k for k in ("pen", "reject") if k in sets and len(sets[k][1])] or ["mnist"]
    real_p = apply_temperature(np.concatenate([probs[k] for k in real]), temperature)
    real_y = np.concatenate([sets[k][1] for k in real])
    threshold = choose_threshold(real_p, real_y)
    sure = real_p.max(axis=1) >= threshold
    return {
        "val_accuracy": float(score),
        "mnist_val_accuracy": acc["mnist"],
        "pen_val_accuracy": acc.get("pen", float("nan")),
        "reject_val_accuracy": acc.get("reject", float("nan")),
        "val_images": {k: int(len(y)) for k, (_, y) in sets.items()},
        "reject_bias": bias,
        "temperature": temperature,
        "ece_before": expected_calibration_error(all_p, all_y),
        "ece_after": expected_calibration_error(calibrated, all_y),
        "sure_threshold": threshold,
        "sure_share": float(sure.mean()),
        "sure_accuracy": float((real_p.argmax(axis=1) == real_y)[sure].mean()) if sure.any() else float("nan"),
    }
