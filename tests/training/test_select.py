import pytest

from training.select import select_best


def test_highest_val_accuracy_wins_even_with_worse_test():
    metrics = {"a": {"val_accuracy": 0.990, "val_loss": 0.05, "test_accuracy": 0.999},
               "b": {"val_accuracy": 0.995, "val_loss": 0.09, "test_accuracy": 0.980}}
    assert select_best(metrics) == "b"


def test_tie_broken_by_lower_val_loss():
    metrics = {"a": {"val_accuracy": 0.99, "val_loss": 0.04}, "b": {"val_accuracy": 0.99, "val_loss": 0.03},
               "c": {"val_accuracy": 0.98, "val_loss": 0.01}}
    assert select_best(metrics) == "b"


def test_full_tie_is_deterministic():
    metrics = {"z": {"val_accuracy": 0.9, "val_loss": 0.1}, "m": {"val_accuracy": 0.9, "val_loss": 0.1}}
    assert select_best(metrics) == "m"


def test_empty_refused():
    with pytest.raises(ValueError):
        select_best({})
