"""Train and evaluate one model under a tf.distribute strategy; returns its metrics and history."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from training.config import TrainConfig
from training.data import Splits
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
    val_ds = tf.data.Dataset.from_tensor_slices((splits.x_val, splits.y_val)).batch(512)
    timer = _EpochTimer()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    print(f"\n== {name}: {model.count_params():,} parameters, up to {epochs} epochs"
          f"{' with augmentation' if name in cfg.augment else ''}", flush=True)
    started = time.perf_counter()
    # shuffle=False: the dataset already reshuffles every epoch; Keras would only warn about it.
    fit = model.fit(train_ds, epochs=epochs, validation_data=val_ds, callbacks=[timer, stop], shuffle=False,
                    verbose=1 if sys.stdout.isatty() else 2)
    train_seconds = time.perf_counter() - started

    val_loss, val_acc = model.evaluate(val_ds, verbose=0)
    probs = model.predict(splits.x_test, batch_size=512, verbose=0)
    test_loss = float(keras.losses.sparse_categorical_crossentropy(splits.y_test, probs).numpy().mean())
    predicted = probs.argmax(axis=1)
    test_acc = float((predicted == splits.y_test).mean())
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (splits.y_test, predicted), 1)
    metrics = {
        "parameters": int(model.count_params()),
        "epochs_run": len(timer.seconds),
        "best_epoch": int(np.argmin(fit.history["val_loss"])) + 1,
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(float(np.mean(timer.seconds)), 2),
        "val_accuracy": float(val_acc),
        "val_loss": float(val_loss),
        "test_accuracy": test_acc,
        "test_loss": test_loss,
    }
    print(f"== {name}: val acc {val_acc:.4f}, test acc {test_acc:.4f}, {train_seconds:.0f}s", flush=True)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items() if k != "learning_rate"}
    return TrainedModel(name, model, metrics, history, confusion)
