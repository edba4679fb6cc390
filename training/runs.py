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


class LatestNotUpdated(OSError):
    """The run is complete under its final name, but the `latest` link could not be switched to it."""


def finish_run(partial: Path) -> Path:
    """Rename the complete run to its final name and point `latest` at it; returns the final path.

    If the link cannot be made (a full inode table, a read-only directory) the run is still complete:
    LatestNotUpdated says so and names it, and `latest` keeps naming the previous run.
    """
    final = partial.with_name(partial.name.removesuffix(".partial"))
    partial.rename(final)
    link = final.parent / LATEST
    tmp = final.parent / f".{LATEST}.{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(final.name, target_is_directory=True)
        os.replace(tmp, link)  # atomic on POSIX: readers see the old run or the new one, never neither
    except OSError as e:
        _unlink_quietly(tmp)
        raise LatestNotUpdated(e.errno, f"the run is complete in {final}, but {link} could not be pointed at it "
                               f"({e.strerror or e}); pass --run {final} to use it") from None
    return final


def save_reader_run(out: Path, model, results: dict, val_file: str, **val_arrays) -> Path:
    """Write a reader's run (training.sequence, training.trajectory) as one: `model.keras`, its held-out
    arrays in `val_file` (what the export's parity check reads) and `results.json`; returns the final path."""
    import json

    import numpy as np

    run = new_run_dir(out)
    model.save(run / "model.keras")
    np.savez_compressed(run / val_file, **val_arrays)
    write_atomic(run / "results.json", json.dumps(results, indent=2))
    return finish_run(run)


def resolve_run(path: str | os.PathLike) -> Path:
    """A complete run directory from its path or a `latest` link; FileNotFoundError says what is wrong."""
    run = Path(path).resolve()
    if run.name.endswith(".partial"):
        raise FileNotFoundError(f"{path}: an incomplete run (still .partial: interrupted or still training); "
                                "export a complete run")
    if not run.is_dir() or not (run / "results.json").is_file():
        raise FileNotFoundError(f"{path}: not a complete training run (no results.json); run `python -m training` first")
    return run


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it.

    On any failure (disk full, `path` a directory, Ctrl+C) the temp file is removed, `path` is as it
    was, and the OSError names `path`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        _unlink_quietly(tmp)
        if isinstance(e, OSError) and e.filename != str(path):
            raise OSError(e.errno, f"cannot write: {e.strerror or e}", str(path)) from None
        raise


def describe_os_error(e: OSError) -> str:
    """'path: reason' for an OSError, the way every one-line error here names its file."""
    if e.filename is not None:
        return f"{e.filename}: {e.strerror or e}"
    return str(e)


def exit_status(work, bad_input: tuple) -> int:
    """Run `work()` as a training command does: 0 done; 2 and one line for `bad_input` errors; 1 and one line
    when the run cannot be written; 130 when interrupted (no run written)."""
    import sys

    from training.interrupt import noted

    try:
        with noted():  # a Ctrl+C that TensorFlow swallows still stops the fit
            work()
    except bad_input as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no run written", file=sys.stderr)
        return 130
    return 0


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
