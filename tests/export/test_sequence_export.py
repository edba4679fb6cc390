"""`python -m export --sequence`: the number reader's ONNX contract, free width, metadata, parity refusal and
the install guard (export/sequence.py, export/cli.py). The run is a fake but complete one: a seeded,
untrained sequence_reader() with its results.json and validation strips, so no training is needed."""
import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from app.strip import CLASSES, HEIGHT, INPUT_NAME, LABELS, OUTPUT_NAME, STRIDE, decode
from export.install import WorseModel
from export.parity import MAX_ABS_DIFF
from export.sequence import compare_frames, install_checked, parity_strips
from tests.conftest import ROOT
from tests.export.metadata import with_metadata

VAL_ACCURACY = 0.25  # what the fake run's results.json claims
VAL_WIDTH = 64


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def seq_run(tmp_path_factory):
    """A complete run directory as training.sequence writes it, with seeded random weights (no global seed set)."""
    return fake_run(tmp_path_factory.mktemp("seqruns") / "20261125-000000", 12)


def fake_run(run, seed):
    from training.quiet_tf import import_tensorflow
    import_tensorflow()
    from training.models import sequence_reader

    run.mkdir()
    rng = np.random.default_rng(seed)
    model = sequence_reader()
    weights = [rng.normal(0, np.sqrt(2 / max(1, np.prod(w.shape[:-1]))), w.shape).astype(np.float32)
               for w in model.get_weights()]
    # The residual layers add up: scale the logits layer so the frames' softmaxes are not saturated
    # (a saturated one would hide the small change the parity test makes).
    weights[-2:] = [w * 0.1 for w in weights[-2:]]
    model.set_weights(weights)
    model.save(run / "model.keras")
    x = np.zeros((12, HEIGHT, VAL_WIDTH, 1), np.float32)
    x[:, 4:24, 8:-8] = rng.random((12, 20, VAL_WIDTH - 16, 1)) ** 3  # sparse "ink" between paper margins
    texts = np.array(["".join(rng.choice(list("0123456789x"), rng.integers(1, 5))) for _ in range(12)])
    np.savez_compressed(run / "val_rows.npz", x=x, text=texts)
    (run / "results.json").write_text(json.dumps({"model": model.name, "val_row_accuracy": VAL_ACCURACY,
                                                  "val_rows": 12, "params": int(model.count_params())}))
    return run


