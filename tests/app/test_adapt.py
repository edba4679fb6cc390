"""Per-user adaptation: a repeated misread is read right after one correction, nothing else changes,
and an adaptation that would misread the user's earlier readings is not applied."""

import numpy as np
import pytest

from app import adapt, pen, samples
from app.corrections import Example
from app.predictor import Predictor
from app.preprocess import center_digit

from .conftest import build_model, sample_templates, template_head


def features_head(templates):
    """The template matcher, its unit-length input exposed as `features`."""
    from onnx import helper

    base = template_head(templates)

    def head(flat):
        nodes, initializers, logits = base(flat)
        return nodes + [helper.make_node("Identity", ["unit"], ["features"])], initializers, logits

    return head


@pytest.fixture(scope="module")
def with_features(tmp_path_factory):
    path = tmp_path_factory.mktemp("adapt") / "features.onnx"
    return Predictor(build_model(path, features_head(sample_templates()), extra_output="features"))


def style(digit, slant, squeeze, seed, jitter=1.0):
    """One writer's habit: the sample digit slanted and squeezed, with a little tremor per copy."""
    rng = np.random.default_rng(seed)
    paths = [np.array(s) for s in samples.stroke_paths(digit, (0, 0, 100), slant, squeeze)]
    return center_digit(pen.normalised_ink([s + rng.normal(0, jitter, s.shape) for s in paths]))


LEANING_ONE = (1, 0.5, 1.0)  # read as 2 by the template matcher
WIDE_FOUR = (4, -0.4, 1.6)  # read as 9


def read(predictor, images):
    return [predictor.labels[k] for k in predictor.predict(np.stack(images)).argmax(axis=1)]


def test_a_repeated_misread_is_read_right_after_one_correction(with_features, mnist_test):
    ones = [style(*LEANING_ONE, seed) for seed in range(12)]
    fours = [style(*WIDE_FOUR, seed) for seed in range(5)]
    assert read(with_features, ones) == ["2"] * 12  # the habit the user corrects
    assert read(with_features, fours).count("9") >= 4
    corrected = [Example("1", ones[0])]
    personal, status = adapt.personal(with_features, corrected)
    assert status == "adapted to 1 correction"
    assert read(personal, ones[1:]) == ["1"] * 11  # the same writer's next leaning ones
    assert read(personal, fours) == read(with_features, fours)  # another habit, not corrected, stays as it was
    # A held-out set keeps its accuracy: MNIST digits and the built-in samples; only a few readings
    # change there, each to the corrected label (the only one the head may move).
    x, y = mnist_test
    guards, guard_labels = adapt.builtin_guards()
    held_out = list((x[:500] / 255.0).astype(np.float32)[..., None]) + guards
    truth = [str(d) for d in y[:500]] + guard_labels
    before, after = read(with_features, held_out), read(personal, held_out)
    changed = [i for i in range(len(truth)) if before[i] != after[i]]
    assert len(changed) <= 5
    assert all(after[i] == "1" for i in changed)
    assert sum(a == t for a, t in zip(after, truth)) >= sum(b == t for b, t in zip(before, truth))


def angle(a):
    """A unit 2-D feature vector: the tests' feature space is a circle."""
    return [np.cos(a), np.sin(a)]


SURE_0, SURE_1 = [0.9, 0.1], [0.1, 0.9]


