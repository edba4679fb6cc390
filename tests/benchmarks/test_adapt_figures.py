"""The adaptation benchmark's protocol: corrections are up to k misreads per misread class, the rest is
read out of fold (a digit never guards its own reading, guards are right and sure), held-out misreads
count only with a same-class correction of their writer."""
from types import SimpleNamespace

import numpy as np

from benchmarks import adapt_figures as af


def test_writer_plan_takes_up_to_k_misreads_of_each_misread_class():
    labels = np.array([1, 1, 1, 1, 7, 7, 0, 0, 0])
    predicted = np.array([7, 7, 7, 1, 1, 7, 0, 0, 6])  # 1s misread thrice, a 7 once, a 0 once
    for k in (1, 2, 5):
        corrections, rest = af.writer_plan(labels, predicted, np.random.default_rng(0), k)
        assert sorted(np.concatenate([corrections, rest]).tolist()) == list(range(len(labels)))
        assert (predicted[corrections] != labels[corrections]).all()
        taken = {c: int((labels[corrections] == c).sum()) for c in (0, 1, 7)}
        assert taken == {1: min(k, 3), 7: 1, 0: 1}


def readings(writers, labels, predicted, confidence=0.99):
    """Readings whose features name the digit (one-hot index), so a fake fit sees which digits it got."""
    n = len(labels)
    p = np.full((n, 11), (1 - confidence) / 10)
    p[np.arange(n), predicted] = confidence
    builtin = (np.zeros((0, n)), np.zeros(0, np.int64), np.zeros((0, 11)))
    return af.Readings(np.array(writers), np.array(labels), p, np.eye(n), 0.9, builtin)


def recording_fit(log, fixes=True):
    """A fit that logs (corrections, guards) and an adapter that logs what it reads and reads it right
    (when `fixes`) by looking the digit's label up."""
    def fit(corrections, corrections_labels, corrections_p, guards, guards_labels, guards_p):
        entry = {"corrections": set(np.flatnonzero(corrections.sum(axis=0))),
                 "guards": set(np.flatnonzero(guards.sum(axis=0))), "read": set()}
        log.append(entry)

        def apply(p, f):
            which = f.argmax(axis=1)
            entry["read"] |= set(which.tolist())
            out = np.array(p)
            if fixes:
                out[np.arange(len(which)), log_labels[which]] = 2.0
            return out
        return SimpleNamespace(adapter=SimpleNamespace(apply=apply))
    return fit


log_labels = None


def test_rest_is_read_out_of_fold_and_guards_are_right_and_sure():
    global log_labels
    labels = np.arange(60) % 10
    predicted = labels.copy()
    predicted[[1, 11, 21, 45]] = 7  # writer a misreads three 1s, writer b one 5
    r = readings(["a"] * 40 + ["b"] * 20, labels, predicted)
    r.p[6, 6] = 0.5  # read right but unsure: never a guard
    log_labels = labels
    log = []
    counts = af.measure(r, 1, recording_fit(log), others=0)
    assert len(log) >= 2 * af.FOLDS
    for entry in log:
        assert not entry["read"] & entry["guards"]  # a digit never guards its own reading
        assert not entry["read"] & entry["corrections"]
        assert all(predicted[g] == labels[g] and g != 6 for g in entry["guards"])
    read = set().union(*(e["read"] for e in log)) - {1, 11, 21, 45}  # less the misreads read held out too
    assert read == set(range(60)) - {1, 11, 21, 45} and counts.n == 58  # all but one correction per class
    assert (counts.before, counts.fixed, counts.after, counts.broken) == (2, 2, 0, 0)
    assert (counts.held_out, counts.held_out_fixed) == (3, 3)  # the 1s; the 5 has no same-class correction


def test_held_out_counts_only_misreads_with_a_same_class_correction():
    global log_labels
    labels = np.array([1, 1, 1, 4, 2, 2, 3, 3])
    predicted = np.array([7, 7, 1, 9, 2, 2, 3, 3])  # two 1s misread alike, one 4 alone
    log_labels = labels
    for fixes, expected in ((True, 2), (False, 0)):
        counts = af.measure(readings(["w"] * 8, labels, predicted), 3, recording_fit([], fixes), others=0)
        assert (counts.held_out, counts.held_out_fixed) == (2, expected)


def test_wilson_interval():
    low, high = af.wilson(5, 10)
    assert abs(low - 0.2366) < 1e-3 and abs(high - 0.7634) < 1e-3
    assert af.wilson(0, 10)[0] == 0.0 and abs(af.wilson(0, 10)[1] - 0.2775) < 1e-3


def test_in_the_window_the_stroke_reader_is_fused_after_the_adaptation():
    import dataclasses

    labels = np.array([3, 3, 5, 5])
    r = readings(["a"] * 4, labels, labels)  # the digit model reads all four right, 99 % sure
    strokes = np.full((4, 11), 0.01)
    strokes[:, 3] = strokes[:, 5] = 0.45
    strokes[0] = 0.00001
    strokes[0, 5] = 0.9999  # the stroke reader is sure the first 3 is a 5
    fused = dataclasses.replace(r, strokes=(strokes, 1.0, 0.95))
    assert fused.predicted.tolist() == [5, 3, 5, 5] and r.predicted.tolist() == [3, 3, 5, 5]
    # Guards are what the window shows right and sure: not the first digit, and with the fused line.
    assert af._guards(fused, np.arange(4)).tolist() == [1, 2, 3]
    assert af._guards(dataclasses.replace(fused, strokes=(strokes, 1.0, 0.999)), np.arange(4)).tolist() == []
    # The adaptation's answer goes through the fusion, as the window reads it: leaning to 3, it is overruled
    # where the stroke reader is sure of a 5, and stands where the stroke reader cannot tell.
    lean3 = np.where(np.arange(11) == 3, 0.6, np.where(np.arange(11) == 5, 0.4, 0.0))
    adapted = SimpleNamespace(adapter=SimpleNamespace(apply=lambda p, f: np.repeat(lean3[None], len(p), axis=0)))
    assert af._read(adapted, fused, np.array([0, 2])).tolist() == [5, 3]
