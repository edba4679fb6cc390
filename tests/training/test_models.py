import numpy as np
import pytest
from keras import layers

from training.models import MODELS


def kinds(model, kind):
    return [l for l in model.layers if isinstance(l, kind)]


def conv_pool_pattern(model):
    """The sequence of Conv2D ('C') and MaxPooling2D ('P') layers, in order."""
    return "".join("C" if isinstance(l, layers.Conv2D) else "P" for l in model.layers
                   if isinstance(l, (layers.Conv2D, layers.MaxPooling2D)))


def test_registry_names():
    assert set(MODELS) == {"baseline", "improved", "simplified"}


def test_baseline_three_convs_each_followed_by_pooling_then_dense():
    m = MODELS["baseline"]()
    assert conv_pool_pattern(m) == "CPCPCP"
    assert all(l.activation.__name__ == "relu" for l in kinds(m, layers.Conv2D))
    dense = kinds(m, layers.Dense)
    assert len(dense) >= 2 and dense[0].activation.__name__ == "relu"
    assert m.layers.index(dense[0]) > m.layers.index(kinds(m, layers.MaxPooling2D)[-1])


def test_improved_has_more_convs_of_different_sizes_and_dropout():
    m, base = MODELS["improved"](), MODELS["baseline"]()
    convs = kinds(m, layers.Conv2D)
    assert len(convs) > len(kinds(base, layers.Conv2D))
    assert len({c.kernel_size for c in convs}) >= 2
    assert len(kinds(m, layers.Dropout)) >= 1


def test_simplified_has_fewer_convs():
    assert len(kinds(MODELS["simplified"](), layers.Conv2D)) < len(kinds(MODELS["baseline"](), layers.Conv2D))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_io_contract(name):
    m = MODELS[name]()
    assert m.input_shape == (None, 28, 28, 1) and m.output_shape == (None, 11)  # digits + "not a digit"
    assert m.layers[-1].activation.__name__ == "softmax"
    p = m.predict(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32), verbose=0)
    assert p.shape == (3, 11)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_builders_are_pure():
    a, b = MODELS["baseline"](), MODELS["baseline"]()
    assert a is not b and a.count_params() == b.count_params()
