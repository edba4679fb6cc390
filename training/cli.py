"""`python -m training`: train the registered CNNs on MNIST, compare them, pick the best, store the run."""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from training.config import SELECTION_WEIGHTS, VAL_SEED, TrainConfig
from training.data import DataError, load_mnist, make_splits, mnist_source
from training.pen_data import PenDataError

DEFAULTS = TrainConfig()


def parse_args(argv: list[str] | None) -> TrainConfig:
    from training.models import MODELS  # keras import is cheap next to training, but --help should not wait on TF
    p = argparse.ArgumentParser(
        prog="python -m training",
        description="Train and compare the CNNs on MNIST, choose the best by validation accuracy, and store "
                    "models, results.json/.csv, report.md and plots in OUT/<timestamp>/ (OUT/latest points "
                    "at the newest complete run).")
    p.add_argument("--models", default=",".join(DEFAULTS.models),
                   help=f"comma-separated subset of: {', '.join(MODELS)} (default: all)")
    p.add_argument("--epochs", type=int, default=None,
                   help="maximum epochs for every model (default per model: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULTS.epochs.items()) + ")")
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="global batch size (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default %(default)s)")
    p.add_argument("--data", default=None,
                   help="MNIST as a directory of the four IDX files (.gz or not) or a Keras mnist.npz "
                        "(default: $MNIST_DIR, else ../shared/data/mnist, else the Keras download)")
    p.add_argument("--pen", default=None,
                   help="real pen strokes (a directory with digits.jsonl.gz and letters.jsonl.gz, UNIPEN "
                        "format) trained on by writer (default: $PEN_DIR, else ../shared/data/unipen if present)")
    p.add_argument("--no-pen", action="store_true", help="train on MNIST alone (plus synthetic non-digits)")
    p.add_argument("--pen-views", type=int, default=DEFAULTS.pen_views, metavar="N",
                   help="renders of each training pen digit, half drawn and half pictured, each augmented "
                        "anew (even, default %(default)s)")
    p.add_argument("--pen-pairs", type=int, default=DEFAULTS.pen_pairs, metavar="N",
                   help="training images of two touching digits of one writer, taught as \"not a digit\" (a "
                        "piece of a number that holds two digits is no one digit), half drawn and half "
                        "pictured (default %(default)s)")
    p.add_argument("--stroke-jitter", type=float, default=DEFAULTS.stroke_jitter, metavar="F",
                   help="move and turn each stroke of a training pen digit written in several strokes on its "
                        "own, by about F of the digit's size (0.05: 5 %%; default %(default)s: not at all)")
    p.add_argument("--extra-data", default=None, metavar="PATH",
                   help="more pen records to train on: the app's corrections.jsonl, the UNIPEN dev set or a "
                        "directory of .jsonl(.gz) files in that format (validation writers stay held out)")
    p.add_argument("--out", default=DEFAULTS.out, help="directory for runs (default %(default)s)")
    p.add_argument("--strategy", default=DEFAULTS.strategy, choices=("auto", "mirrored", "multiworker"),
                   help="tf.distribute strategy; multiworker reads TF_CONFIG (default %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {DEFAULTS.quick_train_size} training images, 1 epoch (unless --epochs)")
    a = p.parse_args(argv)
    models = tuple(m.strip() for m in a.models.split(",") if m.strip())
    unknown = [m for m in models if m not in MODELS]
    if not models or unknown:
        p.error(f"--models: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}")
    if len(set(models)) != len(models):
        p.error("--models: a model is listed twice")
    if a.epochs is not None and a.epochs < 1:
        p.error("--epochs must be at least 1")
    if a.pen_views < 2 or a.pen_views % 2:
        p.error("--pen-views must be an even number, at least 2")
    if a.batch_size < 1:
        p.error("--batch-size must be at least 1")
    if a.pen_pairs < 0:
        p.error("--pen-pairs must be at least 0")
    if not 0 <= a.stroke_jitter <= 0.5:
        p.error("--stroke-jitter must be between 0 and 0.5")
    return dataclasses.replace(
        DEFAULTS, models=models, epochs={m: a.epochs or (1 if a.quick else DEFAULTS.epochs[m]) for m in models},
        batch_size=a.batch_size, seed=a.seed,
        data=a.data, pen=a.pen, no_pen=a.no_pen, pen_views=a.pen_views, pen_pairs=a.pen_pairs,
        stroke_jitter=a.stroke_jitter, extra_data=a.extra_data, out=a.out, strategy=a.strategy, quick=a.quick)


