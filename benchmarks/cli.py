"""`python -m benchmarks`: measure the project against its goals; write BENCHMARKS.md and benchmarks.json."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks import app_figures, model_figures
from benchmarks.stats import Row, machine

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {
    "training": model_figures.training,
    "quick": model_figures.quick_run,
    "model": model_figures.shipped_model,
    "latency": model_figures.latency,
    "canvas": app_figures.canvas_latency,
    "robustness": app_figures.robustness,
    "memory": app_figures.memory,
    "exe": app_figures.executable,
    "peer": model_figures.peer,
}


TITLES = {
    "training": "Training: the three CNNs on the full MNIST (latest run)",
    "quick": "The smoke run",
    "model": "The shipped ONNX model",
    "latency": "Inference latency: onnxruntime vs Keras",
    "canvas": "From canvas to answer",
    "robustness": "Robustness: MNIST re-drawn on a large canvas",
    "memory": "Memory",
    "exe": "The executable",
    "peer": "Peer: the Keras examples' simple MNIST convnet, same data and budget",
}


@dataclass
class Context:
    """What the sections measure: a training run, the shipped model, the executable, MNIST."""
    run: Path
    model: Path
    exe: Path
    mnist: object
    repeats: int
    robust_images: int

    @property
    def keras_model(self) -> Path:
        results = json.loads((self.run / "results.json").read_text())
        return self.run / f"{results['chosen_model']}.keras"

    @property
    def x_test(self) -> np.ndarray:
        return (self.mnist.x_test / 255.0).astype(np.float32)[..., None]

    @property
    def y_test(self) -> np.ndarray:
        return self.mnist.y_test.astype(np.int64)


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Benchmarks", "",
             f"Measured {meta['measured_at']} on {meta['machine']}. Written by `python -m benchmarks` "
             "(`make bench`); each row names the command that produced it. Timings are medians (p50) and "
             "95th percentiles of repeated runs.", ""]
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            lines += ["", f"## {TITLES.get(section, section)}", "", "| metric | value | goal | command |", "| --- | --- | --- | --- |"]
        lines.append(f"| {r['metric']} | {r['value']} | {r['goal']} | `{r['command']}` |")
    return "\n".join(lines) + "\n"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to (re)measure (default all: {', '.join(SECTIONS)}); "
                        "figures of other sections are kept from the previous benchmarks.json")
    p.add_argument("--run", default="runs/latest", help="training run (default %(default)s)")
    p.add_argument("--model", type=Path, default=ROOT / "app" / "models" / "digits.onnx", help="ONNX model")
    p.add_argument("--exe", type=Path, default=ROOT / "dist" / "digit-recognizer", help="built executable")
    p.add_argument("--data", help="MNIST (default: $MNIST_DIR)")
    p.add_argument("--repeats", type=int, default=200, help="timed repetitions per latency (default %(default)s)")
    p.add_argument("--robust-images", type=int, default=10000, help="test images re-drawn (default %(default)s)")
    p.add_argument("--out", type=Path, default=ROOT, help="directory for BENCHMARKS.md and benchmarks.json")
    a = p.parse_args(argv)
    a.only = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = [s for s in a.only if s not in SECTIONS]
    if unknown or not a.only:
        p.error(f"--only: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    from training.data import DataError, load_mnist
    from training.runs import resolve_run, write_atomic
    try:
        ctx = Context(run=resolve_run(args.run), model=args.model, exe=args.exe, mnist=load_mnist(args.data),
                      repeats=args.repeats, robust_images=args.robust_images)
        if not args.model.is_file():
            raise FileNotFoundError(f"{args.model}: no model; run `python -m export` first")
    except (DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    json_path = args.out / "benchmarks.json"
    previous = json.loads(json_path.read_text())["rows"] if json_path.is_file() else []
    fresh: dict[str, list[Row]] = {}
    for name in args.only:
        print(f"[{name}] measuring ...", flush=True)
        t = time.perf_counter()
        fresh[name] = SECTIONS[name](ctx)
        for r in fresh[name]:
            print(f"  {r.metric}: {r.value}" + (f"  (goal {r.goal})" if r.goal else ""), flush=True)
        print(f"[{name}] {time.perf_counter() - t:.0f} s", flush=True)

    rows = []
    for name in SECTIONS:  # fixed order; untouched sections keep their previous figures
        if name in fresh:
            rows += [{**r.as_dict(), "section": name} for r in fresh[name]]
        else:
            rows += [r for r in previous if r["section"] == name]
    meta = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    write_atomic(json_path, json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    write_atomic(args.out / "BENCHMARKS.md", markdown(rows, meta))
    print(f"wrote {args.out / 'BENCHMARKS.md'}")
    return 0
