"""Personal adaptation and the why-view, measured.

adaptation: pen writers' digits, each rendered as the window reads a drawn digit (app.pen.normalised_ink
-> app.preprocess.center_digit); the benchmark uses the validation writers (never trained on), the
training writers are for tuning (`python -m benchmarks.adapt_figures --training-writers`).
For each writer, up to k of their misread digits per misread class (their true digit) become
corrections; the rest of their digits are read with and without the adaptation. The user's earlier
readings that guard the adaptation are, as in the app, the writer's other digits read right and sure,
out of fold (5 folds: a digit never guards its own reading). Because those figures rest on few
misreads, each misread with a same-class correction of its writer is also read once held out (the
others of its class, up to k, and up to k of every other misread class as corrections). Other
writers' digits are read with each writer's adaptation to show it stays personal.
why: deletion curves on MNIST test digits (the most important ink first vs random ink) and the
why-view's latency for a digit drawn on the window's canvas.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

import numpy as np

from benchmarks.stats import SINGLE, Row, p50_p95, runs, timings_ms

ADAPT_CMD = "python -m benchmarks --only adaptation"
WHY_CMD = "python -m benchmarks --only why"
KS = (1, 3, 5)
FOLDS = 5
SEED = 2026
OTHERS = 600  # other writers' digits read with each writer's adaptation
DELETION_DIGITS = 300
Z95 = 1.959964


def pen_digits(validation=True):
    """(writers, labels, model inputs) of the validation (else training) writers' digits, rendered as
    the window reads them."""
    from training.pen_data import stroke_view

    chosen = pen_samples(validation)
    images = np.stack([stroke_view(s.strokes) for s in chosen]).astype(np.float32)
    return np.array([s.writer for s in chosen]), np.array([int(s.label) for s in chosen]), images


def pen_samples(validation=True):
    """The validation (else training) writers' pen digits (app.pen.PenSample), in the benchmark's order."""
    from training.pen_data import pen_dir, read_records, split_by_writer

    source = pen_dir(None)
    if source is None:
        raise FileNotFoundError("no pen data: set PEN_DIR or put the UNIPEN dev set at ../shared/data/unipen")
    digits = [s for s in read_records(source / "digits.jsonl.gz") if s.label in set("0123456789")]
    return split_by_writer(digits)[1 if validation else 0]


@dataclass(frozen=True)
class Readings:
    """Digits as the network read them: writers, true labels, probabilities (n, K), features (n, F),
    the confidence from which a reading is sure (the app keeps only sure ones as guards), and the
    built-in samples the network reads right (features, labels, probabilities): every user's guards."""

    writers: np.ndarray
    labels: np.ndarray
    p: np.ndarray
    f: np.ndarray
    sure: float
    builtin: tuple
    # The window fuses the stroke reader's answers (app.trajectory) after the adaptation: (probabilities
    # (n, K), weight, the fused sure line), or None for the digit model alone.
    strokes: tuple | None = None

    def shown(self, p, which):
        """What the window shows for digit-model probabilities `p` of the digits `which`."""
        if self.strokes is None:
            return p
        from app.trajectory import fuse
        return fuse(p, self.strokes[0][which], self.strokes[1])

    @property
    def predicted(self):
        return self.shown(self.p, slice(None)).argmax(axis=1)


@dataclass
class Counts:
    """One k's figures: misread digits among `n` rest digits before and after, how many misreads the
    adaptation fixed and correct readings it broke; other writers' right readings before and after
    out of `other_n`; held-out misreads with a same-class correction, and how many of them it fixed."""

    writers: int = 0
    n: int = 0
    before: int = 0
    after: int = 0
    fixed: int = 0
    broken: int = 0
    other_n: int = 0
    other_before: int = 0
    other_after: int = 0
    held_out: int = 0
    held_out_fixed: int = 0


