"""Never install a worse model, never leave a temp file, one line per bad run: export/install.py, export/source.py, the CLI."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from export.install import WorseModel, install, onnx_accuracy
from export.source import find_source
from tests.app.conftest import SHIPPED_MODEL, build_model, constant_head, sample_templates, template_head
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def test_set(mnist_dir):
    from training.data import load_mnist, to_model_input
    mnist = load_mnist(mnist_dir)
    return to_model_input(mnist.x_test), mnist.y_test.astype(np.int64)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    where = tmp_path_factory.mktemp("tiny")
    three, reject = np.zeros(10), np.zeros(11)
    three[3], reject[10] = 8.0, 8.0
    labels11 = json.dumps([str(d) for d in range(10)] + ["not a digit"])
    return {
        "templates": build_model(where / "templates.onnx", template_head(sample_templates())).read_bytes(),
        "always3": build_model(where / "always3.onnx", constant_head(three)).read_bytes(),
        "rejects": build_model(where / "rejects.onnx", constant_head(reject), width=11,
                               metadata={"labels": labels11}).read_bytes(),
    }


def listing(directory):
    return sorted(p.name for p in directory.iterdir())


def test_worse_model_refused_and_installed_file_byte_identical(tmp_path, tiny, test_set):
    out = tmp_path / "digits.onnx"
    out.write_bytes(tiny["templates"])
    with pytest.raises(WorseModel, match=r"below the installed model's .*unchanged \(--force installs it anyway\)"):
        install(tiny["always3"], out, *test_set)
    assert out.read_bytes() == tiny["templates"] and listing(tmp_path) == ["digits.onnx"]


def test_force_installs_the_worse_model(tmp_path, tiny, test_set):
    out = tmp_path / "digits.onnx"
    out.write_bytes(tiny["templates"])
    done = install(tiny["always3"], out, *test_set, force=True)
    assert out.read_bytes() == tiny["always3"] and done.candidate_accuracy < done.previous_accuracy


def test_better_or_equal_model_replaces(tmp_path, tiny, test_set):
    out = tmp_path / "digits.onnx"
    out.write_bytes(tiny["always3"])
    done = install(tiny["templates"], out, *test_set)
    assert out.read_bytes() == tiny["templates"]
    assert done.previous_accuracy == pytest.approx(float((test_set[1] == 3).mean()))
    install(tiny["templates"], out, *test_set)  # the same accuracy again: a re-export is allowed


def scored(where, name, score, sets=("mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy")):
    """The templates model with a validation score over `sets` in its metadata (MNIST accuracy unchanged)."""
    metadata = {"val_accuracy": str(score), **{k: "0.9" for k in sets}}
    return build_model(where / f"{name}.onnx", template_head(sample_templates()), metadata=metadata).read_bytes()


def test_lower_validation_score_refused_though_mnist_is_equal(tmp_path, test_set):
    # The shipped model was chosen for real handwriting: a model no worse on MNIST but worse on the
    # held-out writers (the selection score) must not replace it.
    out = tmp_path / "digits.onnx"
    out.write_bytes(scored(tmp_path, "installed", 0.977))
    worse = scored(tmp_path, "candidate", 0.976)
    with pytest.raises(WorseModel, match=r"validation score 97.60% is below the installed model's 97.70%.*--force"):
        install(worse, out, *test_set)
    assert out.read_bytes() != worse
    install(scored(tmp_path, "better", 0.978), out, *test_set)  # a higher score goes in
    install(worse, out, *test_set, force=True)
    assert out.read_bytes() == worse


def test_validation_scores_over_other_sets_do_not_compare(tmp_path, test_set):
    out = tmp_path / "digits.onnx"
    out.write_bytes(scored(tmp_path, "installed", 0.977))
    mnist_only = scored(tmp_path, "candidate", 0.95, sets=("mnist_val_accuracy",))
    install(mnist_only, out, *test_set)  # another score's sets: MNIST alone decides, as it is equal
    assert out.read_bytes() == mnist_only


def test_not_a_digit_counts_as_wrong(tiny, test_set):
    assert onnx_accuracy(tiny["rejects"], *test_set) == 0.0
    assert onnx_accuracy(tiny["always3"], *test_set) == pytest.approx(float((test_set[1] == 3).mean()))


def test_unreadable_installed_model_is_replaced_with_a_note(tmp_path, tiny, test_set):
    out = tmp_path / "digits.onnx"
    out.write_bytes(b"not a model")
    done = install(tiny["always3"], out, *test_set)
    assert out.read_bytes() == tiny["always3"] and "cannot be evaluated" in done.note


def test_out_that_is_a_directory(tmp_path, tiny, test_set):
    with pytest.raises(IsADirectoryError, match="--out must name the model file"):
        install(tiny["always3"], tmp_path, *test_set)
    assert listing(tmp_path) == []


# -- which run and model ---------------------------------------------------------


def fake_run(tmp_path, results, keras=("baseline",)):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(results if isinstance(results, str) else json.dumps(results))
    for name in keras:
        (run / f"{name}.keras").write_bytes(b"PK")
    return run


GOOD = {"run_id": "r", "finished_at": "t", "chosen_model": "baseline", "models": {"baseline": {"val_accuracy": 0.9}}}


@pytest.mark.parametrize("results, message", [
    ('{"models": ', r"results.json: not valid JSON \(Expecting value at line 1"),
    ("[1, 2]", r"results.json: not a training run's results"),
    ({**GOOD, "chosen_model": None}, r"results.json: no \"chosen_model\"; name one with --model \(baseline\)"),
    ({k: v for k, v in GOOD.items() if k != "chosen_model"}, r"no \"chosen_model\""),
    ({**GOOD, "chosen_model": "../../elsewhere/evil"}, "is not a plain name"),
    ({**GOOD, "chosen_model": "other"}, "no model 'other'; the run has baseline"),
    ({**GOOD, "run_id": 3}, "missing or malformed run_id"),
])
def test_bad_results_named(tmp_path, results, message):
    run = fake_run(tmp_path, results)
    with pytest.raises(ValueError, match=message) as raised:
        find_source(str(run), None)
    assert str(run) in str(raised.value)


def test_missing_keras_and_partial_runs(tmp_path):
    run = fake_run(tmp_path, GOOD, keras=())
    with pytest.raises(FileNotFoundError, match=r"baseline.keras: no such file"):
        find_source(str(run), None)
    partial = run.rename(tmp_path / "20260101-000000.partial")
    with pytest.raises(FileNotFoundError, match="incomplete run"):
        find_source(str(partial), None)


def run_export(*args):
    return subprocess.run([sys.executable, "-m", "export", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_bad_run_is_one_line_without_tensorflow(tmp_path):
    run = fake_run(tmp_path, '{"models": ')
    done = run_export("--run", run, "--out", tmp_path / "x.onnx")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "results.json: not valid JSON" in done.stderr


# -- the whole export (TensorFlow) -----------------------------------------------


def test_quick_model_never_replaces_the_shipped_one(quick_run, tmp_path, mnist_dir):
    out = tmp_path / "digits.onnx"
    shutil.copyfile(SHIPPED_MODEL, out)
    done = run_export("--run", quick_run, "--out", out, "--data", mnist_dir)
    assert done.returncode == 4, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: not installed: the new model's test")
    assert out.read_bytes() == SHIPPED_MODEL.read_bytes() and listing(tmp_path) == ["digits.onnx"]

    forced = run_export("--run", quick_run, "--out", out, "--data", mnist_dir, "--force")
    assert forced.returncode == 0 and out.read_bytes() != SHIPPED_MODEL.read_bytes()
    assert listing(tmp_path) == ["digits.onnx"]


def test_corrupt_keras_file_is_named_as_damaged(quick_run, tmp_path, mnist_dir):
    run = tmp_path / "run"
    shutil.copytree(quick_run, run)
    (run / "simplified.keras").write_bytes(b"PK\x03\x04 not really a zip")
    done = run_export("--run", run, "--out", tmp_path / "x.onnx", "--data", mnist_dir)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{run / 'simplified.keras'}: cannot load the Keras model (damaged" in done.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_refused_int8_installs_the_float_model(quick_run, tmp_path, mnist_dir, monkeypatch, capsys):
    import onnxruntime as ort

    import export.quantize
    from export.cli import main
    run = tmp_path / "run"
    shutil.copytree(quick_run, run)
    monkeypatch.setattr(export.quantize, "MAX_ACCURACY_DROP", -1.0)  # no int8 model passes
    out = tmp_path / "digits.onnx"
    assert main(["--run", str(run), "--out", str(out), "--data", str(mnist_dir), "--quantize"]) == 0
    err = capsys.readouterr().err
    assert "warning: int8 model loses" in err and "installing the float model instead" in err
    meta = ort.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    assert "quantization" not in meta
    assert "refused" in json.loads((run / "parity.json").read_text())["quantized"]


def test_interrupt_right_after_install_says_it_is_installed(quick_run, tmp_path, mnist_dir, monkeypatch, capsys):
    import export.install
    from export.cli import main
    real = export.install.write_atomic

    def write_then_interrupt(path, data):
        real(path, data)
        raise KeyboardInterrupt

    monkeypatch.setattr(export.install, "write_atomic", write_then_interrupt)
    run = tmp_path / "run"
    shutil.copytree(quick_run, run)
    out = tmp_path / "digits.onnx"
    assert main(["--run", str(run), "--out", str(out), "--data", str(mnist_dir)]) == 130
    assert capsys.readouterr().err.strip() == f"interrupted: the new model was already installed at {out}"
