"""Run directories: written under `<id>.partial/`, renamed when complete, then `latest` is swapped atomically.

An interrupted run therefore never shows up as complete, and `latest` always names a whole run.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

LATEST = "latest"


def new_run_dir(out: Path) -> Path:
    """Create and return `out/<UTC timestamp>.partial/`, unique even for runs started in the same second."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        name = stamp if n == 0 else f"{stamp}-{n}"
        if not (out / name).exists():
            try:
                (out / f"{name}.partial").mkdir()
                return out / f"{name}.partial"
            except FileExistsError:
                continue
    raise RuntimeError(f"{out}: cannot create a unique run directory")


def finish_run(partial: Path) -> Path:
    """Rename the complete run to its final name and point `latest` at it; returns the final path."""
    final = partial.with_name(partial.name.removesuffix(".partial"))
    partial.rename(final)
    link = final.parent / LATEST
    tmp = final.parent / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(final.name, target_is_directory=True)
    os.replace(tmp, link)  # atomic on POSIX: readers see the old run or the new one, never neither
    return final


def resolve_run(path: str | os.PathLike) -> Path:
    """A run directory from its path or a `latest` link; raises FileNotFoundError with a clear message."""
    run = Path(path).resolve()
    if not run.is_dir() or not (run / "results.json").is_file():
        raise FileNotFoundError(f"{path}: not a complete training run (no results.json); run `python -m training` first")
    return run


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
