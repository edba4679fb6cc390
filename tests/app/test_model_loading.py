"""What the app does with the model it is given: a preprocessing mismatch is said, a model exported
with a fixed batch of one still reads a batch, and APP_TEST_MODEL reaches the shipped-model tests."""

import os
import subprocess
import sys

import numpy as np

from app import samples
from app.cli import main
from app.predictor import Predictor
from app.preprocess import to_model_input

from .conftest import ROOT, build_model, sample_templates, template_head


def test_a_model_made_for_other_preprocessing_is_warned_about(tmp_path, models, capsys):
    other = build_model(tmp_path / "other.onnx", template_head(sample_templates()),
                        metadata={"model_name": "other", "preprocessing": "mnist-raw-v0"})
    seven = tmp_path / "seven.png"
    samples.render(7).save(seven)
    assert main(["predict", str(seven), "--model", str(other)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{seven}: 7 (")  # still read ...
    assert "'mnist-raw-v0'" in captured.err and "'mnist-com-v1'" in captured.err  # ... and said
    assert main(["predict", str(seven), "--model", str(models["templates"])]) == 0
    assert "warning" not in capsys.readouterr().err  # the matching model is not warned about


def test_a_fixed_batch_model_reads_a_whole_batch(tmp_path, models):
    """Some exporters fix the batch to 1: the predictor then runs the images one by one."""
    fixed = Predictor(build_model(tmp_path / "fixed.onnx", template_head(sample_templates()),
                                  input_shape=(1, 28, 28, 1)))
    free = Predictor(models["templates"])
    cases = samples.all_samples()
    batch = np.stack([to_model_input(image) for _, image in cases])
    got = fixed.predict(batch)
    assert got.shape == (len(cases), 10)
    np.testing.assert_allclose(got, free.predict(batch), atol=1e-6)
    assert list(got.argmax(axis=1)) == [digit for digit, _ in cases]


def test_app_test_model_reaches_the_shipped_model_tests(models):
    """A shipped-model test run with APP_TEST_MODEL on a model that always answers 3 must fail."""
    test = "tests/app/test_segment.py::test_shipped_model_reads_numbers_of_unseen_digits"
    env = {**os.environ, "APP_TEST_MODEL": str(models["always3"])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 failed" in done.stdout
