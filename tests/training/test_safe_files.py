"""Writing and reading files safely: no temp file left on failure, errors that name the file, bombs refused early."""
import errno
import gzip
import os
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from tests.conftest import ROOT
from training.data import IMAGES_MAGIC, DataError, read_idx
from training.runs import LatestNotUpdated, finish_run, new_run_dir, resolve_run, write_atomic


def test_write_atomic_onto_a_directory_names_it_and_leaves_nothing(tmp_path):
    target = tmp_path / "model.onnx"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        write_atomic(target, b"data")
    assert raised.value.filename == str(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_write_atomic_interrupted_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "digits.onnx"
    target.write_bytes(b"installed")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new model")
    assert target.read_bytes() == b"installed" and [p.name for p in tmp_path.iterdir()] == ["digits.onnx"]


WRITE_PAST_LIMIT = """
import resource, signal, sys
from pathlib import Path
from training.runs import write_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    write_atomic(Path(sys.argv[1]), b"x" * 100_000)
except OSError as e:
    print(e.filename, e.errno)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_write_atomic_when_the_disk_refuses_names_the_file_and_cleans_up(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    done = subprocess.run([sys.executable, "-c", WRITE_PAST_LIMIT, str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [str(target), str(errno.EFBIG)], done.stderr
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_latest_that_cannot_be_switched_is_said_and_the_run_kept(tmp_path, monkeypatch):
    first = finish_run(new_run_dir(tmp_path))
    second = new_run_dir(tmp_path)

    def no_inodes(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(tmp_path), "symlink_to", no_inodes)
    with pytest.raises(LatestNotUpdated, match="the run is complete in .*, but .*latest could not be pointed at it"):
        finish_run(second)
    final = second.with_name(second.name.removesuffix(".partial"))
    assert final.is_dir() and (tmp_path / "latest").resolve() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, final.name, "latest"])


def test_a_partial_run_is_never_resolved(tmp_path):
    partial = new_run_dir(tmp_path)
    (partial / "results.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="incomplete run"):
        resolve_run(partial)


def idx_header(count):
    return struct.pack(">IIII", IMAGES_MAGIC, count, 28, 28)


def test_gzip_bomb_refused_without_inflating_it(tmp_path):
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(idx_header(10))
        block = bytes(1 << 20)
        for _ in range(200):  # 200 MB of zeros behind a header that promises 7,840 bytes
            f.write(block)
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="more data than header"):
            read_idx(bomb, IMAGES_MAGIC)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


def test_header_claiming_absurd_counts_or_sizes_refused(tmp_path):
    huge = tmp_path / "huge"
    huge.write_bytes(idx_header(4_000_000_000))
    with pytest.raises(DataError, match="claims 4000000000 samples"):
        read_idx(huge, IMAGES_MAGIC)
    odd = tmp_path / "odd"
    odd.write_bytes(struct.pack(">IIII", IMAGES_MAGIC, 1, 28, 29) + bytes(28 * 29))
    with pytest.raises(DataError, match="28x29 pixels"):
        read_idx(odd, IMAGES_MAGIC)


def test_good_gzip_still_reads(tmp_path):
    path = tmp_path / "x.gz"
    images = np.arange(3 * 28 * 28, dtype=np.uint8)
    with gzip.open(path, "wb") as f:
        f.write(idx_header(3) + images.tobytes())
    assert (read_idx(path, IMAGES_MAGIC).ravel() == images).all()
