"""Fuzzing the image reader: seeded mutations of PNG/JPEG/GIF/TIFF/BMP/WebP seeds never give a traceback.

The cases come from benchmarks/reliability.py (the same ones BENCHMARKS.md counts). In-process
for speed through load_image + recognize.read, and a few through `python -m app predict`.
"""

import json
import subprocess
import sys
import warnings

import pytest

from app import recognize
from app.predictor import Predictor
from app.image_files import load_image
from benchmarks.reliability import fuzz, fuzz_cases, seed_files

from .conftest import ROOT

CASES = 3000  # about 15-25 s on one core here
CLI_CASES = 40


def test_every_seed_is_a_readable_seven(models, tmp_path):
    """The fuzz starts from sound files in every format (a missing decoder would fail here, not hide)."""
    predictor = Predictor(models["templates"])
    seeds = seed_files()
    assert {name.rsplit(".", 1)[1] for name in seeds} == {"png", "jpg", "gif", "tif", "bmp", "webp"}
    for name, data in seeds.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert recognize.read(predictor, load_image(path)).number == "7", name


def test_mutations_are_seeded_and_varied():
    first = [data for _, data in fuzz_cases(50)]
    assert first == [data for _, data in fuzz_cases(50)]
    assert first != [data for _, data in fuzz_cases(50, seed=14)]
    seeds = seed_files()
    assert sum(data not in seeds.values() for data in first) >= 48


def test_fuzzed_images_never_crash_and_stay_quiet(models, tmp_path, capfd):
    with warnings.catch_warnings(record=True) as caught:  # a warning is a second line on stderr
        warnings.simplefilter("always")
        report = fuzz(Predictor(models["templates"]), count=CASES, where=tmp_path)
    captured = capfd.readouterr()
    assert [str(w.message) for w in caught][:3] == []
    assert report["crashes"] == []
    outcomes = report["outcomes"]
    assert outcomes.get("read", 0) > CASES // 10 and outcomes.get("refused", 0) > CASES // 10, outcomes
    # One line per file means nothing else: no Pillow warnings, no libtiff messages on fd 2.
    assert captured.err == "" and captured.out == ""
    assert report["slowest"][0] < 5.0, report["slowest"]


@pytest.fixture(scope="module")
def fuzz_files(tmp_path_factory):
    where = tmp_path_factory.mktemp("fuzz_cli")
    files = []
    for name, data in fuzz_cases(CLI_CASES, seed=1313):
        path = where / name
        path.write_bytes(data)
        files.append(str(path))
    return files


def run_predict(model, files, *options):
    done = subprocess.run([sys.executable, "-m", "app", "predict", *options, "--model", str(model), *files],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_through_the_cli_one_line_per_file(models, fuzz_files):
    code, out, err = run_predict(models["templates"], fuzz_files)
    answers, errors = out.splitlines(), err.splitlines()
    assert "Traceback" not in err
    assert len(answers) + len(errors) == len(fuzz_files)
    assert all(line.startswith("error: ") for line in errors)
    assert code == (1 if errors else 0)
    named = [line.split(": ", 2)[1] for line in errors] + [line.split(": ", 1)[0] for line in answers]
    assert sorted(named) == sorted(fuzz_files)


def test_through_the_cli_as_json(models, fuzz_files):
    code, out, err = run_predict(models["templates"], fuzz_files, "--json")
    records = json.loads(out)
    assert [r["file"] for r in records] == fuzz_files
    failed = [r for r in records if "error" in r]
    assert len(err.splitlines()) == len(failed) and "Traceback" not in err
    assert code == (1 if failed else 0)
