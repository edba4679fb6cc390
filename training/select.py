"""The selection rule: highest validation accuracy, ties broken by lower validation loss, then by name.

Test metrics are deliberately not consulted: choosing on the test set would overstate the result.
"""
from __future__ import annotations

from collections.abc import Mapping


def select_best(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """Name of the best model given {name: {"val_accuracy": .., "val_loss": ..}}."""
    if not metrics:
        raise ValueError("no models to choose from")
    return min(metrics, key=lambda name: (-metrics[name]["val_accuracy"], metrics[name]["val_loss"], name))