@pytest.fixture(scope="module")
def exported(seq_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "numbers.onnx"
    proc = subprocess.run([sys.executable, "-m", "export", "--sequence", "--run", str(seq_run), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Read now: other tests export from copies of the run, but keep this run's figures as they were.
    return out, proc, json.loads((seq_run / "parity.json").read_text())


@pytest.fixture
def own_run(seq_run, tmp_path):
    """A private copy of the run, for tests that export again (they rewrite its parity.json)."""
    return shutil.copytree(seq_run, tmp_path / "run")


def test_contract_names_and_shapes(exported):
    out, proc, parity = exported
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert (INPUT_NAME, OUTPUT_NAME) == ("strip", "frames")  # the names the app reads (app.strip)
    assert (inp.name, inp.shape, inp.type) == ("strip", ["batch", 28, "width", 1], "tensor(float)")
    assert (outp.name, outp.shape, outp.type) == ("frames", ["batch", f"width/{STRIDE}", 12], "tensor(float)")
    assert onnx.load(str(out)).opset_import[0].version == 17
    assert "parity ok" in proc.stdout and f"installed {out}" in proc.stdout
    # Parity ran on the validation strips and on each other width, and every one passed.
    assert sorted(map(int, parity["widths"])) == [32, VAL_WIDTH, 100, 400] and parity["passed"]
    assert parity["widths"][str(VAL_WIDTH)]["rows"] == 12
    assert all(r["max_abs_diff"] <= MAX_ABS_DIFF and r["decode_mismatches"] == 0 for r in parity["widths"].values())


def test_contract_check_refuses_other_dims(exported):
    from export.readers import check_contract
    from export.sequence import CONTRACT

    proto = onnx.load(str(exported[0]))
    check_contract(proto, CONTRACT)
    proto.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "w"  # onnx.checker accepts it, the app would not
    with pytest.raises(ValueError, match=r"breaks the I/O contract: strip\['batch', 28, 'w', 1\]"):
        check_contract(proto, CONTRACT)


def test_any_batch_and_width_gives_keras_probabilities(exported, seq_run):
    import keras

    out, _, _ = exported
    model = keras.models.load_model(seq_run / "model.keras")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    decoded = 0
    for batch, width in ((1, 4), (3, 36), (2, 1000)):
        x = rng.random((batch, HEIGHT, width, 1), dtype=np.float32)
        frames = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
        assert frames.shape == (batch, width // STRIDE, CLASSES)
        np.testing.assert_allclose(frames.sum(axis=-1), 1.0, atol=1e-5)  # probabilities, not logits
        expected = softmax(np.asarray(model(x, training=False), np.float64))
        assert np.abs(frames - expected).max() <= MAX_ABS_DIFF
        for f, e in zip(frames, expected):
            assert [c.index for c in decode(f)] == [c.index for c in decode(e)]
            decoded += len(decode(f))
    assert decoded > 0  # the random model reads something, so decoding was compared on real symbols


def test_metadata(exported, seq_run):
    from training.pen_data import PEN_TERMS

    out, _, _ = exported
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == list(LABELS) and len(LABELS) == 12
    assert (json.loads(meta["stride"]), json.loads(meta["height"])) == (STRIDE, HEIGHT)
    assert json.loads(meta["val_row_accuracy"]) == VAL_ACCURACY
    assert 0.5 <= json.loads(meta["sure_threshold"]) <= 1.0  # chosen on the validation rows (training.calibrate)
    assert 0.0 <= json.loads(meta["sure_share"]) <= 1.0
    results = json.loads((seq_run / "results.json").read_text())
    assert json.loads(meta["params"]) == results["params"] > 100_000
    assert meta["run_id"] == seq_run.name and meta["exported_at"].startswith("20")
    assert all(term in meta["trained_on"] for term in ("MNIST", "training writers", PEN_TERMS))


def test_readers_that_vote_ship_in_one_file(exported, seq_run, tmp_path, capsys):
    from export.cli import main
    from export.sequence import rows_exact

    other = fake_run(tmp_path / "20261125-010000", 13)
    out = tmp_path / "numbers.onnx"
    lead_parity = (seq_run / "parity.json").read_text()
    assert main(["--sequence", "--run", str(seq_run), "--also", str(other), "--out", str(out)]) == 0
    assert "voting with" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape == ["batch", f"width/{STRIDE}", 2, CLASSES]
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["members"]) == 2 and json.loads(meta["member_runs"]) == [seq_run.name, other.name]
    assert json.loads(meta["params"]) == 2 * json.loads((seq_run / "results.json").read_text())["params"]
    with np.load(seq_run / "val_rows.npz") as val:
        x, texts = val["x"], list(val["text"])
    frames = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    # Each member is its own run's model: the first the leading run's (as exported alone), the second not.
    alone = ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])
    alone = alone.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    assert np.abs(frames[:, :, 0] - alone).max() <= MAX_ABS_DIFF and not np.allclose(frames[:, :, 1], alone, atol=1e-3)
    # The held-out rows as the app reads them (the readers voting) are the file's figure, not a run's own.
    assert json.loads(meta["val_row_accuracy"]) == pytest.approx(rows_exact(frames, texts), abs=1e-6)
    parity = json.loads((seq_run / "parity-members.json").read_text())
    assert parity["passed"] and parity["members"] == 2 and parity["widths"][str(VAL_WIDTH)]["rows"] == 24
    assert (seq_run / "parity.json").read_text() == lead_parity  # the leading run's own record is kept
    assert main(["--sequence", "--run", str(seq_run), "--also", str(seq_run), "--out", str(tmp_path / "n.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "named twice" in err and len(err.splitlines()) == 1 and not (tmp_path / "n.onnx").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["--also", str(other)])
    assert exit_info.value.code == 2 and "--also and --keep apply to --sequence only" in capsys.readouterr().err


def test_kept_members_of_the_installed_file_read_as_they_did(seq_run, tmp_path, capsys):
    """--keep: members of the readers file at --out, cut out of it by name, ship again beside a new run: each reads
    exactly as it did in that file (its own run is not needed), in the order named, after the new reader."""
    import keras
    from export.cli import main

    other, third, new = (fake_run(tmp_path / f"20261125-0{k}0000", 20 + k) for k in (1, 2, 3))
    out = tmp_path / "numbers.onnx"
    assert main(["--sequence", "--half", "--run", str(seq_run), "--also", str(other), "--also", str(third),
                 "--out", str(out)]) == 0
    with np.load(seq_run / "val_rows.npz") as val:
        x = val["x"]
    before = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    capsys.readouterr()
    assert main(["--sequence", "--half", "--force", "--run", str(new), "--keep", third.name, "--keep", seq_run.name,
                 "--out", str(out)]) == 0
    assert f"keeping {third.name}, {seq_run.name}" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape == ["batch", f"width/{STRIDE}", 3, CLASSES]
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["member_runs"]) == [new.name, third.name, seq_run.name]
    assert json.loads(meta["params"]) == 3 * json.loads((new / "results.json").read_text())["params"]
    after = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    assert np.array_equal(after[:, :, 1], before[:, :, 2]) and np.array_equal(after[:, :, 2], before[:, :, 0])
    model = keras.models.load_model(new / "model.keras")
    model.set_weights([w.astype(np.float16).astype(np.float32) for w in model.get_weights()])
    assert np.abs(after[:, :, 0] - softmax(np.asarray(model(x, training=False), np.float64))).max() <= MAX_ABS_DIFF
    assert json.loads((new / "parity-members.json").read_text())["passed"]
    # What cannot be kept is refused in one line, the file left as it is.
    blob = out.read_bytes()
    for keep, said in ((other.name, "holds no member"), (new.name, "named twice")):
        assert main(["--sequence", "--run", str(new), "--keep", keep, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert said in err and len(err.splitlines()) == 1 and out.read_bytes() == blob
    alone = tmp_path / "alone.onnx"
    assert main(["--sequence", "--run", str(seq_run), "--out", str(alone)]) == 0
    assert main(["--sequence", "--run", str(new), "--keep", seq_run.name, "--out", str(alone)]) == 2
    assert "member_runs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--keep", seq_run.name])
    assert exit_info.value.code == 2 and "--also and --keep apply to --sequence only" in capsys.readouterr().err


def test_half_precision_readers_are_what_ships(exported, own_run, tmp_path):
    """--half: weights rounded to half precision and stored so (the file about halves); the ONNX frames are those
    of the Keras model with the rounded weights, and the file's figures are measured with them."""
    import keras
    from export.cli import main
    from export.half import rounded_to_half

    out = tmp_path / "numbers.onnx"
    assert main(["--sequence", "--run", str(own_run), "--half", "--out", str(out)]) == 0
    proto = onnx.load(str(out))
    halves = [i for i in proto.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) >= 10 and out.stat().st_size < 0.6 * exported[0].stat().st_size
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["weights"] == "float16"
    with np.load(own_run / "val_rows.npz") as val:
        x = val["x"]
    frames = session.run([OUTPUT_NAME], {INPUT_NAME: np.concatenate([x, x[:, :, ::-1]])})[0]
    model = keras.models.load_model(own_run / "model.keras")
    full = softmax(np.asarray(model(np.concatenate([x, x[:, :, ::-1]]), training=False), np.float64))
    model.set_weights([rounded_to_half(w) for w in model.get_weights()])
    rounded = softmax(np.asarray(model(np.concatenate([x, x[:, :, ::-1]]), training=False), np.float64))
    assert np.abs(frames - rounded).max() <= MAX_ABS_DIFF < np.abs(frames - full).max()
    assert json.loads(meta["val_row_accuracy"]) == VAL_ACCURACY  # one reader: its run's own figure
    assert json.loads((own_run / "parity.json").read_text())["half"] is True


def test_parity_strips_cover_other_widths_with_real_ink():
    x = np.random.default_rng(0).random((10, HEIGHT, VAL_WIDTH, 1), dtype=np.float32)
    strips = parity_strips(x)
    assert sorted(strips) == [32, VAL_WIDTH, 100, 400] and strips[VAL_WIDTH] is x
    for width in (32, 100, 400):
        assert strips[width].shape[1:] == (HEIGHT, width, 1) and width % STRIDE == 0
    np.testing.assert_array_equal(strips[32], x[:8, :, :32])
    np.testing.assert_array_equal(strips[400][0, :, VAL_WIDTH:2 * VAL_WIDTH], x[1])  # the next strip beside it


def frames_with(peaks, t=6):
    """(1, t, CLASSES) frames: blank everywhere except `peaks` {frame: class}."""
    f = np.full((1, t, CLASSES), 0.5 / (CLASSES - 1))
    f[0, :, 0] = 0.5
    for frame, k in peaks.items():
        f[0, frame] = 0.5 / (CLASSES - 1)
        f[0, frame, k] = 0.5
    return f


def test_compare_frames_tolerance_and_decoding():
    p = frames_with({2: 4})
    for delta, passes in ((2.0 ** -17, True), (2.0 ** -16, False)):  # 7.6e-6 and 1.5e-5: both sides of 1e-5
        q = p.copy()
        q[0, 0, 0] += delta
        report = compare_frames(p, q)
        assert report["passed"] is passes and report["max_abs_diff"] == delta and report["decode_mismatches"] == 0
    # A difference far below the tolerance that changes what is read (a near tie flipped) still fails.
    keras_side, onnx_side = frames_with({2: 4}), frames_with({2: 4})
    keras_side[0, 4, [0, 4]] = 0.5000005, 0.4999995  # blank, barely: reads "3"
    onnx_side[0, 4, [0, 4]] = 0.4999995, 0.5000005   # a 3 (class 4) barely: reads "33"
    report = compare_frames(keras_side, onnx_side)
    assert report["max_abs_diff"] < 1e-6 and report["decode_mismatches"] == 1 and not report["passed"]
    report = compare_frames(p, p[:, :5])
    assert not report["passed"] and report["shapes"] == [[1, 6, 12], [1, 5, 12]]
    nan = p.copy()
    nan[0, 1, 1] = np.nan
    assert not compare_frames(p, nan)["passed"]


def tampered(real):
    """keras_to_onnx, then one logit's bias moved by 0.05: onnx.checker passes, the probabilities differ."""
    def convert(model, opset):
        proto = real(model, opset)
        (bias,) = [t for t in proto.graph.initializer if list(t.dims) == [CLASSES]]
        values = numpy_helper.to_array(bias).copy()
        values[5] += 0.05
        bias.CopyFrom(numpy_helper.from_array(values, bias.name))
        return proto
    return convert


def test_parity_failure_exits_3_and_installs_nothing(own_run, tmp_path, capsys, monkeypatch):
    import export.sequence
    from export.cli import main

    out = tmp_path / "numbers.onnx"
    out.write_bytes(b"previous")
    monkeypatch.setattr(export.sequence, "keras_to_onnx", tampered(export.sequence.keras_to_onnx))
    assert main(["--sequence", "--run", str(own_run), "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: parity failed") and "left unchanged" in err and len(err.splitlines()) == 1
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["numbers.onnx", "run"]
    assert json.loads((own_run / "parity.json").read_text())["passed"] is False


def test_a_model_of_one_width_only_is_refused(own_run, tmp_path, capsys):
    """Reads its own validation width but no other: the extra widths catch it, nothing installed."""
    import keras
    from keras import layers

    from export.cli import main

    strip = keras.Input((HEIGHT, VAL_WIDTH, 1), name="strip")
    x = layers.MaxPooling2D(STRIDE)(layers.Conv2D(4, 3, padding="same")(strip))
    x = layers.Reshape((VAL_WIDTH // STRIDE, (HEIGHT // STRIDE) * 4))(x)  # a width baked into the graph
    keras.Model(strip, layers.Dense(CLASSES)(x)).save(own_run / "model.keras")
    out = tmp_path / "numbers.onnx"
    assert main(["--sequence", "--run", str(own_run), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot read strips of 32 columns" in err and len(err.splitlines()) == 1 and not out.exists()


def test_install_guard(exported, tmp_path):
    blob = exported[0].read_bytes()
    better, digits_like = with_metadata(blob, val_row_accuracy=0.9), with_metadata(blob, val_row_accuracy=None)
    out = tmp_path / "numbers.onnx"
    out.write_bytes(better)
    with pytest.raises(WorseModel, match=r"reads 25\.00% .* installed one 90\.00% .*unchanged \(--force"):
        install_checked(blob, out, VAL_ACCURACY, force=False)
    assert out.read_bytes() == better and [p.name for p in tmp_path.iterdir()] == ["numbers.onnx"]
    done = install_checked(blob, out, VAL_ACCURACY, force=True)
    assert out.read_bytes() == blob and done.previous_accuracy == 0.9
    done = install_checked(better, out, 0.9, force=False)  # better replaces; so does equal (a re-export)
    assert out.read_bytes() == better and done.previous_accuracy == VAL_ACCURACY
    install_checked(better, out, 0.9, force=False)
    # A model without val_row_accuracy (digits.onnx named by mistake) is no number reader: kept unless forced.
    out.write_bytes(digits_like)
    with pytest.raises(WorseModel, match="not a number reader"):
        install_checked(blob, out, VAL_ACCURACY, force=False)
    assert out.read_bytes() == digits_like
    out.write_bytes(b"not a model")  # unreadable: replaced, with a note
    done = install_checked(blob, out, VAL_ACCURACY, force=False)
    assert out.read_bytes() == blob and "cannot be read" in done.note and done.previous_accuracy is None


def test_cli_refuses_worse_with_exit_4_and_force_installs(exported, own_run, tmp_path, capsys):
    from export.cli import main

    better = with_metadata(exported[0].read_bytes(), val_row_accuracy=0.9)
    out = tmp_path / "numbers.onnx"
    out.write_bytes(better)
    assert main(["--sequence", "--run", str(own_run), "--out", str(out)]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: not installed") and len(err.splitlines()) == 1 and out.read_bytes() == better
    assert main(["--sequence", "--run", str(own_run), "--out", str(out), "--force"]) == 0
    assert "was 90.00%" in capsys.readouterr().out
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["val_row_accuracy"]) == VAL_ACCURACY
    assert 0.5 <= json.loads(meta["sure_threshold"]) <= 1.0  # chosen on the validation rows (training.calibrate)


def test_defaults_and_bad_runs(tmp_path, capsys):
    from export.cli import main, parse_args

    a = parse_args(["--sequence"])
    assert (a.run, a.out) == ("runs/sequence/latest", ROOT / "app" / "models" / "numbers.onnx")
    a = parse_args([])
    assert (a.run, a.out) == ("runs/latest", ROOT / "app" / "models" / "digits.onnx")
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--sequence", "--quantize"])
    assert exit_info.value.code == 2
    digit_run = tmp_path / "digit-run"
    digit_run.mkdir()
    (digit_run / "results.json").write_text(json.dumps({"models": {"improved": {}}}))
    capsys.readouterr()
    assert main(["--sequence", "--run", str(digit_run), "--out", str(tmp_path / "n.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a sequence run" in err and len(err.splitlines()) == 1
    assert main(["--sequence", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "n.onnx")]) == 2
    assert "python -m training.sequence" in capsys.readouterr().err
    assert not (tmp_path / "n.onnx").exists()


def test_sure_share_counts_rows_whose_reading_is_sure():
    from export.sequence import sure_share

    def row(*ps):  # (T, CLASSES): a "2" at frame 0 with probability p, then blanks
        f = np.zeros((3, CLASSES), np.float32)
        f[:, 0] = 1.0
        f[0, 0], f[0, 3] = 1.0 - ps[0], ps[0]
        return f
    frames = np.stack([row(0.99), row(0.7), row(0.95)])
    assert sure_share(frames, 0.9) == pytest.approx(2 / 3)  # the reading's probability: 0.99, 0.7, 0.95
    assert sure_share(frames, 0.96) == pytest.approx(1 / 3) and sure_share(frames[:0], 0.9) == 0.0
