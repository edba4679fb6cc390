"""Timing helpers and the row every figure becomes."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Row:
    """One line of BENCHMARKS.md: what was measured, its value, the goal it answers and whether it is met
    (None: no goal), how the value was obtained (`basis`: "p50 of 200 runs", "single run", ...), and the
    command that reproduces it."""
    metric: str
    value: str
    goal: str = ""
    command: str = ""
    basis: str = ""
    passed: bool | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def runs(n: int) -> str:
    """The basis of a timed figure: its p50/p95 over n repetitions."""
    return f"p50/p95 of {n} runs"


SINGLE = "single run"


def timings_ms(fn, repeats: int, warmup: int = 3) -> np.ndarray:
    """Wall times of `repeats` calls of fn(), in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = np.empty(repeats)
    for i in range(repeats):
        t = time.perf_counter()
        fn()
        out[i] = (time.perf_counter() - t) * 1000
    return out


def in_turns_ms(fns, repeats: int, turn: int = 20, warmup: int = 3) -> list[np.ndarray]:
    """Times in ms of `repeats` calls of each of `fns`, taken in turns of `turn` calls each.

    Each fn times itself and returns its milliseconds (so it can prepare a call untimed). A shared
    host's speed drifts by a third within a minute; timed one after the other, two figures' ratio
    would be the drift's, timed in turns it is the code's. Turns of calls, not single ones, so that
    each call still finds its own work in the cache, as a loop of one kind does.
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    out = [np.empty(repeats) for _ in fns]
    for start in range(0, repeats, turn):
        for fn, times in zip(fns, out):
            for i in range(start, min(start + turn, repeats)):
                times[i] = fn()
    return out


def timed(fn):
    """fn as a callable that returns its own wall time in ms (for in_turns_ms)."""
    def call() -> float:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1000
    return call


def p50_p95(ms: np.ndarray) -> str:
    return f"p50 {np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"
