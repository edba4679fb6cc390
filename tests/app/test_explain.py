"""The why-view: signs that are right on a model whose reasons are known, one batched model run,
faithful on MNIST (deleting the marked ink hurts much more than deleting random ink)."""

import numpy as np
import pytest

from app import explain
from app.predictor import Predictor

from .conftest import build_model


def halves_head(flat):
    """Class 0's logit is the ink in the left half, class 1's the ink in the right half."""
    from onnx import helper, numpy_helper

    weights = np.zeros((28, 28, 10), np.float32)
    weights[:, :14, 0] = 0.05
    weights[:, 14:, 1] = 0.05
    return ([helper.make_node("MatMul", [flat, "halves"], ["logits"])],
            [numpy_helper.from_array(weights.reshape(784, 10), "halves")], "logits")


class Counting:
    """A predictor that counts its calls."""

    def __init__(self, predictor):
        self.predictor, self.calls = predictor, 0

    def predict(self, batch):
        self.calls += 1
        return self.predictor.predict(batch)


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    return Predictor(build_model(tmp_path_factory.mktemp("why") / "halves.onnx", halves_head))


def test_ink_for_and_against_have_the_right_sign(halves):
    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 4:8] = 1.0  # more ink on the left: read as 0, runner-up 1
    image[8:20, 20:22] = 1.0
    counting = Counting(halves)
    why = explain.explain(counting, image)
    assert counting.calls == 1  # every occluded patch in ONE batch
    assert (why.chosen, why.runner_up) == (0, 1)
    left, right = image[:, :14, 0] > 0, image[:, 14:, 0] > 0
    assert (why.for_chosen[:, :14][left] > 0).all()  # the left ink speaks for 0 ...
    assert (why.for_chosen[:, 14:][right] < 0).all()  # ... the right ink against it
    assert (why.for_runner_up[:, 14:][right] > 0).all()  # and for the runner-up, 1
    assert (why.for_runner_up[:, :14][left] < 0).all()
    assert (why.for_chosen[image[:, :, 0] == 0] == 0).all()  # nothing is marked off the ink


def test_tint_colours_for_and_against():
    ink = np.ones((1, 3))
    shown = explain.tint(ink, np.array([[1.0, -1.0, 0.0]]))
    np.testing.assert_array_equal(shown[0, 0], explain.FOR.astype(np.uint8))
    np.testing.assert_array_equal(shown[0, 1], explain.AGAINST.astype(np.uint8))
    assert len(set(shown[0, 2].tolist())) == 1  # no evidence: plain grey
    assert (explain.tint(np.zeros((1, 3)), np.array([[1.0, -1.0, 0.0]])) == 0).all()  # no ink, no colour


def test_a_map_is_carried_onto_the_canvas_ink():
    from app.preprocess import center_digit

    canvas = np.zeros((120, 200), np.uint8)
    canvas[20:100, 30:50] = 255  # a tall bar on the left
    canvas[20:40, 50:170] = 255  # and a long one to the right along the top
    image = center_digit(canvas / 255.0)
    signed = np.zeros((28, 28))
    signed[:, :10] = 1.0  # the model-input's left part speaks for
    signed[:, 18:] = -1.0  # its right part against
    carried = explain.onto_canvas(signed, image, canvas)
    assert carried.shape == canvas.shape
    assert (carried[60:100, 30:45] > 0).all()  # the left bar
    assert (carried[20:40, 140:170] < 0).all()  # the right end of the top bar
    assert (carried[canvas == 0] == 0).all()
    top_and_bottom = np.zeros((28, 28))
    top_and_bottom[:14] = 1.0  # the shape lands on rows 11-21 (its centre of mass goes to 14)
    top_and_bottom[18:] = -1.0
    carried = explain.onto_canvas(top_and_bottom, image, canvas)
    assert (carried[20:40, 60:170] > 0).all()  # the top bar
    assert (carried[80:100, 30:50] < 0).all()  # the foot of the left bar


def test_deletion_curve_marked_ink_first_falls_much_faster_than_random(shipped_model, mnist_test):
    predictor = Predictor(shipped_model)
    x, _y = mnist_test
    rng = np.random.default_rng(7)
    marked, random = [], []
    for i in rng.choice(len(x), 40, replace=False):
        image = (x[i] / 255.0).astype(np.float32)[..., None]
        why = explain.explain(predictor, image)
        ink = np.flatnonzero(image.reshape(-1) > explain.INK)
        order = ink[np.argsort(-why.for_chosen.reshape(-1)[ink], kind="stable")]
        marked.append(explain.deletion_curve(predictor, image, order, why.chosen).mean())
        random.append(explain.deletion_curve(predictor, image, rng.permutation(ink), why.chosen).mean())
    assert np.mean(marked) < 0.75 * np.mean(random), (np.mean(marked), np.mean(random))


def test_the_title_never_says_why_not_not_a_digit():
    assert explain._short("7") == "7"
    assert "not not" not in f"why not {explain._short('not a digit')}"


def test_the_why_view_explains_the_answer_shown_not_the_digit_models_own(halves):
    """The window may show the stroke reader's answer fused in (app.trajectory): Why? explains that one."""
    from app.recognize import Guess

    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 4:8] = 1.0  # the digit model alone reads 0, runner-up 1
    image[8:20, 20:22] = 1.0
    shown = np.zeros(10, np.float32)
    shown[[1, 0]] = 0.7, 0.3  # fused with the strokes: 1, runner-up 0
    guess = Guess("1", 0.7, shown, image, (0, 0, 28, 28), tuple(halves.labels))
    view = explain.why_view(halves, guess)
    assert view.title.startswith("Why 1  ·  why not 0")
    own = explain.explain(halves, image)
    assert (own.chosen, own.runner_up) == (0, 1)  # the digit model's own top two are the other way round
    assert (explain.explain(halves, image, (1, 0)).for_chosen == own.for_runner_up).all()