def test_adaptation_that_would_misread_earlier_readings_is_not_applied():
    # The correction (angle 0) says "this shape is a 1"; the user earlier let nearly the same shape
    # stand as a 0 (guard g1, read 0 at 0.55). Read by a head fitted without it, g1 would be a 1: not
    # applied at any strength. Two far guards (a 0 and a 1) give the user's scale.
    guards, labels = [angle(0.03), angle(1.2), angle(-1.2)], [0, 0, 1]
    guards_p = np.array([[0.55, 0.45], SURE_0, SURE_1])
    fitted = adapt.fit([angle(0.0)], [1], [SURE_0], guards, labels, guards_p)
    assert fitted.adapter is None
    assert (fitted.right_before, fitted.right_after) == (3, 2)
    # Without that conflicting reading the same correction is applied, and works.
    fitted = adapt.fit([angle(0.0)], [1], [SURE_0], guards[1:], labels[1:], guards_p[1:])
    assert fitted.adapter is not None and fitted.right_after == fitted.right_before == 2
    out = fitted.adapter.apply(np.array([SURE_0] * 3), np.array([angle(0.0), angle(0.05), angle(1.2)]))
    assert out.argmax(axis=1).tolist() == [1, 1, 0]  # the correction and its like: 1; the user's 0: 0
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def test_a_label_whose_adaptation_misreads_a_guard_is_left_out_and_the_others_still_adapt():
    # Two corrections: a 1 at angle 0, where the user let nearly the same shape stand as a 0 (read
    # 0 at 0.5), and a 2 at angle 2.5, in conflict with nothing. Together they fail the check; the 1
    # is left out and the 2 still adapts.
    corrections, labels, probabilities = [angle(0.0), angle(2.5)], [1, 2], [[0.8, 0.1, 0.1]] * 2
    guards, guard_labels = [angle(0.03), angle(1.2), angle(-1.2), angle(-2.5)], [0, 0, 1, 2]
    guards_p = np.array([[0.5, 0.45, 0.05], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    fitted = adapt.fit(corrections, labels, probabilities, guards, guard_labels, guards_p)
    assert fitted.dropped == (1,) and fitted.adapter is not None
    assert fitted.right_after == fitted.right_before == 4
    out = fitted.adapter.apply(np.array(probabilities + [guards_p[0]]), np.array(corrections + [guards[0]]))
    assert out.argmax(axis=1).tolist() == [0, 2, 0]  # the 1 is not adapted, the 2 is, the user's 0 stays


def test_the_check_reads_each_guard_with_a_head_fitted_without_it():
    # The user let g1 (0.3 rad from the correction) stand as a 0, read at 0.8. A head fitted on g1
    # too keeps it a 0 at full strength and would pass an in-sample check; fitted without it, it
    # reads g1 as a 1, so the check must weaken the head until g1 stays a 0.
    guards, labels = [angle(0.3), angle(1.2), angle(-1.2)], [0, 0, 1]
    fitted = adapt.fit([angle(0.0)], [1], [SURE_0], guards, labels, np.array([[0.8, 0.2], SURE_0, SURE_1]))
    assert fitted.adapter is not None and fitted.stronger > adapt.STRONGER[0]
    assert fitted.right_after == fitted.right_before == 3
    assert fitted.adapter.apply(np.array([[0.8, 0.2]]), np.array([angle(0.3)])).argmax() == 0


def test_beyond_reach_of_every_correction_the_answer_is_the_networks():
    # The user's 0s and 1s lie 0.2 rad apart: the reach is REACH times that gap, far short of 2 rad.
    guards, labels = [angle(0.5), angle(0.7), angle(0.9), angle(1.1)], [0, 1, 0, 1]
    guards_p = np.array([SURE_0, SURE_1, SURE_0, SURE_1])
    fitted = adapt.fit([angle(0.0)], [1], [SURE_0], guards, labels, guards_p)
    assert fitted.adapter is not None
    assert fitted.adapter.reach == pytest.approx(adapt.REACH * (1 - np.cos(0.2)))
    p = np.array([[0.6, 0.4], [0.6, 0.4]])
    out = fitted.adapter.apply(p, np.array([angle(-2.0), angle(0.0)]))
    np.testing.assert_allclose(out[0], p[0], atol=1e-6)  # out of reach: untouched
    assert out[1, 1] > 0.5  # at the correction: the corrected label


def test_the_head_only_raises_or_lowers_the_corrected_labels():
    # Three classes; the correction says 1. Within reach, classes 0 and 2 keep their ratio.
    guards = [angle(1.0), angle(1.3), angle(-1.0), angle(2.5)]
    labels = [0, 1, 2, 0]
    guards_p = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])
    fitted = adapt.fit([angle(0.0)], [1], [[0.6, 0.1, 0.3]], guards, labels, guards_p)
    assert fitted.adapter is not None
    p = np.array([[0.6, 0.1, 0.3]])
    out = fitted.adapter.apply(p, np.array([angle(0.1)]))
    assert out[0, 1] > 0.5
    assert out[0, 0] / out[0, 2] == pytest.approx(2.0, rel=1e-4)


