import gzip
import struct

import numpy as np
import pytest

from training.data import DataError, load_mnist, make_splits, read_idx, IMAGES_MAGIC, LABELS_MAGIC


def idx_bytes(magic, array):
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_idx_dir(tmp_path, n_train=30, n_test=10, gz=False, **overrides):
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": idx_bytes(IMAGES_MAGIC, rng.integers(0, 256, (n_train, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(LABELS_MAGIC, np.arange(n_train) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(IMAGES_MAGIC, rng.integers(0, 256, (n_test, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(LABELS_MAGIC, np.arange(n_test) % 10),
    }
    files.update(overrides)
    for name, data in files.items():
        if gz:
            with gzip.open(tmp_path / (name + ".gz"), "wb") as f:
                f.write(data)
        else:
            (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("gz", [False, True])
def test_good_idx_dir(tmp_path, gz):
    d = load_mnist(write_idx_dir(tmp_path, gz=gz))
    assert d.x_train.shape == (30, 28, 28) and d.x_train.dtype == np.uint8
    assert d.y_test.tolist() == list(range(10))


def test_without_a_source_the_workspace_copy_beside_the_repo_is_used(tmp_path, monkeypatch):
    import training.data as data

    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEFAULT_MNIST_DIR", write_idx_dir(tmp_path, n_train=20, gz=True))
    assert len(load_mnist().x_train) == 20
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("MNIST_DIR", str(write_idx_dir(tmp_path / "env", n_train=40)))
    assert len(load_mnist().x_train) == 40  # $MNIST_DIR comes first


def test_truncated_images_named(tmp_path):
    good = idx_bytes(IMAGES_MAGIC, np.zeros((30, 28, 28)))
    write_idx_dir(tmp_path, **{"train-images-idx3-ubyte": good[:-100]})
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*truncated"):
        load_mnist(tmp_path)


def test_wrong_magic_named(tmp_path):
    write_idx_dir(tmp_path, **{"t10k-labels-idx1-ubyte": idx_bytes(2051, np.zeros(10))})
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*magic"):
        load_mnist(tmp_path)


def test_count_mismatch_named(tmp_path):
    write_idx_dir(tmp_path, **{"train-labels-idx1-ubyte": idx_bytes(LABELS_MAGIC, np.zeros(29))})
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.*29 labels for 30 images"):
        load_mnist(tmp_path)


def test_label_out_of_range_named(tmp_path):
    write_idx_dir(tmp_path, **{"t10k-labels-idx1-ubyte": idx_bytes(LABELS_MAGIC, np.full(10, 11))})
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*label 11"):
        load_mnist(tmp_path)


def test_missing_file_named(tmp_path):
    write_idx_dir(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_corrupt_gzip_named(tmp_path):
    (tmp_path / "x.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="x.gz: cannot read"):
        read_idx(tmp_path / "x.gz", IMAGES_MAGIC)


def test_npz_good_and_pickled_refused(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_train": np.arange(20, dtype=np.uint8) % 10,
              "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_test": np.arange(5, dtype=np.uint8)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    d = load_mnist(tmp_path / "mnist.npz")
    assert np.array_equal(d.x_train, arrays["x_train"])

    pickled = dict(arrays, y_test=np.array([object()] * 5, dtype=object))
    np.savez(tmp_path / "evil.npz", **pickled)
    with pytest.raises(DataError, match="evil.npz"):
        load_mnist(tmp_path / "evil.npz")


def test_npz_wrong_shape_named(tmp_path):
    np.savez(tmp_path / "m.npz", x_train=np.zeros((3, 27, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataError, match="m.npz: images must be uint8 \\(N, 28, 28\\)"):
        load_mnist(tmp_path / "m.npz")


def test_nonexistent_path(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_mnist(tmp_path / "nope")


def test_mnist_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(write_idx_dir(tmp_path)))
    assert len(load_mnist().x_train) == 30


def test_splits_are_deterministic_normalised_and_disjoint(tmp_path):
    d = load_mnist(write_idx_dir(tmp_path, n_train=100))
    a, b = make_splits(d, 20, seed=3), make_splits(d, 20, seed=3)
    assert np.array_equal(a.x_val, b.x_val) and not np.array_equal(a.x_val, make_splits(d, 20, seed=4).x_val)
    assert a.x_train.shape == (80, 28, 28, 1) and a.x_train.dtype == np.float32
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    train_rows = {r.tobytes() for r in a.x_train}
    assert not any(r.tobytes() in train_rows for r in a.x_val)
    with pytest.raises(DataError, match="validation size"):
        make_splits(d, 100, seed=0)


def test_real_mnist(mnist_dir):
    d = load_mnist(mnist_dir)
    assert (d.x_train.shape, d.x_test.shape) == ((60000, 28, 28), (10000, 28, 28))
    assert np.bincount(d.y_test).tolist()[:2] == [980, 1135]
