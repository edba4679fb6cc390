"""Pick the tf.distribute strategy: one device, mirrored replicas on one machine, or several workers."""
from __future__ import annotations

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "mirrored", "multiworker")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """auto: mirrored over GPUs when there are several, else the default; mirrored: all GPUs, else all
    logical CPUs; multiworker: MultiWorkerMirroredStrategy configured by $TF_CONFIG."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "multiworker":
        # First: collective ops can only be configured before anything (listing devices too) starts TF.
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--strategy multiworker needs TF_CONFIG (cluster and task) in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    devices = gpus or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])


def is_chief() -> bool:
    """Only the chief (or worker 0 when no chief is named) writes the run; a single machine always does."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task")
    if not task or task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in tf_config.get("cluster", {})


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """True for MultiWorkerMirroredStrategy, whose training goes through training.loop, not model.fit."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
