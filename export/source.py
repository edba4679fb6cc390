"""Which Keras model to export: a complete run's results.json and a model inside it, checked before TensorFlow loads."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from training.runs import resolve_run

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a file name in the run directory, never a path


@dataclass(frozen=True)
class Source:
    run_dir: Path
    results: dict
    name: str

    @property
    def keras_path(self) -> Path:
        return self.run_dir / f"{self.name}.keras"

    @property
    def stats(self) -> dict:
        return self.results["models"][self.name]


def read_results(path: Path):
    """The parsed JSON of a run's results.json; ValueError naming the file when it is no JSON text."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


def find_source(run: str, model_name: str | None) -> Source:
    """The run and model to export; FileNotFoundError or ValueError naming the file that is wrong."""
    run_dir = resolve_run(run)
    path = run_dir / "results.json"
    results = read_results(path)
    if not isinstance(results, dict) or not isinstance(results.get("models"), dict) or not results["models"]:
        raise ValueError(f"{path}: not a training run's results (expected an object with a \"models\" table)")
    models = results["models"]
    name = model_name if model_name is not None else results.get("chosen_model")
    if name is None:
        raise ValueError(f"{path}: no \"chosen_model\"; name one with --model ({', '.join(map(str, models))})")
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{path}: model name {str(name)[:80]!r} is not a plain name (no paths allowed)")
    if name not in models or not isinstance(models[name], dict):
        raise ValueError(f"{run_dir}: no model {name!r}; the run has {', '.join(map(str, models))}")
    missing = [key for key in ("run_id", "finished_at") if not isinstance(results.get(key), str)]
    missing += [f"models.{name}.val_accuracy"] * (not isinstance(models[name].get("val_accuracy"), (int, float)))
    if missing:
        raise ValueError(f"{path}: missing or malformed {', '.join(missing)}")
    source = Source(run_dir, results, name)
    if not source.keras_path.is_file():
        raise FileNotFoundError(f"{source.keras_path}: no such file (the run names {name!r} but lacks its model)")
    return source
