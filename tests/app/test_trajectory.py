"""The stroke reader (app.trajectory): its features, the fusion, the guarded file and the window's use of it."""

import json

import numpy as np
import pytest

from app import recognize, trajectory
from app.drawing import Drawing
from app.predictor import DIGITS, NOT_A_DIGIT, ModelError, Predictor

from .conftest import _weights, build_model, constant_head

LABELS = DIGITS + [NOT_A_DIGIT]
BAR = np.array([[0.0, 0.0], [0.0, 10.0]])


def test_features_shape_and_range():
    f = trajectory.features([BAR, np.array([[5.0, 5.0], [8.0, 2.0]])])
    assert f.shape == (trajectory.POINTS, trajectory.CHANNELS) and f.dtype == np.float32
    assert np.abs(f[:, :2]).max() <= 1.0 + 1e-6 and np.isclose(np.abs(f[:, 1]).max(), 1.0)
    assert np.allclose(np.hypot(f[:, 2], f[:, 3]), 1.0, atol=1e-5)


def test_features_ignore_size_and_place_but_not_direction():
    strokes = [BAR, np.array([[5.0, 5.0], [8.0, 2.0], [9.0, 9.0]])]
    f = trajectory.features(strokes)
    moved = trajectory.features([s * 13.0 + np.array([250.0, 40.0]) for s in strokes])
    assert np.allclose(f, moved, atol=1e-5)
    backwards = trajectory.features([s[::-1] for s in strokes[::-1]])
    assert not np.allclose(f[:, 2:4], backwards[:, 2:4], atol=0.1)  # drawn the other way: another path


def test_pen_is_up_only_between_strokes():
    one = trajectory.features([np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 10.0]])])
    assert one[:, 4].min() == 1.0
    two = trajectory.features([np.array([[0.0, 0.0], [0.0, 10.0]]), np.array([[10.0, 0.0], [10.0, 10.0]])])
    up = two[:, 4] == 0.0
    assert up.any() and up.sum() < trajectory.POINTS / 2
    # The jump runs from the first stroke's end (0, 10) to the second's start (10, 0): x grows along it.
    assert (np.diff(two[up, 0]) > 0).all()


def test_a_tap_is_one_place_and_no_strokes_is_an_error():
    tap = trajectory.features([np.array([[4.0, 4.0]])])
    assert np.allclose(tap[:, :4], 0.0) and (tap[:, 4] == 1.0).all()
    with pytest.raises(ValueError):
        trajectory.features([])


def test_fuse_multiplies_and_renormalises():
    image = np.array([[0.6, 0.4, 0.0], [0.5, 0.5, 0.0]])
    strokes = np.array([[0.2, 0.8, 0.0], [0.5, 0.5, 0.0]])
    fused = trajectory.fuse(image, strokes, 1.0)
    assert np.allclose(fused.sum(axis=1), 1.0)
    assert np.allclose(fused[0, :2], np.array([0.12, 0.32]) / 0.44, atol=1e-6)
    assert np.allclose(fused[1], [0.5, 0.5, 0.0], atol=1e-6)
    assert np.allclose(trajectory.fuse(image, strokes, 1e-9), image, atol=1e-6)


def worst_strokes(image):
    """For each row, the stroke answer most against the digit model's top answer: all on its runner-up."""
    order = np.argsort(image, axis=1)
    strokes = np.full(image.shape, trajectory.FLOOR)
    strokes[np.arange(len(image)), order[:, -2]] = 1.0
    return strokes


@pytest.mark.parametrize("weight", [0.1, 0.4, 0.7])
def test_a_settled_answer_survives_any_stroke_answer_and_an_unsettled_one_need_not(weight):
    rng = np.random.default_rng(5)
    # Top-two log-odds gaps on both sides of the bound, weight * log(1 / FLOOR), and below log(1 / FLOOR).
    bound = weight * -np.log(trajectory.FLOOR)
    gaps = rng.uniform(0, min(2 * bound, -np.log(trajectory.FLOOR)), 4000)
    logits = rng.normal(0, 3, (4000, 11)) - 200.0
    top, second = rng.integers(0, 11, 4000), rng.integers(0, 10, 4000)
    second = np.where(second >= top, second + 1, second)
    rows = np.arange(4000)
    logits[rows, second] = 0.0
    logits[rows, top] = gaps
    image = np.exp(logits - logits.max(axis=1, keepdims=True))
    image /= image.sum(axis=1, keepdims=True)
    settled = trajectory.settled(image, weight)
    assert 0.1 < settled.mean() < 0.9
    flipped = trajectory.fuse(image, worst_strokes(image), weight).argmax(1) != image.argmax(1)
    assert not flipped[settled].any()
    # Not loose: an answer just short of the bound is overturned by the worst stroke answer.
    near = ~settled & (gaps > bound - 0.5)
    assert near.any() and flipped[near].all()