def writer_plan(labels, predicted, rng, k):
    """(corrections, rest) indices of one writer's digits: up to k misread digits of each misread class."""
    order = rng.permutation(len(labels))
    corrections = []
    for c in np.unique(labels[predicted != labels]):
        corrections += [i for i in order if labels[i] == c and predicted[i] != c][:k]
    taken = set(corrections)
    rest = np.array([i for i in order if i not in taken], np.int64)
    return np.array(corrections, np.int64), rest


def _fit(fit, r, corrections, guards):
    """`fit` for corrections and guards (indices into r), the built-in samples guarding too."""
    bf, by, bp = r.builtin
    return fit(r.f[corrections], r.labels[corrections], r.p[corrections], np.concatenate([r.f[guards], bf]),
               np.concatenate([r.labels[guards], by]), np.concatenate([r.p[guards], bp]))


def _read(fitted, r, which):
    if fitted.adapter is None:
        return r.predicted[which]
    return r.shown(fitted.adapter.apply(r.p[which], r.f[which]), which).argmax(axis=1)


def _guards(r, which):
    """The digits among `which` the user would have let stand: read right and sure."""
    shown = r.shown(r.p[which], which)
    sure = r.sure if r.strokes is None else r.strokes[2]
    return which[(shown.argmax(axis=1) == r.labels[which]) & (shown.max(axis=1) >= sure)]


def measure(r, k, fit=None, others=OTHERS):
    """Counts for k corrections per misread class (see the module docstring); `fit` is app.adapt.fit
    unless given (a method under study)."""
    if fit is None:
        from app.adapt import fit
    rng, others_rng, held_rng = (np.random.default_rng(SEED + i) for i in range(3))
    counts = Counts()
    predicted = r.predicted
    for w in sorted(set(r.writers)):
        mine = np.flatnonzero(r.writers == w)
        wrong = predicted[mine] != r.labels[mine]
        if not wrong.any():
            continue
        corrections, rest = writer_plan(r.labels[mine], predicted[mine], rng, k)
        corrections, rest = mine[corrections], mine[rest]
        n, fixed = _held_out(r, mine, k, held_rng, fit)
        counts.held_out, counts.held_out_fixed = counts.held_out + n, counts.held_out_fixed + fixed
        if len(rest) == 0:
            continue
        after = predicted[rest].copy()
        for fold in np.array_split(rng.permutation(len(rest)), min(FOLDS, len(rest))):
            fitted = _fit(fit, r, corrections, _guards(r, np.delete(rest, fold)))
            after[fold] = _read(fitted, r, rest[fold])
        truth = r.labels[rest]
        counts.writers += 1
        counts.n += len(rest)
        counts.before += int((predicted[rest] != truth).sum())
        counts.after += int((after != truth).sum())
        counts.fixed += int(((predicted[rest] != truth) & (after == truth)).sum())
        counts.broken += int(((predicted[rest] == truth) & (after != truth)).sum())
        if others:
            # The same writer's adaptation, guarded by all their sure right readings, on other writers' digits.
            theirs = np.flatnonzero(r.writers != w)
            theirs = others_rng.choice(theirs, min(others, len(theirs)), replace=False)
            read = _read(_fit(fit, r, corrections, _guards(r, rest)), r, theirs)
            counts.other_n += len(theirs)
            counts.other_before += int((predicted[theirs] == r.labels[theirs]).sum())
            counts.other_after += int((read == r.labels[theirs]).sum())
    return counts


def _held_out(r, mine, k, rng, fit):
    """(held out, fixed): one writer's misreads that have another misread of their class, each read held
    out, adapted to up to k of those and up to k of every other misread class (guards: all sure right)."""
    held_out = fixed = 0
    labels, predicted = r.labels[mine], r.predicted[mine]
    wrong = np.flatnonzero(predicted != labels)
    guards = _guards(r, mine)
    for m in wrong:
        same = wrong[(labels[wrong] == labels[m]) & (wrong != m)]
        if len(same) == 0:
            continue
        chosen = list(rng.permutation(same)[:k])
        for c in np.unique(labels[wrong]):
            if c != labels[m]:
                chosen += list(rng.permutation(wrong[labels[wrong] == c])[:k])
        read = _read(_fit(fit, r, mine[np.array(chosen)], guards), r, mine[[m]])
        held_out += 1
        fixed += int(read[0] == labels[m])
    return held_out, fixed


