"""The test fixtures' own data access: MNIST as IDX files, compressed or not."""
import gzip

import numpy as np

from tests.conftest import read_mnist_test


def test_mnist_test_set_is_read_from_plain_or_gz_idx_files(mnist_dir, tmp_path):
    x_gz, y_gz = read_mnist_test(mnist_dir)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        source = mnist_dir / f"{stem}.gz"
        data = gzip.open(source).read() if source.is_file() else (mnist_dir / stem).read_bytes()
        (tmp_path / stem).write_bytes(data)  # uncompressed, as some mirrors ship them
    x, y = read_mnist_test(tmp_path)
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    np.testing.assert_array_equal(x, x_gz)
    np.testing.assert_array_equal(y, y_gz)
