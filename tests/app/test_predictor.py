"""Predictor against tiny hand-built ONNX models: loading, contract checks, outputs."""

import numpy as np
import pytest

from app import recognize, samples
from app.predictor import ModelError, Predictor
from app.preprocess import to_model_input


def test_loads_metadata_and_describes_itself(models):
    predictor = Predictor(models["templates"])
    assert predictor.name == "templates"
    assert predictor.test_accuracy == pytest.approx(0.8125)
    assert predictor.preprocessing == "mnist-com-v1"
    assert predictor.labels == [str(i) for i in range(10)]
    assert predictor.describe() == "templates (test accuracy 81.25%)"


def test_predicts_one_image_or_a_batch(models):
    predictor = Predictor(models["always3"])
    one = predictor.predict(np.zeros((28, 28, 1), np.float32))
    assert one.shape == (1, 10) and one.dtype == np.float32
    batch = predictor.predict(np.zeros((5, 28, 28, 1)))
    assert batch.shape == (5, 10)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=1e-5)
    assert (batch.argmax(axis=1) == 3).all()
    assert predictor.predict(np.zeros((0, 28, 28, 1))).shape == (0, 10)


def test_template_model_tells_the_samples_apart(models):
    predictor = Predictor(models["templates"])
    cases = samples.all_samples()
    batch = np.stack([to_model_input(image) for _, image in cases])
    predicted = predictor.predict(batch).argmax(axis=1)
    assert list(predicted) == [digit for digit, _ in cases]


def test_rejects_inputs_of_the_wrong_shape(models):
    predictor = Predictor(models["always3"])
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\)"):
        predictor.predict(np.zeros((28, 28)))


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found: .*nowhere.onnx"):
        Predictor(tmp_path / "nowhere.onnx")


def test_file_that_is_not_a_model(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not protobuf")
    with pytest.raises(ModelError, match="cannot load model .*junk.onnx"):
        Predictor(junk)


def test_model_with_wrong_input_shape(models):
    with pytest.raises(ModelError, match=r"must be float32 \[batch, 28, 28, 1\], found float32 \[batch, 784\]"):
        Predictor(models["flat_input"])


def test_reading_reports_low_confidence(models):
    reading = recognize.read(Predictor(models["unsure"]), samples.render(4))
    assert reading.number == "9"
    assert not reading.sure
    assert reading.summary().startswith("not sure: maybe 9")


def test_reading_of_an_empty_canvas_has_no_digit(models):
    reading = recognize.read(Predictor(models["templates"]), np.zeros((280, 280), np.uint8))
    assert reading.guesses == () and reading.number == "" and reading.summary() == "no digit"


def test_shipped_model_reads_redrawn_mnist_as_well_as_plain_mnist(shipped_model, mnist_test):
    """Digits re-drawn big or small anywhere on a 280x280 canvas, half of them inverted,
    must be read as well as the original 28x28 images (the full benchmark runs elsewhere)."""
    from .test_preprocess import redraw

    images, labels = mnist_test
    images, labels = images[:1000], labels[:1000]
    predictor = Predictor(shipped_model)
    plain = predictor.predict(images[..., None] / 255.0).argmax(axis=1)
    rng = np.random.default_rng(11)
    redrawn = predictor.predict(np.stack([to_model_input(redraw(d, rng)) for d in images])).argmax(axis=1)
    plain_accuracy, redrawn_accuracy = (plain == labels).mean(), (redrawn == labels).mean()
    assert redrawn_accuracy >= plain_accuracy - 0.01, (plain_accuracy, redrawn_accuracy)
