"""model.fit by hand for MultiWorkerMirroredStrategy, which Keras 3's fit() cannot train under (keras#20585).

Same compiled model, optimizer and loss, same datasets, same callbacks (epoch timer, early stopping with
best weights kept), same history keys; every worker runs it, in lock step.
"""
from __future__ import annotations

import hashlib
import time

import keras
import numpy as np
import tensorflow as tf


def fit_distributed(model: keras.Model, strategy: tf.distribute.Strategy, train_ds: tf.data.Dataset,
                    val_ds: tf.data.Dataset, epochs: int, callbacks: list) -> keras.callbacks.History:
    """Train the compiled `model` (built under strategy.scope()) on global batches of `train_ds`, validate on
    `val_ds` every epoch; returns a History with loss, accuracy, val_loss and val_accuracy per epoch."""
    loss_fn = keras.losses.get(model.loss)  # the compiled loss, per example
    with strategy.scope():
        # Slot variables must exist before the first step: a tf.function cannot create them in replica context.
        model.optimizer.build(model.trainable_variables)
    train_step, val_step = _steps(model, strategy, loss_fn)
    train_dist, val_dist = (strategy.experimental_distribute_dataset(_shard_by_data(ds)) for ds in (train_ds, val_ds))

    history = keras.callbacks.History()
    callbacks = [*callbacks, history]
    model.stop_training = False
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        started = time.perf_counter()
        loss, accuracy = _run_epoch(train_step, train_dist)
        val_loss, val_accuracy = _run_epoch(val_step, val_dist)
        logs = {"loss": loss, "accuracy": accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy}
        print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - started:.0f}s - "
              + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()  # EarlyStopping puts the best epoch's weights back here
    # Synchronous training leaves every worker with the same weights; the log lets anyone compare them.
    print(f"final weights sha256 {weights_digest(model)}", flush=True)
    return history


def weights_digest(model: keras.Model) -> str:
    """sha256 over the model's weight arrays, in order: equal digests, equal weights."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def local_copy(model: keras.Model) -> keras.Model:
    """The trained model as a plain one on this worker alone (same weights, compile settings and optimizer
    state): Keras 3's evaluate/predict cannot run under MultiWorkerMirroredStrategy either, and what follows
    training (calibration, test metrics, saving) is the same computation on every worker."""
    if tf.distribute.has_strategy():
        raise RuntimeError("local_copy must be called outside strategy.scope()")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile_from_config(model.get_compile_config())
    copy.optimizer.build(copy.trainable_variables)
    for mine, theirs in zip(copy.optimizer.variables, model.optimizer.variables, strict=True):
        mine.assign(theirs.numpy())
    return copy


def _steps(model: keras.Model, strategy: tf.distribute.Strategy, loss_fn):
    """tf.functions of one distributed batch -> (summed loss, correct answers, examples) over all replicas."""
    def tallies(y, probs):
        per_example = loss_fn(y, probs)
        correct = tf.cast(tf.equal(tf.argmax(probs, axis=-1), tf.cast(y, tf.int64)), tf.float32)
        return tf.reduce_sum(per_example), tf.reduce_sum(correct), tf.cast(tf.shape(y)[0], tf.float32)

    def train_replica(x, y):
        # The mean over the GLOBAL batch: Keras 3's optimizer sums the replicas' gradients (all-reduce)
        # inside apply_gradients. The last batch is short, so its size is summed over the replicas too.
        global_count = tf.distribute.get_replica_context().all_reduce("sum", tf.cast(tf.shape(y)[0], tf.float32))
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss_sum, correct, count = tallies(y, probs)
            loss = loss_sum / tf.maximum(global_count, 1.0)
            if model.losses:  # regularisation terms: each replica adds its share
                loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss_sum, correct, count

    def val_replica(x, y):
        return tallies(y, model(x, training=False))

    def distributed(replica_fn):
        @tf.function
        def step(batch):
            per_replica = strategy.run(replica_fn, args=batch)
            return [strategy.reduce("sum", t, axis=None) for t in per_replica]
        return step

    return distributed(train_replica), distributed(val_replica)


def _run_epoch(step, dist_ds) -> tuple[float, float]:
    """(mean loss per example, accuracy) of one pass over a distributed dataset."""
    totals = [0.0, 0.0, 0.0]
    for batch in dist_ds:
        totals = [t + float(v) for t, v in zip(totals, step(batch))]
    loss_sum, correct, count = totals
    return loss_sum / max(count, 1.0), correct / max(count, 1.0)


def _shard_by_data(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Each worker builds the same (seeded) global batches and keeps its replicas' slices of them:
    in-memory arrays have no files to shard by. The rewritten pipeline's first epoch is the one-machine
    order; later reshuffles differ from it but agree across workers (checked: disjoint halves, each epoch)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