# -- the file beside the digit model ------------------------------------------------


def stroke_model(path, logits, metadata=None, points=trajectory.POINTS):
    """A stroke reader that ignores the path: softmax(`logits`) for every digit."""
    import onnx
    from onnx import TensorProto, helper

    given = helper.make_tensor_value_info(trajectory.INPUT_NAME, TensorProto.FLOAT, ["batch", points, trajectory.CHANNELS])
    out = helper.make_tensor_value_info(trajectory.OUTPUT_NAME, TensorProto.FLOAT, ["batch", len(logits)])
    nodes = [helper.make_node("Reshape", [trajectory.INPUT_NAME, "flat_shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "zeros"], ["nothing"]),
             helper.make_node("Add", ["nothing", "bias"], ["logits"]),
             helper.make_node("Softmax", ["logits"], [trajectory.OUTPUT_NAME], axis=-1)]
    inits = [helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, points * trajectory.CHANNELS]),
             _weights("zeros", np.zeros((points * trajectory.CHANNELS, len(logits)))), _weights("bias", logits)]
    model = helper.make_model(helper.make_graph(nodes, "strokes", [given], [out], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    props = {"labels": json.dumps(LABELS), "fusion_weight": "1.0", "sure_threshold": "0.7"}
    props.update(metadata or {})
    onnx.helper.set_model_props(model, {k: v for k, v in props.items() if v is not None})
    onnx.save(model, str(path))
    return path


def leaning(first, second, margin):
    """Logits over LABELS: `first` a little (`margin`) above `second`, both far above the rest."""
    logits = np.full(11, -5.0)
    logits[first], logits[second] = 2.0 + margin, 2.0
    return logits


@pytest.fixture
def pair(tmp_path):
    """(digit model leaning to 3 over 5, its sha256): an 11-class model; a stroke reader goes beside it."""
    digits = build_model(tmp_path / "digits.onnx", constant_head(leaning(3, 5, 0.3)), width=11,
                         metadata={"labels": json.dumps(LABELS), "sure_threshold": "0.9"})
    return digits, trajectory.file_digest(digits)


def test_beside_pairs_the_reader_with_its_digit_model(pair):
    digits, sha = pair
    assert trajectory.beside(digits, LABELS) == (None, "")
    stroke_model(digits.parent / trajectory.TRAJECTORY_FILE, leaning(5, 3, 3.0), {"digit_model_sha256": sha})
    reader, note = trajectory.beside(digits, LABELS)
    assert reader is not None and note == "" and reader.weight == 1.0 and reader.sure_threshold == 0.7
    stroke_model(digits.parent / trajectory.TRAJECTORY_FILE, leaning(5, 3, 3.0), {"digit_model_sha256": "0" * 64})
    reader, note = trajectory.beside(digits, LABELS)
    assert reader is None and "another digit model" in note


@pytest.mark.parametrize("metadata, points, says", [
    ({"fusion_weight": None}, trajectory.POINTS, "fusion_weight"),
    ({"fusion_weight": "nan"}, trajectory.POINTS, "fusion_weight"),
    ({"sure_threshold": "1.5"}, trajectory.POINTS, "sure_threshold"),
    ({"labels": json.dumps(DIGITS)}, trajectory.POINTS, "labels"),
    ({}, 32, "input"),
])
def test_a_broken_reader_is_refused_in_one_line(pair, metadata, points, says):
    digits, sha = pair
    stroke_model(digits.parent / trajectory.TRAJECTORY_FILE, leaning(5, 3, 3.0),
                 {"digit_model_sha256": sha, **metadata}, points=points)
    with pytest.raises(ModelError) as e:
        Predictor(digits)
    assert says in str(e.value) and "\n" not in str(e.value)


def drawn_bar():
    drawing = Drawing(200, 200)
    drawing.begin(100, 40, 12)
    for y in range(45, 161, 5):
        drawing.extend(100, y)
    return drawing


def test_the_window_reads_with_both_readers(pair):
    digits, sha = pair
    alone = Predictor(digits)
    assert alone.trajectory is None and "stroke reader" not in alone.describe()
    reading = recognize.read_drawing(alone, drawn_bar())
    assert reading.number == "3" and reading.guesses[0].threshold == 0.9
    # The stroke reader is sure of 5: fused, the 5 wins, and the fused answers' own sure line applies.
    stroke_model(digits.parent / trajectory.TRAJECTORY_FILE, leaning(5, 3, 3.0), {"digit_model_sha256": sha})
    both = Predictor(digits)
    assert both.trajectory is not None and "with the stroke reader" in both.describe()
    reading = recognize.read_drawing(both, drawn_bar())
    assert reading.number == "5" and reading.guesses[0].threshold == 0.7
    # Pictures have no strokes: the digit model alone reads them.
    assert recognize.read(both, drawn_bar().pixels).number == "3"


def test_the_window_asks_the_stroke_reader_only_where_it_could_change_the_answer(tmp_path, monkeypatch):
    asked = []

    def read_with(digit_margin):
        folder = tmp_path / str(digit_margin)
        folder.mkdir()
        digits = build_model(folder / "digits.onnx", constant_head(leaning(3, 5, digit_margin)), width=11,
                             metadata={"labels": json.dumps(LABELS), "sure_threshold": "0.9"})
        stroke_model(folder / trajectory.TRAJECTORY_FILE, leaning(5, 3, 40.0),
                     {"digit_model_sha256": trajectory.file_digest(digits), "fusion_weight": "0.5"})
        predictor = Predictor(digits)
        predict = predictor.trajectory.predict
        monkeypatch.setattr(predictor.trajectory, "predict", lambda groups: asked.append(len(groups)) or predict(groups))
        return recognize.read_drawing(predictor, drawn_bar()).number

    # Weight 0.5: the stroke reader moves the log-odds by at most 0.5 * log(1 / FLOOR).
    bound = 0.5 * -np.log(trajectory.FLOOR)
    assert read_with(bound + 0.5) == "3" and asked == []
    # Short of that it is asked; sure of 5 by 40, it turns the digit model's 3 into a 5.
    assert read_with(bound - 0.5) == "5" and asked == [1]


def test_a_reader_of_another_digit_model_is_not_used(pair):
    digits, _ = pair
    stroke_model(digits.parent / trajectory.TRAJECTORY_FILE, leaning(5, 3, 3.0), {"digit_model_sha256": "f" * 64})
    predictor = Predictor(digits)
    assert predictor.trajectory is None and "not used" in predictor.describe()
    assert recognize.read_drawing(predictor, drawn_bar()).number == "3"


def test_odd_drawings_read_with_the_shipped_pair_without_error(shipped_model):
    """Repeated points, taps, one-pixel strokes, strokes over the edge: the fused read always answers."""
    predictor = Predictor(shipped_model)
    assert predictor.trajectory is not None
    rng = np.random.default_rng(3)
    for _ in range(40):
        drawing = Drawing(560, 420)
        for _ in range(int(rng.integers(1, 6))):
            x, y = rng.uniform(-20, 580), rng.uniform(-20, 440)
            drawing.begin(x, y, float(rng.choice([4, 28, 60])))
            for _ in range(int(rng.integers(0, 30))):
                if rng.random() < 0.3:
                    drawing.extend(x, y)  # the pen resting: the same point again
                else:
                    x, y = x + rng.normal(0, 15), y + rng.normal(0, 15)
                    drawing.extend(x, y)
        reading = recognize.read_drawing(predictor, drawing)
        for g in (g for g in reading.guesses if g.label != recognize.DECIMAL_POINT):  # a point has no scores
            assert np.isfinite(g.probabilities).all() and abs(float(g.probabilities.sum()) - 1.0) < 1e-4
            assert 0.0 <= g.confidence <= 1.0 + 1e-6 and g.label == g.labels[int(np.argmax(g.probabilities))]
