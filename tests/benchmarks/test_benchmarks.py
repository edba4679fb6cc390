"""The benchmarks measure what the app does, in a fixed order, and keep the sections not re-measured."""
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import cli
from benchmarks.stats import Row
from tests.conftest import ROOT

MODEL = ROOT / "app" / "models" / "digits.onnx"


@pytest.fixture
def fake_sections(monkeypatch):
    """Every section replaced by one that records its call and whether TensorFlow was loaded then."""
    import sys
    calls = []

    def section(name):
        def measure(ctx):
            calls.append((name, "tensorflow" in sys.modules))
            return [Row(f"{name} figure", "new", "", "cmd", "single run", True)]
        return measure

    monkeypatch.setattr(cli, "SECTIONS", {name: section(name) for name in cli.SECTIONS})
    return calls


def test_sections_run_in_fixed_order_whatever_only_lists(fake_sections, tmp_path):
    assert cli.main(["--only", "peer,memory,canvas,latency", "--model", str(MODEL), "--out", str(tmp_path)]) == 0
    assert [name for name, _ in fake_sections] == ["latency", "canvas", "memory", "peer"]


def test_tensorflow_sections_come_after_every_other():
    order = list(cli.SECTIONS)
    last_plain = max(i for i, name in enumerate(order) if name not in cli.IMPORTS_TENSORFLOW)
    assert all(order.index(name) > last_plain for name in cli.IMPORTS_TENSORFLOW)
    assert set(cli.TITLES) >= set(cli.SECTIONS)