def with_pen_data(splits, cfg: TrainConfig):
    """Splits with the pen training images (and synthetic non-digits) added; (splits, pen source or None)."""
    import numpy as np

    from training.pen_data import load_pen_sets, pen_dir

    source = None if cfg.no_pen else pen_dir(cfg.pen)
    if source is not None and not source.is_dir():
        raise PenDataError(f"{source}: no such directory (pen data; --no-pen trains on MNIST alone)")
    if source is None:
        print("pen data: none (MNIST alone, plus synthetic non-digits); the report says so", flush=True)
    pen = load_pen_sets(source, cfg.seed, letters=cfg.pen_letters, synthetic=cfg.synthetic_rejects,
                        limit=cfg.quick_pen_size if cfg.quick else None, pairs=cfg.pen_pairs,
                        digit_views=("stroke",) * (cfg.pen_views // 2) + ("picture",) * (cfg.pen_views // 2),
                        val_seed=VAL_SEED, stroke_jitter=cfg.stroke_jitter)
    merged = dataclasses.replace(splits, x_train=np.concatenate([splits.x_train, pen.x_train]),
                                 y_train=np.concatenate([splits.y_train, pen.y_train]), pen=pen)
    if cfg.extra_data:
        from training.extra_data import load_extra

        x_extra, y_extra, summary = load_extra(cfg.extra_data, cfg.seed)
        print(summary, flush=True)
        merged = dataclasses.replace(merged, x_train=np.concatenate([merged.x_train, x_extra]),
                                     y_train=np.concatenate([merged.y_train, y_extra]))
    return merged, (str(source) if source else None)


def trained_on(pen_source: str | None) -> str:
    from training.pen_data import PEN_TERMS

    mnist = "MNIST (CC BY-SA 3.0)"
    if pen_source is None:
        return f"{mnist} and synthetic non-digits"
    return f"{mnist}, real pen digits and letters of the training writers of {PEN_TERMS}, synthetic non-digits"


def versions() -> dict:
    import keras
    import numpy
    import tensorflow as tf
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": numpy.__version__, "platform": platform.platform()}


def run(cfg: TrainConfig) -> Path | None:
    """Train every model of `cfg`, write the run, return its final directory (None on non-chief workers)."""
    from training.distribute import is_chief, make_strategy
    from training.report import write_results
    from training.runs import finish_run, new_run_dir
    from training.select import select_best
    from training.train import train_one

    mnist = load_mnist(cfg.data)
    splits = make_splits(mnist, cfg.quick_val_size if cfg.quick else cfg.val_size, VAL_SEED,
                         train_limit=cfg.quick_train_size if cfg.quick else None)
    splits, pen_source = with_pen_data(splits, cfg)
    strategy = make_strategy(cfg.strategy)
    chief = is_chief()
    run_dir = new_run_dir(Path(cfg.out)) if chief else None
    print(f"data: {len(splits.x_train)} train / {len(splits.x_val)} MNIST val / {len(splits.x_test)} test; "
          f"strategy {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s)"
          + (f"; writing {run_dir}" if run_dir else ""), flush=True)

    started = time.perf_counter()
    trained = {}
    for name in cfg.models:
        trained[name] = train_one(name, splits, cfg, strategy, cfg.epochs[name])
        if run_dir:
            trained[name].model.save(run_dir / f"{name}.keras")
    per_model = {name: t.metrics for name, t in trained.items()}
    chosen = select_best(per_model)
    if not run_dir:
        return None
    results = {
        "run_id": run_dir.name.removesuffix(".partial"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": dataclasses.asdict(cfg),
        "seed": cfg.seed,
        "strategy": f"{type(strategy).__name__} x{strategy.num_replicas_in_sync}",
        "versions": versions(),
        "data": {"source": str(mnist_source(cfg.data) or "keras.datasets.mnist"),
                 "train": len(splits.x_train), "val": len(splits.x_val), "test": len(splits.x_test),
                 "pen_source": pen_source,
                 "pen_val_digits": len(splits.pen.y_val_digits) if splits.pen else 0,
                 "pen_val_rejects": len(splits.pen.y_val_reject) if splits.pen else 0,
                 "pen_train_writers": splits.pen.train_writers if splits.pen else 0,
                 "pen_val_writers": splits.pen.val_writers if splits.pen else 0,
                 "trained_on": trained_on(pen_source)},
        "models": per_model,
        "chosen_model": chosen,
        "chosen_path": f"{chosen}.keras",
        "selection_rule": ("highest val_accuracy = weighted mean of validation accuracies "
                           + ", ".join(f"{k} {w}" for k, w in SELECTION_WEIGHTS.items())
                           + " (absent sets drop out), then lowest val_loss"),
        "total_train_seconds": round(sum(m["train_seconds"] for m in per_model.values()), 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    write_results(run_dir, results, {n: t.history for n, t in trained.items()},
                  {n: t.confusion for n, t in trained.items()})
    final = finish_run(run_dir)
    print(f"\nchosen: {chosen} (val acc {per_model[chosen]['val_accuracy']:.4f}, "
          f"test acc {per_model[chosen]['test_accuracy']:.4f}); run stored in {final}", flush=True)
    return final


def main(argv: list[str] | None = None) -> int:
    from training.quiet_tf import import_tensorflow
    from training.runs import LatestNotUpdated, describe_os_error
    cfg = None
    try:  # Ctrl+C during TensorFlow's import is an interrupt too, not a traceback
        import_tensorflow()  # its start-up log lines would precede every one-line error
        cfg = parse_args(argv)
        from training.interrupt import noted
        with noted():
            run(cfg)
    except (DataError, PenDataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except LatestNotUpdated as e:
        print(f"error: {e.strerror}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:
        print(f"error: {describe_os_error(e) if isinstance(e, OSError) else e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if cfg is None:
            print("\ninterrupted before training started", file=sys.stderr)
            return 130
        print("\ninterrupted: the incomplete run stays in its .partial directory; runs/latest is unchanged",
              file=sys.stderr)
        return 130
    return 0
