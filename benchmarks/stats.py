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
