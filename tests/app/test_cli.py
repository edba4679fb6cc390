"""The command line: predict, --json, --self-test, errors, and what it imports."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageOps

from app import samples
from app.cli import main

from .conftest import ROOT
from .test_image_files import png_header
from .test_segment import write


def run_app(*args, env=None):
    """`python -m app ARGS` in a fresh interpreter: exit code, stdout, stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    where = tmp_path_factory.mktemp("images")
    files = {
        "seven": where / "seven.png",
        "photo": where / "two-on-paper.jpg",
        "number": where / "2026.png",
        "blank": where / "blank.png",
        "junk": where / "junk.png",
    }
    samples.render(7).save(files["seven"])
    ImageOps.invert(samples.render(2, 2)).convert("RGB").save(files["photo"], quality=85)
    Image.fromarray(write([2, 0, 2, 6])).save(files["number"])
    Image.new("L", (100, 100), 255).save(files["blank"])
    files["junk"].write_text("not an image")
    return files


def test_predict_prints_one_line_per_file(models, images, capsys):
    code = main(["predict", str(images["seven"]), str(images["photo"]), "--model", str(models["templates"])])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith(f"{images['seven']}: 7 (")
    assert out[1].startswith(f"{images['photo']}: 2 (")


def test_predict_reads_a_whole_number(models, images, capsys):
    assert main(["--model", str(models["templates"]), "predict", str(images["number"])]) == 0
    assert capsys.readouterr().out.startswith(f"{images['number']}: 2026 (")


def test_predict_single_treats_the_image_as_one_digit(models, images, capsys):
    assert main(["predict", "--single", str(images["number"]), "--model", str(models["templates"])]) == 0
    number = capsys.readouterr().out.split(": ")[1].split(" (")[0]
    assert len(number) == 1


def test_predict_json_has_all_probabilities(models, images, capsys):
    files = [str(images[k]) for k in ("seven", "number", "blank")]
    assert main(["predict", "--json", *files, "--model", str(models["templates"])]) == 0
    seven, number, blank = json.loads(capsys.readouterr().out)
    assert seven["file"] == files[0] and seven["digit"] == 7 and seven["number"] == "7"
    assert len(seven["probabilities"]) == 10
    assert sum(seven["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert seven["confidence"] == max(seven["probabilities"])
    assert number["number"] == "2026" and number["digit"] is None
    assert [len(d["probabilities"]) for d in number["digits"]] == [10, 10, 10, 10]
    assert blank["number"] is None and blank["digits"] == [] and blank["confidence"] is None


def test_a_minus_sign_is_printed_and_said_in_json(models, tmp_path, capsys):
    from app.drawing import stamp_polyline

    pixels = write([2, 6], spacing=150, size=(600, 260))
    pixels = np.roll(pixels, 120, axis=1)
    stamp_polyline(pixels, [(60, 130), (110, 132)], 0.12 * 160)
    path = tmp_path / "minus26.png"
    Image.fromarray(pixels).save(path)
    assert main(["predict", str(path), "--model", str(models["templates"])]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: -26 (")
    assert main(["predict", "--json", str(path), "--model", str(models["templates"])]) == 0
    (reading,) = json.loads(capsys.readouterr().out)
    assert reading["number"] == "-26"
    assert [(d["label"], d["digit"]) for d in reading["digits"]] == [("-", None), ("2", 2), ("6", 6)]
    assert reading["confidence"] == min(d["confidence"] for d in reading["digits"][1:])  # the digits'


def test_low_confidence_is_said(models, images, capsys):
    assert main(["predict", str(images["seven"]), "--model", str(models["unsure"])]) == 0
    assert ": not sure: maybe 9 (" in capsys.readouterr().out


def test_unreadable_file_is_named_and_fails_the_run(models, images, tmp_path, capsys):
    missing = tmp_path / "missing.png"
    code = main(["predict", str(images["junk"]), str(images["seven"]), str(missing),
                 "--model", str(models["templates"])])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{images['seven']}: 7" in captured.out  # the good file is still read
    errors = captured.err.splitlines()
    assert errors == [
        f"error: {images['junk']}: not an image file this app can read",
        f"error: {missing}: no such file",
    ]


def test_absurdly_large_file_is_refused(models, tmp_path, capsys):
    huge = png_header(tmp_path / "huge.png", 20000, 20000)
    assert main(["predict", str(huge), "--model", str(models["templates"])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "huge.png: image is too large (" in err
    big = png_header(tmp_path / "big.png", 9000, 9000)  # under Pillow's own limit, over ours
    assert main(["predict", str(big), "--model", str(models["templates"])]) == 1
    assert "big.png: image is too large (9000x9000 pixels" in capsys.readouterr().err


def test_bad_models_give_one_line_and_no_traceback(models, images, tmp_path):
    cases = [
        (models["flat_input"], "input 'image' must be float32 [batch, 28, 28, 1], found float32 [batch, 784]"),
        (tmp_path / "absent.onnx", "model file not found"),
    ]
    for model, message in cases:
        code, out, err = run_app("predict", images["seven"], "--model", model)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_self_test_passes_with_a_model_that_reads_the_samples(models, capsys):
    assert main(["--self-test", "--model", str(models["templates"])]) == 0
    line = capsys.readouterr().out
    assert line.startswith("self-test: ok, 30/30 samples correct, model templates (test accuracy 81.25%) in ")


def test_self_test_fails_with_an_untrained_model(models, capsys):
    assert main(["--self-test", "--model", str(models["always3"])]) == 1
    assert capsys.readouterr().out.startswith("self-test: FAILED (need 27), 3/30 samples correct")


def test_self_test_with_the_shipped_model(shipped_model):
    """Same check the packaged executable's smoke test makes; needs app/models/digits.onnx."""
    code, out, err = run_app("--self-test", "--model", shipped_model)
    assert code == 0, out + err
    assert out.startswith("self-test: ok, ")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:
        main(["--self-test", "predict", "x.png"])
    assert stop.value.code == 2


def test_gui_without_a_display_says_so(models):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    code, _, err = run_app("--model", models["templates"], env=env)
    assert code == 1
    assert "cannot open a window" in err and "Traceback" not in err


def test_predicting_never_imports_the_training_stack(models, images):
    script = (
        "import sys\n"
        "from app.cli import main\n"
        f"code = main(['predict', {str(images['seven'])!r}, '--model', {str(models['templates'])!r}])\n"
        "import app.gui\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'onnx'))\n"
        "print('heavy:', heavy, code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "heavy: [] 0"