def wilson(successes, n):
    """The 95 % Wilson score interval of a proportion, (low, high)."""
    if n == 0:
        return 0.0, 1.0
    share = successes / n
    centre = (share + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * np.sqrt(share * (1 - share) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def readings(model, validation=True):
    """Readings of the validation (else training) writers' digits by the model at `model`, or None if
    it has no features output."""
    from app.adapt import builtin_guards
    from app.predictor import Predictor

    predictor = Predictor(model)
    writers, labels, images = pen_digits(validation)
    p, f = predictor.predict_with_features(images)
    if f is None:
        return None
    gi, gl = builtin_guards()
    bp, bf = predictor.predict_with_features(np.stack(gi))
    by = np.array([int(x) for x in gl])
    right = bp.argmax(axis=1) == by
    return Readings(writers, labels, p, f, predictor.sure_threshold, (bf[right], by[right], bp[right]))


def rows_for(r, command, goals=True, fit=None):
    """The figures of `r` as rows; `goals` False for the training writers (tuning, no pass/fail)."""
    predicted = r.predicted
    rows = [Row("writers / digits / misread before adaptation",
                f"{len(set(r.writers))} / {len(r.labels)} / {int((predicted != r.labels).sum())} "
                f"({(predicted != r.labels).mean():.2%})", "", command, SINGLE)]
    for k in KS:
        c = measure(r, k, fit)
        if c.n == 0:
            continue
        halved = c.after <= c.before / 2
        rows.append(Row(f"k = {k}: writers' error on the rest of their digits, before -> after",
                        f"{c.before / c.n:.2%} -> {c.after / c.n:.2%} ({c.before} -> {c.after} of {c.n} digits, "
                        f"{c.writers} writers with misreads; {c.fixed} misreads fixed, {c.broken} right readings broken)",
                        "at least halves (k = 3)" if goals and k == 3 else "", command, "exact count, 5-fold guards",
                        halved if goals and k == 3 else None))
        low, high = wilson(c.held_out_fixed, c.held_out)
        rows.append(Row(f"k = {k}: each misread with a same-class correction from its writer, held out: fixed",
                        f"{c.held_out_fixed} of {c.held_out} ({c.held_out_fixed / max(c.held_out, 1):.0%}, "
                        f"95% CI {low:.0%}-{high:.0%})", "", command, "exact count, Wilson interval"))
        rows.append(Row(f"k = {k}: other writers' accuracy with that writer's adaptation, before -> after",
                        f"{c.other_before / c.other_n:.2%} -> {c.other_after / c.other_n:.2%} ({c.other_n} readings)",
                        "does not drop" if goals else "", command, "exact count",
                        c.other_after >= c.other_before if goals else None))
    return rows


def adaptation(ctx) -> list[Row]:
    r = readings(ctx.model)
    if r is None:
        return [Row("personal adaptation", "unavailable: the model has no `features` output", "", ADAPT_CMD, SINGLE)]
    rows = rows_for(r, ADAPT_CMD)
    fused = with_strokes(r, ctx.model)
    if fused is not None:
        rows += [dataclasses.replace(row, metric=f"in the window, with the stroke reader: {row.metric}", goal="",
                                     passed=None) for row in rows_for(fused, ADAPT_CMD, goals=False)]
    return rows


def with_strokes(r, model, validation=True):
    """`r` as the window reads its digits when the stroke reader (app.trajectory) is beside the model:
    its answers fused after the adaptation; None without one."""
    from app.predictor import Predictor

    reader = Predictor(model).trajectory
    if reader is None:
        return None
    samples = pen_samples(validation)
    return dataclasses.replace(r, strokes=(reader.predict([s.strokes for s in samples]), reader.weight,
                                           reader.sure_threshold))


def why(ctx) -> list[Row]:
    from app import explain
    from app.predictor import Predictor
    from app.recognize import read_drawing
    from benchmarks.pen_figures import _canvas, draw, random_box

    predictor = Predictor(ctx.model)
    x = ctx.x_test
    rng = np.random.default_rng(SEED)
    important, random = [], []
    for i in rng.choice(len(x), DELETION_DIGITS, replace=False):
        image = x[i]
        w = explain.explain(predictor, image)
        ink = np.flatnonzero(image.reshape(-1) > explain.INK)
        weight = w.for_chosen.reshape(-1)[ink]
        important.append(explain.deletion_curve(predictor, image, ink[np.argsort(-weight, kind="stable")],
                                                w.chosen).mean())
        random.append(explain.deletion_curve(predictor, image, rng.permutation(ink), w.chosen).mean())
    area_important, area_random = float(np.mean(important)), float(np.mean(random))
    rows = [
        Row("deletion curve: area under the chosen class' probability, most important ink removed first",
            f"{area_important:.3f}", "well below random (<= 0.75 x)", WHY_CMD,
            f"mean of {DELETION_DIGITS} MNIST test digits, 10 steps", area_important <= 0.75 * area_random),
        Row("deletion curve: the same, random ink removed first", f"{area_random:.3f}", "", WHY_CMD,
            f"mean of {DELETION_DIGITS} MNIST test digits, 10 steps"),
    ]
    # Latency: a pen digit drawn on the window's canvas, read by the window, then explained and drawn.
    from training.pen_data import pen_dir, read_records, split_by_writer

    size, brush = _canvas()
    source = pen_dir(None)
    samples = split_by_writer([s for s in read_records(source / "digits.jsonl.gz")])[1] if source else []
    guesses = []
    for s in samples[:20]:
        box, width = random_box(rng, size, brush[:2])
        drawing = draw(s.strokes, box, width, size)
        reading = read_drawing(predictor, drawing)
        if reading.guesses:
            guesses.append((reading.guesses[0], drawing))
    if not guesses:
        return rows

    turn = iter(range(10**9))

    def view():
        guess, drawing = guesses[next(turn) % len(guesses)]
        w = explain.explain(predictor, guess.image)
        x0, y0, x1, y1 = guess.box
        crop = drawing.pixels[y0:y1, x0:x1]
        explain.tint(crop / 255.0, explain.onto_canvas(w.for_chosen, guess.image, crop))
        explain.tint(guess.image[:, :, 0], w.for_chosen)
        explain.tint(guess.image[:, :, 0], w.for_runner_up)

    ms = timings_ms(view, ctx.repeats)
    rows.append(Row("why-view on the canvas: occlusion (one batch), chosen and runner-up maps, canvas and preview overlays",
                    p50_p95(ms), "p50 <= 30 ms", WHY_CMD, runs(ctx.repeats), float(np.percentile(ms, 50)) <= 30.0))
    return rows


def main(argv=None) -> int:
    """Print the adaptation figures of the training writers (for tuning) or the validation writers."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adapt_figures", description=main.__doc__)
    parser.add_argument("--model", default="app/models/digits.onnx")
    parser.add_argument("--training-writers", action="store_true", help="the writers the model trained on")
    args = parser.parse_args(argv)
    from app.predictor import ModelError

    try:
        r = readings(args.model, validation=not args.training_writers)
    except (OSError, ValueError, ModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if r is None:
        print("error: the model has no features output", file=sys.stderr)
        return 1
    command = "python -m benchmarks.adapt_figures" + " --training-writers" * args.training_writers
    for row in rows_for(r, command, goals=not args.training_writers):
        print(f"{row.metric}: {row.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
