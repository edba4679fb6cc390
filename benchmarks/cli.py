"""`python -m benchmarks`: measure the project against its goals; write BENCHMARKS.md and benchmarks.json."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np

from benchmarks import adapt_figures, app_figures, model_figures, pen_figures, reliability, window_figures
from benchmarks.stats import Row, machine

ROOT = Path(__file__).resolve().parents[1]
# Fixed order, whatever --only lists: every section timing onnxruntime in this process comes before the
# first one that imports TensorFlow here ("peer"), whose thread pools would skew those timings.
SECTIONS = {
    "training": model_figures.training,
    "quick": model_figures.quick_run,
    "model": model_figures.shipped_model,
    "latency": model_figures.latency,
    "canvas": app_figures.canvas_latency,
    "robustness": app_figures.robustness,
    "pen": pen_figures.pen,
    "window": window_figures.window,
    "adaptation": adapt_figures.adaptation,
    "why": adapt_figures.why,
    "reliability": reliability.reliability,
    "memory": app_figures.memory,
    "exe": app_figures.executable,
    "peer": model_figures.peer,
}
IMPORTS_TENSORFLOW = {"peer"}  # must stay last: see SECTIONS


TITLES = {
    "training": "Training: the three CNNs on MNIST and real pen writers (latest run)",
    "quick": "The smoke run",
    "model": "The shipped ONNX model",
    "latency": "Inference latency: onnxruntime vs Keras",
    "canvas": "From canvas to answer: the window's read path",
    "robustness": "Robustness: MNIST re-drawn on a large canvas",
    "pen": "Real handwriting: held-out pen writers drawn into the window (the measure of the model)",
    "window": "The real window, driven like a person: held-out pen numbers drawn with xdotool",
    "adaptation": "Personal adaptation: held-out pen writers' own corrections, read right at once",
    "why": "Why-view: occlusion maps, faithful and fast",
    "reliability": "Reliability: bad inputs and fuzzed pictures through `predict`",
    "memory": "Memory",
    "exe": "The executable",
    "peer": "Peer: the Keras examples' simple MNIST convnet, trained with our chosen model's budget",
}

PASS_MARK = {True: "pass", False: "**fail**", None: "—"}


class Context:
    """What the sections measure: a training run, the shipped model, the executable, MNIST.

    The run and MNIST are looked up when a section first needs them, so `--only canvas` works
    without a training run."""

    def __init__(self, run: str, model: Path, exe: Path, data: str | None, repeats: int, robust_images: int):
        self._run, self._data = run, data
        self.model, self.exe, self.repeats, self.robust_images = model, exe, repeats, robust_images

    @cached_property
    def run(self) -> Path:
        from training.runs import resolve_run
        return resolve_run(self._run)

    @cached_property
    def mnist(self):
        """MNIST from --data, $MNIST_DIR or ../shared/data/mnist; never Keras' download, which would
        import TensorFlow into this process before the onnxruntime timings."""
        from training.data import DEFAULT_MNIST_DIR, DataError, load_mnist, mnist_source
        source = mnist_source(self._data)
        if source is None or not source.exists():
            raise DataError(f"{source or DEFAULT_MNIST_DIR}: no MNIST here; pass --data DIR (the four IDX files) "
                            "or set MNIST_DIR")
        return load_mnist(source)

    @cached_property
    def x_test(self) -> np.ndarray:
        return (self.mnist.x_test / 255.0).astype(np.float32)[..., None]

    @property
    def y_test(self) -> np.ndarray:
        return self.mnist.y_test.astype(np.int64)


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Benchmarks", "",
             f"Measured {meta['measured_at']} on {meta['machine']}. Written by `python -m benchmarks` "
             "(`make bench`); each row names the command that produced it. \"basis\" says how a figure was "
             "obtained: timings are the median (p50) and 95th percentile of N timed runs after warm-up, "
             "other figures come from a single run or an exact count. \"pass\" compares the value with "
             "its goal (— where the row has none). Each section says when it was measured and how busy the "
             "machine was (load average over the minute before; timings on a busy machine run slow).", ""]
    if any("passed" not in r for r in rows):
        lines += ["Rows marked ? were measured by an older version of the benchmarks that did not check "
                  "goals; re-run their section.", ""]
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            lines += ["", f"## {TITLES.get(section, section)}", ""]
            if r.get("measured_at"):
                lines += [f"Measured {r['measured_at']}, load average {r.get('load', '?')}.", ""]
            lines += ["| metric | value | goal | pass | basis | command |", "| --- | --- | --- | --- | --- | --- |"]
        mark = PASS_MARK[r["passed"]] if "passed" in r else "?"
        lines.append(f"| {r['metric']} | {r['value']} | {r['goal']} | {mark} | {r.get('basis', '')} "
                     f"| `{r['command']}` |")
    return "\n".join(lines) + "\n"


def merge(previous: list[dict], fresh: dict[str, list[Row]], when: dict | None = None) -> list[dict]:
    """Rows of every section in SECTIONS order: re-measured ones from `fresh` (stamped with `when[name]`,
    e.g. the time and load), the others as before."""
    rows = []
    for name in SECTIONS:
        if name in fresh:
            rows += [{**r.as_dict(), "section": name, **(when or {}).get(name, {})} for r in fresh[name]]
        else:
            rows += [r for r in previous if r["section"] == name]
    return rows


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to (re)measure (default all: {', '.join(SECTIONS)}); "
                        "figures of other sections are kept from the previous benchmarks.json")
    p.add_argument("--run", default="runs/latest", help="training run (default %(default)s)")
    p.add_argument("--model", type=Path, default=ROOT / "app" / "models" / "digits.onnx", help="ONNX model")
    p.add_argument("--exe", type=Path, default=ROOT / "dist" / "digit-recognizer", help="built executable")
    p.add_argument("--data", help="MNIST IDX directory or mnist.npz (default: $MNIST_DIR, else ../shared/data/mnist)")
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
    from training.runs import write_atomic

    if not args.model.is_file():
        print(f"error: {args.model}: no model; run `python -m export` first", file=sys.stderr)
        return 2
    ctx = Context(run=args.run, model=args.model, exe=args.exe, data=args.data, repeats=args.repeats,
                  robust_images=args.robust_images)
    json_path = args.out / "benchmarks.json"
    previous = json.loads(json_path.read_text())["rows"] if json_path.is_file() else []
    fresh: dict[str, list[Row]] = {}
    when: dict[str, dict] = {}
    failed = False
    for name in [s for s in SECTIONS if s in args.only]:  # SECTIONS order, not the order --only gives
        print(f"[{name}] measuring ...", flush=True)
        t = time.perf_counter()
        when[name] = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "load": f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"}
        try:
            fresh[name] = SECTIONS[name](ctx)
        except Exception as e:  # one broken section must not lose the others' figures
            print(f"error: [{name}] {type(e).__name__}: {e}; its previous figures are kept", file=sys.stderr,
                  flush=True)
            failed = True
            continue
        for r in fresh[name]:
            mark = "" if r.passed is None else ("  PASS" if r.passed else "  FAIL")
            print(f"  {r.metric}: {r.value}" + (f"  (goal {r.goal})" if r.goal else "") + mark, flush=True)
        print(f"[{name}] {time.perf_counter() - t:.0f} s", flush=True)

    rows = merge(previous, fresh, when)
    meta = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(json_path, json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    write_atomic(args.out / "BENCHMARKS.md", markdown(rows, meta))
    print(f"wrote {args.out / 'BENCHMARKS.md'}")
    return 1 if failed else 0
