import numpy as np
import tensorflow as tf

import training.train as train


def digits():
    x = np.zeros((4, 28, 28, 1), np.float32)
    x[:, 6:22, 12:16] = 1.0   # a centred vertical bar, like a "1"
    return tf.constant(x)


def test_zero_ranges_are_identity(monkeypatch):
    for name in ("MAX_ROTATION", "MAX_ZOOM", "MAX_SHIFT"):
        monkeypatch.setattr(train, name, 0.0)
    out = train.random_affine(digits(), tf.constant([1, 2], tf.int64)).numpy()
    np.testing.assert_allclose(out, digits().numpy(), atol=1e-6)


def test_seeded_varied_and_digit_kept():
    a = train.random_affine(digits(), tf.constant([1, 2], tf.int64)).numpy()
    b = train.random_affine(digits(), tf.constant([1, 2], tf.int64)).numpy()
    c = train.random_affine(digits(), tf.constant([1, 3], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])  # each image of a batch gets its own warp
    assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6
    mass = a.sum(axis=(1, 2, 3)) / digits().numpy()[0].sum()
    assert np.all((mass > 0.7) & (mass < 1.3))  # zoom is within +-10 %: area within about +-21 %
    rows = np.nonzero(a[..., 0].sum(axis=(0, 2)))[0]
    assert rows.min() > 0 and rows.max() < 27  # nothing pushed off the field


def test_dataset_yields_augmented_batches():
    x = digits().numpy().repeat(8, axis=0)
    y = np.zeros(len(x), np.int64)
    plain = next(iter(train.training_dataset(x, y, 16, 0, augment=False)))[0].numpy()
    warped = next(iter(train.training_dataset(x, y, 16, 0, augment=True)))[0].numpy()
    assert plain.shape == warped.shape == (16, 28, 28, 1)
    assert np.allclose(plain, x[:16]) and not np.allclose(warped, x[:16])
