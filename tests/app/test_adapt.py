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
    # A held-out set keeps its accuracy: MNIST digits and the built-in samples; any reading the
    # correction changed there is a leaning 1 now read right.
    x, y = mnist_test
    guards, guard_labels = adapt.builtin_guards()
    held_out = list((x[:500] / 255.0).astype(np.float32)[..., None]) + guards
    truth = [str(d) for d in y[:500]] + guard_labels
    before, after = read(with_features, held_out), read(personal, held_out)
    changed = [i for i in range(len(truth)) if before[i] != after[i]]
    assert len(changed) <= 5
    assert all(after[i] == truth[i] == "1" for i in changed)
    assert sum(a == t for a, t in zip(after, truth)) >= sum(b == t for b, t in zip(before, truth))


def test_adaptation_that_would_misread_earlier_readings_is_not_applied():
    # Features in 2-D. The correction says "this shape is a 1"; the user earlier let the same
    # shape stand as a 0 (guard g1). Left out, g1 would be pulled to 1: not applied.
    angle = lambda a: [np.cos(a), np.sin(a)]  # noqa: E731
    correction, g1, g2 = angle(0.0), angle(0.045), angle(np.pi / 2)
    guards_p = np.array([[0.9, 0.1], [0.9, 0.1]])
    fitted = adapt.fit([correction], [1], [g1, g2], [0, 0], guards_p)
    assert fitted.adapter is None
    assert (fitted.right_before, fitted.right_after) == (2, 1)
    # Without that conflicting reading the same correction is applied, and works.
    fitted = adapt.fit([correction], [1], [g2], [0], guards_p[:1])
    assert fitted.adapter is not None
    out = fitted.adapter.apply(np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([angle(0.01), angle(2.5)]))
    assert out.argmax(axis=1).tolist() == [1, 0]  # near the correction: 1; far away: untouched
    np.testing.assert_allclose(out[1], [0.9, 0.1], atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def test_a_ball_stops_short_of_a_reading_of_another_label():
    angle = lambda a: [np.cos(a), np.sin(a)]  # noqa: E731
    fitted = adapt.fit([angle(0.0)], [1], [angle(0.5)], [0], np.array([[0.8, 0.2]]))
    distance = 1 - np.cos(0.5)
    assert 0 < fitted.adapter.radii[0] <= adapt.REACH * distance + 1e-12


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


def test_a_correction_never_pulls_a_digit_nearer_to_a_reading_of_another_label():
    # 2-D features. The correction (a 1) at angle 0; the user's two 0s at 0.30 and 0.32 bound its ball.
    angle = lambda a: [np.cos(a), np.sin(a)]  # noqa: E731
    guards_p = np.array([[0.9, 0.1], [0.9, 0.1]])
    fitted = adapt.fit([angle(0.0)], [1], [angle(0.30), angle(0.32)], [0, 0], guards_p)
    assert fitted.adapter is not None and fitted.right_after == fitted.right_before == 2
    radius = fitted.adapter.radii[0]
    near_zero, near_one = angle(0.24), angle(-0.1)  # both inside the ball; the first nearer to a 0
    assert 1 - np.cos(0.24) < radius and 1 - np.cos(0.1) < radius
    out = fitted.adapter.apply(np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([near_zero, near_one]))
    np.testing.assert_allclose(out[0], [0.9, 0.1], atol=1e-6)  # untouched: it looks like the user's 0s
    assert out[1].argmax() == 1
