"""training.train.train_one runs every epoch of its schedule and keeps the best one (config.patience None), or
stops after `patience` epochs without a lower validation loss when one is given."""
import dataclasses

import keras
import pytest

from training.config import TrainConfig
from training.data import load_mnist, make_splits


@pytest.fixture(scope="module")
def splits(mnist_dir):
    return make_splits(load_mnist(mnist_dir), 200, 42, train_limit=256, test_limit=200)


@pytest.mark.parametrize("patience, expected", [(None, 3), (1, 1)])
def test_early_stopping_waits_for_the_whole_schedule_unless_told(splits, patience, expected, monkeypatch):
    import tensorflow as tf

    from training.train import train_one

    seen = []
    real = keras.callbacks.EarlyStopping

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.callbacks, "EarlyStopping", spy)
    cfg = dataclasses.replace(TrainConfig(), patience=patience, batch_size=64)
    trained = train_one("simplified", splits, cfg, tf.distribute.get_strategy(), epochs=3)
    (kwargs,) = seen
    assert kwargs["patience"] == expected and kwargs["restore_best_weights"] and kwargs["monitor"] == "val_loss"
    if patience is None:
        assert trained.metrics["epochs_run"] == 3
