"""training.calibrate: temperature scaling, calibration error, the sure threshold."""
from dataclasses import replace

import numpy as np
import pytest

from app.strip import decode

from training.calibrate import (apply_reject_bias, apply_temperature, choose_row_threshold, choose_threshold,
                                expected_calibration_error, fit_reject_bias, fit_temperature)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def overconfident():
    """Labels drawn from softmax(z); the 'model' says softmax(3 z): three times too sure."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, (20000, 11))
    truth = _softmax(z)
    labels = np.array([rng.choice(11, p=p) for p in truth])
    return _softmax(3 * z), labels


def test_temperature_recovers_the_overconfidence(overconfident):
    probs, labels = overconfident
    assert fit_temperature(probs, labels) == pytest.approx(3.0, rel=0.08)


def test_calibration_lowers_the_calibration_error(overconfident):
    probs, labels = overconfident
    before = expected_calibration_error(probs, labels)
    after = expected_calibration_error(apply_temperature(probs, fit_temperature(probs, labels)), labels)
    assert before > 0.1 and after < 0.02


def test_temperature_one_is_the_identity_and_argmax_never_changes(overconfident):
    probs, _ = overconfident
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, atol=1e-9)
    assert (apply_temperature(probs, 2.5).argmax(1) == probs.argmax(1)).all()


def test_threshold_keeps_sure_answers_right_often_enough():
    # 1000 answers at confidence 0.99 all right, 100 at 0.8 half right: only the first group may be sure.
    probs = np.zeros((1100, 2))
    probs[:1000] = [0.99, 0.01]
    probs[1000:] = [0.8, 0.2]
    labels = np.zeros(1100, int)
    labels[1000::2] = 1
    assert choose_threshold(probs, labels, target=0.995) == pytest.approx(0.99)
    assert choose_threshold(probs, labels, target=0.9) == pytest.approx(0.8)


def _row(symbols, confidences, frames=12):
    """Frames of a row reading `symbols` (class indices), each on its own frame at its confidence."""
    f = np.zeros((frames, 12))
    f[:, 0] = 1.0
    for i, (k, c) in enumerate(zip(symbols, confidences)):
        f[2 * i + 1] = 0.0
        f[2 * i + 1, k], f[2 * i + 1, 0] = c, 1.0 - c
    return f


def test_row_threshold_judges_a_row_by_its_least_certain_symbol():
    # 200 rows "12" read right, their weaker symbol at 0.9; 20 rows "77" read "71", the wrong 1 at 0.97
    # (its 7 at 0.99). Judged by its least sure symbol, a right row is sure from 0.9 (200 of 220 right
    # from there); judged by its surest, both kinds sit at 0.99 and the line would be 0.99.
    frames = [_row([2, 3], [0.99, 0.9])] * 200 + [_row([8, 2], [0.99, 0.97])] * 20
    texts = ["12"] * 200 + ["77"] * 20
    assert choose_row_threshold(np.stack(frames), texts, target=0.9) == pytest.approx(0.9)
    assert choose_row_threshold(np.stack(frames), texts, target=0.995) == 1.0  # nothing can be sure
    # "not a digit" reads as "x"; a row with nothing read has no confidence at all
    assert choose_row_threshold(np.stack([_row([11], [0.95])] * 5 + [_row([], [])]), ["x"] * 5 + ["3"],
                                target=0.99) == pytest.approx(0.95)
    # Rows are judged as `read` reads them (readers that vote): read as "77", the "71" rows are right too.
    def vote(f):
        return [replace(c, index=8) if c.index == 2 and f[3, 2] > 0.5 else c for c in decode(f)]

    assert choose_row_threshold(np.stack(frames), texts, target=0.995, read=vote) == pytest.approx(0.9)


def test_reject_bias_moves_the_not_a_digit_prior_to_where_validation_wants_it():
    # Digits whose "not a digit" share is inflated: a negative bias gets them back, letters stay rejected.
    rng = np.random.default_rng(1)
    digits = np.full((1000, 11), 0.01)
    digits[np.arange(1000), rng.integers(0, 10, 1000)] = 0.4
    digits[:, 10] = 0.5
    digits /= digits.sum(axis=1, keepdims=True)
    letters = np.full((500, 11), 0.01)
    letters[:, 10] = 0.95
    letters /= letters.sum(axis=1, keepdims=True)
    sets = {"pen": (digits, digits[:, :10].argmax(1)), "reject": (letters, np.full(500, 10))}
    bias = fit_reject_bias(sets, {"pen": 0.5, "reject": 0.5})
    assert -0.5 < bias < -0.2  # log(0.4 / 0.5) = -0.22: the smallest shift that does it
    assert (apply_reject_bias(digits, bias).argmax(1) < 10).all()
    assert (apply_reject_bias(letters, bias).argmax(1) == 10).all()
    # Nothing to fix: the smallest shift wins.
    fine = {"reject": (letters, np.full(500, 10))}
    assert fit_reject_bias(fine, {"reject": 1.0}) == 0.0