def test_no_guards_no_adaptation():
    fitted = adapt.fit([angle(0.0)], [1], [SURE_0], np.zeros((0, 2)), [], np.zeros((0, 2)))
    assert fitted.adapter is None and fitted.guards == 0


def test_the_head_reaches_the_minimum_of_its_loss():
    # A small random problem: after STEPS the gradient of the penalised loss is near zero.
    rng = np.random.default_rng(0)
    x = np.hstack([rng.normal(size=(40, 6)) * 0.3, np.ones((40, 1))])
    offsets = adapt.log_probabilities(rng.dirichlet(np.ones(4), 40))
    labels = rng.integers(0, 4, 40)
    w = adapt.train_head(x, offsets, labels, adapt.PENALTY)
    grad = x.T @ (adapt.softmax(offsets + x @ w) - np.eye(4)[labels]) + adapt.PENALTY * w
    start = x.T @ (adapt.softmax(offsets) - np.eye(4)[labels])
    assert np.abs(grad).max() < 1e-2 * np.abs(start).max()


def test_apply_is_the_network_answer_plus_the_gated_head():
    centre, weights = np.array([0.1, 0.2]), np.arange(6, dtype=float).reshape(3, 2) / 10
    p, f = np.array([[0.7, 0.3]]), np.array([[3.0, 4.0]])  # unit: (0.6, 0.8)
    corrections, extent = np.array([[1.0, 0.0]]), 0.8  # distance 0.4: the gate is 1 - 0.4 / 0.8
    x = 0.5 * np.array([0.6 - 0.1, 0.8 - 0.2, 1.0])
    expected = adapt.softmax(np.log(p) + x @ weights)
    np.testing.assert_allclose(adapt.Adapter(centre, weights, corrections, extent).apply(p, f), expected, rtol=1e-5)


def test_no_features_output_means_no_adaptation(models):
    plain = Predictor(models["templates"])
    personal, status = adapt.personal(plain, [Example("1", style(*LEANING_ONE, 0))])
    assert "unavailable" in status and personal.adapter is None
    image = style(*LEANING_ONE, 1)
    np.testing.assert_array_equal(personal.predict(image[None]), plain.predict(image[None]))
    assert personal.labels == plain.labels and personal.sure_threshold == plain.sure_threshold


def test_corrections_with_a_label_the_model_lacks_are_left_out(with_features):
    personal, status = adapt.personal(with_features, [Example("not a digit", style(*LEANING_ONE, 0))])
    assert status == "no corrections" and personal.adapter is None


def test_window_draw_misread_correct_and_the_same_style_reads_right(xvfb, tmp_path, with_features):
    import tkinter as tk

    from app import gui
    from app.corrections import Store, menu_label

    from .test_gui import stroke

    root = tk.Tk()
    try:
        window = gui.DigitApp(root, with_features, store=Store(tmp_path / "data"))
        root.update()

        def draw_leaning_one(left, top, height):
            for path in samples.stroke_paths(1, (left, top, height), slant=0.5):
                stroke(window, path)

        draw_leaning_one(150, 50, 300)
        assert window.number_var.get().rstrip("?") == "2"  # the misread
        window.correct("1")
        assert window.number_var.get().rstrip("?") == "1"  # read again, adapted at once
        assert window.menus["Edit"].entrycget(window.corrections_entry, "label") == menu_label(1)
        assert [c.label for c in window.memory.store.corrections()] == ["1"]
        assert window.memory.store.corrections()[0].read_as == "2"
        assert len(window.memory.store.corrections()[0].strokes) == 1  # its strokes, as drawn
        window.clear()
        assert [c.label for c in window.memory.store.confirmed()] == ["1"]  # left standing: a guard
        draw_leaning_one(260, 90, 240)  # the same habit again, elsewhere, smaller
        assert window.number_var.get().rstrip("?") == "1"
        window.toggle_why()  # the why-view: an overlay on the canvas, both maps in the preview
        assert window.why_item is not None and window.preview_title.cget("text").startswith("Why 1")
        window.toggle_why()
        assert window.why_item is None and window.preview_title.cget("text") == "What the network sees"
    finally:
        root.destroy()