def test_only_re_measured_sections_change(fake_sections, tmp_path):
    old = {"measured_at": "then", "machine": "m", "rows": [
        {"metric": "old canvas", "value": "1", "goal": "", "command": "c", "section": "canvas"},
        {"metric": "old training", "value": "2", "goal": "", "command": "c", "section": "training"},
        {"metric": "old peer", "value": "3", "goal": "", "command": "c", "section": "peer"},
    ]}
    (tmp_path / "benchmarks.json").write_text(json.dumps(old))
    assert cli.main(["--only", "canvas", "--model", str(MODEL), "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "benchmarks.json").read_text())["rows"]
    assert [(r["section"], r["metric"]) for r in rows] == [
        ("training", "old training"), ("canvas", "canvas figure"), ("peer", "old peer")]
    assert "measured_at" in rows[1] and "load average" not in rows[1] and "measured_at" not in rows[0]
    text = (tmp_path / "BENCHMARKS.md").read_text()
    canvas = text.split(f"## {cli.TITLES['canvas']}")[1]
    assert canvas.lstrip().startswith(f"Measured {rows[1]['measured_at']}, load average {rows[1]['load']}.")
    assert "| canvas figure | new |  | pass | single run | `cmd` |" in text
    assert "| old training | 2 |  | ? |  | `c` |" in text  # no goal check recorded: not passed off as one


def test_pass_column_says_pass_fail_or_nothing():
    rows = [{**Row(f"m{i}", "v", "g", "c", "b", passed).as_dict(), "section": "model"}
            for i, passed in enumerate((True, False, None))]
    lines = cli.markdown(rows, {"measured_at": "now", "machine": "m"}).splitlines()
    assert "| m0 | v | g | pass | b | `c` |" in lines
    assert "| m1 | v | g | **fail** | b | `c` |" in lines
    assert "| m2 | v | g | — | b | `c` |" in lines


def test_a_missing_run_fails_only_its_section(fake_sections, tmp_path, monkeypatch):
    def training(ctx):
        return [Row("run", str(ctx.run))]
    monkeypatch.setitem(cli.SECTIONS, "training", training)
    code = cli.main(["--only", "training,canvas", "--run", str(tmp_path / "no-run"), "--model", str(MODEL),
                     "--out", str(tmp_path)])
    assert code == 1
    rows = json.loads((tmp_path / "benchmarks.json").read_text())["rows"]
    assert [r["section"] for r in rows] == ["canvas"]


@pytest.fixture(scope="module")
def ctx(mnist_dir):
    from training.data import load_mnist
    mnist = load_mnist(mnist_dir)
    return SimpleNamespace(model=MODEL, repeats=3, robust_images=30, mnist=mnist,
                           x_test=(mnist.x_test / 255.0).astype(np.float32)[..., None],
                           y_test=mnist.y_test.astype(np.int64))


def test_canvas_times_the_windows_read_path_on_its_canvas(ctx, monkeypatch):
    from app import gui, layout, recognize
    from benchmarks import app_figures

    seen = []
    real = recognize.read_drawing
    monkeypatch.setattr(recognize, "read_drawing",
                        lambda predictor, drawing: seen.append(drawing) or real(predictor, drawing))
    rows = app_figures.canvas_latency(ctx)
    size = app_figures.window_canvas()
    assert size == layout.BASE_CANVAS
    assert seen and all(d.size == size and d.pixels.shape == size[::-1] for d in seen)
    assert {len(d.strokes) for d in seen} >= {1, 3}  # a one-digit and a three-digit drawing
    assert {w for d in seen for w, _ in d.strokes} == {float(gui.BRUSH[2])}
    text = " ".join(r.metric for r in rows)
    assert f"{size[0]}x{size[1]} canvas, one digit (read as 7" in text
    assert "three digits (read as 206" in text  # the shipped model reads the drawings
    ratios = [r for r in rows if "read p50 / inference p50" in r.metric]
    assert len(ratios) == 4 and all(r.value.endswith("x") for r in ratios)
    # Each ratio names the inference it was timed beside, not the row timed alone above it.
    assert all(re.search(r"inference \d+\.\d\d ms timed beside the reads", r.basis) for r in ratios)
    # The live read is timed with the newest stroke new to the reader, never a cached re-read.
    assert "three digits, live" in " ".join(r.metric for r in ratios)
    assert [r.passed is not None for r in ratios] == [False, False, True, False]


def test_robustness_reports_the_segmenting_reader_beside_single(ctx, monkeypatch):
    from app import recognize
    from benchmarks import app_figures

    modes = []
    real = recognize.read
    monkeypatch.setattr(recognize, "read", lambda p, image, single=False: modes.append(single) or
                        real(p, image, single=single))
    rows = app_figures.robustness(ctx)
    assert modes.count(False) == modes.count(True) == 2 * ctx.robust_images
    window = [r for r in rows if "window's reader" in r.metric]
    assert len(window) == 2 and window[0].goal and window[0].passed is not None


def test_mnist_is_looked_up_as_training_looks_it_up_and_never_downloaded(tmp_path, monkeypatch):
    import training.data as data
    from benchmarks.cli import Context
    from training.data import DataError

    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEFAULT_MNIST_DIR", tmp_path / "none")  # nothing beside the repo either
    for given, named in ((None, tmp_path / "none"), (tmp_path / "missing", tmp_path / "missing")):
        context = Context(run="runs/latest", model=MODEL, exe=None, data=given, repeats=1, robust_images=1)
        with pytest.raises(DataError, match=f"{named}: no MNIST here"):
            context.mnist


def test_the_many_dots_figure_reads_the_issues_picture_from_its_file(tmp_path):
    from app.predictor import Predictor
    from benchmarks.reliability import dot_grid, timed_read

    size, line, seconds = timed_read(Predictor(MODEL), dot_grid(64, 64), tmp_path / "dots-4096.png", repeats=1)
    assert (tmp_path / "dots-4096.png").stat().st_size == size > 0
    assert line == "refused: too many separate marks (4096) to be a number" and 0.0 < seconds < 30.0


def test_latency_needs_no_training_run_keras_runs_the_shipped_architecture(ctx):
    from benchmarks import model_figures

    class Counted(SimpleNamespace):  # counts how often the images are fetched: never inside a timed call
        fetched = 0

        @property
        def x_test(self):
            Counted.fetched += 1
            return self.images

    fields = {k: v for k, v in vars(ctx).items() if k != "x_test"}
    rows = model_figures.latency(Counted(**fields, images=ctx.x_test, run=None))  # no run to look in
    assert Counted.fetched <= 2 < ctx.repeats
    keras = [r for r in rows if r.metric.startswith("Keras")]
    assert [r.metric for r in keras][:2] == [
        "Keras model.predict, batch 1, 1 thread (the same architecture, improved)",
        "Keras model(x) direct call, batch 1, 1 thread (the same architecture, improved)"]
    assert len(keras) == 4 and all(re.match(r"p50 \d+\.\d\d ms", r.value) for r in keras)
