"""Write a run's results: results.json, results.csv, report.md and the PNG plots."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from training.runs import write_atomic

CSV_COLUMNS = ("model", "parameters", "epochs_run", "best_epoch", "train_seconds", "seconds_per_epoch",
               "val_accuracy", "mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy", "val_loss",
               "temperature", "ece_before", "ece_after", "sure_threshold", "sure_share", "sure_accuracy",
               "test_accuracy", "test_loss", "chosen")


def results_csv(per_model: dict[str, dict], chosen: str) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for name, m in per_model.items():
        writer.writerow({"model": name, **{k: m.get(k) for k in CSV_COLUMNS[1:-1]}, "chosen": name == chosen})
    return buf.getvalue()


def report_markdown(results: dict) -> str:
    """The comparison table and the choice, as Markdown."""
    chosen = results["chosen_model"]
    cfg = results["config"]
    data = results["data"]
    pen = (f"real pen handwriting: {data['pen_val_digits']} validation images of digits and "
           f"{data['pen_val_rejects']} of non-digits from {data['pen_val_writers']} held-out writers "
           f"({data['pen_train_writers']} writers trained on), from {data['pen_source']}"
           if data.get("pen_source") else "**no real pen data**: MNIST alone (the pen columns are empty)")
    lines = [
        f"# Training run {results['run_id']}",
        "",
        f"Data: {data['train']} training images ({data.get('trained_on', 'MNIST')}); "
        f"{data['val']} MNIST validation / {data['test']} MNIST test images; {pen}. Seed {cfg['seed']}, "
        f"batch {cfg['batch_size']}, epochs (max) {', '.join(f'{k} {v}' for k, v in cfg['epochs'].items())}, "
        f"strategy {results['strategy']}{', QUICK smoke run' if cfg['quick'] else ''}.",
        "",
        "Validation accuracies count a digit read as \"not a digit\" as wrong; the score is the weighted mean "
        f"used to choose ({results['selection_rule']}). T is the calibration temperature fitted on validation, "
        "ECE the expected calibration error before -> after it, \"sure\" the confidence threshold chosen on the "
        "pen validation writers so that sure answers are right 99.5 % of the time.",
        "",
        "| model | parameters | epochs | train s | s/epoch | score | MNIST val | pen val | not-a-digit val "
        "| T | ECE | sure >= | MNIST test acc | test loss |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in results["models"].items():
        mark = "**" if name == chosen else ""
        lines.append(
            f"| {mark}{name}{mark} | {m['parameters']:,} | {m['epochs_run']} | {m['train_seconds']:.0f} | "
            f"{m['seconds_per_epoch']:.1f} | {m['val_accuracy']:.2%} | {_pct(m.get('mnist_val_accuracy'))} | "
            f"{_pct(m.get('pen_val_accuracy'))} | {_pct(m.get('reject_val_accuracy'))} | "
            f"{m.get('temperature', 1.0):.2f} | {m.get('ece_before', 0):.3f} -> {m.get('ece_after', 0):.3f} | "
            f"{m.get('sure_threshold', 0):.3f} | {m['test_accuracy']:.2%} | {m['test_loss']:.4f} |")
    best = results["models"][chosen]
    lines += [
        "",
        f"**Chosen: {chosen}** (highest validation score, ties broken by lower validation loss; the test "
        f"set is reported, never used to choose). Its test accuracy: {best['test_accuracy']:.2%}.",
        "",
        f"Total training time: {results['total_train_seconds']:.0f} s.",
        "",
        "![learning curves](learning_curves.png)",
        "",
        *[f"![{name} confusion matrix](confusion_{name}.png)" for name in results["models"]],
        "",
    ]
    return "\n".join(lines)


def _pct(value) -> str:
    return "—" if value is None or value != value else f"{value:.2%}"


def plot_learning_curves(histories: dict[str, dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # no display on build machines
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in histories.items():
        epochs = np.arange(1, len(h["val_accuracy"]) + 1)
        line, = ax_acc.plot(epochs, h["val_accuracy"], marker="o", label=f"{name} val")
        ax_acc.plot(epochs, h["accuracy"], linestyle="--", color=line.get_color(), label=f"{name} train")
        ax_loss.plot(epochs, h["val_loss"], marker="o", color=line.get_color(), label=f"{name} val")
        ax_loss.plot(epochs, h["loss"], linestyle="--", color=line.get_color(), label=f"{name} train")
    ax_acc.set(title="accuracy", xlabel="epoch")
    ax_loss.set(title="loss", xlabel="epoch", yscale="log")
    ax_acc.legend(fontsize=8)
    ax_acc.grid(alpha=0.3)
    ax_loss.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, name: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    # Log colour scale: the diagonal would otherwise wash out the few mistakes worth seeing.
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for (i, j), n in np.ndenumerate(confusion):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=6,
                    color="white" if i == j else "black")
    ax.set(title=f"{name}: test confusion", xlabel="predicted", ylabel="true",
           xticks=range(confusion.shape[1]), yticks=range(10),
           xticklabels=[str(d) for d in range(10)] + ["not"] * (confusion.shape[1] - 10))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_results(run_dir: Path, results: dict, histories: dict, confusions: dict) -> None:
    """All result files of a run; each is written atomically."""
    write_atomic(run_dir / "results.json", json.dumps(results, indent=2) + "\n")
    write_atomic(run_dir / "results.csv", results_csv(results["models"], results["chosen_model"]))
    write_atomic(run_dir / "report.md", report_markdown(results))
    plot_learning_curves(histories, run_dir / "learning_curves.png")
    for name, confusion in confusions.items():
        plot_confusion(confusion, name, run_dir / f"confusion_{name}.png")
