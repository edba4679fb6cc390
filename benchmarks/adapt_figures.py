"""Personal adaptation and the why-view, measured.

adaptation: the pen data's validation writers (never trained on), each digit rendered as the window
reads a drawn digit (app.pen.normalised_ink -> app.preprocess.center_digit). For each writer, k of
their misread digits per misread class become corrections; the rest of their digits are read with
and without the adaptation. The user's earlier correct readings that guard the adaptation are the
writer's other correctly read digits, out of fold (5 folds: a digit never guards its own reading).
Other writers' digits are read with each writer's adaptation to show it stays personal.
why: deletion curves on MNIST test digits (the most important ink first vs random ink) and the
why-view's latency for a digit drawn on the window's canvas.
"""
from __future__ import annotations

import numpy as np

from benchmarks.stats import SINGLE, Row, p50_p95, runs, timings_ms

ADAPT_CMD = "python -m benchmarks --only adaptation"
WHY_CMD = "python -m benchmarks --only why"
KS = (1, 3, 5)
FOLDS = 5
SEED = 2026
OTHERS = 600  # other writers' digits read with each writer's adaptation
DELETION_DIGITS = 300


def pen_digits():
    """(writers, labels, model inputs) of the validation writers' digits, rendered as the window reads them."""
    from training.pen_data import pen_dir, read_records, split_by_writer, stroke_view

    source = pen_dir(None)
    if source is None:
        raise FileNotFoundError("no pen data: set PEN_DIR or put the UNIPEN dev set at ../shared/data/unipen")
    digits = [s for s in read_records(source / "digits.jsonl.gz") if s.label in set("0123456789")]
    _train, val = split_by_writer(digits)
    images = np.stack([stroke_view(s.strokes) for s in val]).astype(np.float32)
    return np.array([s.writer for s in val]), np.array([int(s.label) for s in val]), images


def writer_plan(labels, predicted, rng, k):
    """(corrections, rest) indices of one writer's digits: up to k misread digits of each misread class."""
    order = rng.permutation(len(labels))
    corrections = []
    for c in np.unique(labels[predicted != labels]):
        corrections += [i for i in order if labels[i] == c and predicted[i] != c][:k]
    rest = np.array([i for i in order if i not in set(corrections)], np.int64)
    return np.array(corrections, np.int64), rest


def adapted_reading(fit_args, probabilities, features):
    from app.adapt import fit

    fitted = fit(*fit_args)
    if fitted.adapter is None:
        return probabilities.argmax(axis=1), False
    return fitted.adapter.apply(probabilities, features).argmax(axis=1), True


def personal_errors(labels, p, f, corrections, rest, guard_extra, rng):
    """Errors on `rest` before and after adapting to `corrections`, guards out of fold."""
    from app.adapt import fit

    predicted = p.argmax(axis=1)
    after = predicted[rest].copy()
    folds = np.array_split(rng.permutation(len(rest)), min(FOLDS, max(len(rest), 1)))
    gf, gy, gp = guard_extra
    for fold in folds:
        held = rest[fold]
        guards = np.setdiff1d(rest, held)
        guards = guards[predicted[guards] == labels[guards]]  # the user's earlier correct readings
        fitted = fit(f[corrections], labels[corrections], np.concatenate([f[guards], gf]),
                     np.concatenate([labels[guards], gy]), np.concatenate([p[guards], gp]))
        if fitted.adapter is not None:
            after[fold] = fitted.adapter.apply(p[held], f[held]).argmax(axis=1)
    return int((predicted[rest] != labels[rest]).sum()), int((after != labels[rest]).sum())


def adaptation(ctx) -> list[Row]:
    from app.adapt import builtin_guards
    from app.predictor import Predictor

    predictor = Predictor(ctx.model)
    writers, labels, images = pen_digits()
    p, f = predictor.predict_with_features(images)
    if f is None:
        return [Row("personal adaptation", "unavailable: the model has no `features` output", "", ADAPT_CMD, SINGLE)]
    gi, gl = builtin_guards()
    bp, bf = predictor.predict_with_features(np.stack(gi))
    right = bp.argmax(axis=1) == np.array([int(x) for x in gl])
    guard_extra = (bf[right], np.array([int(x) for x in gl])[right], bp[right])
    predicted = p.argmax(axis=1)
    rows = [Row("validation writers / digits / misread before adaptation",
                f"{len(set(writers))} / {len(labels)} / {int((predicted != labels).sum())} "
                f"({(predicted != labels).mean():.2%})", "", ADAPT_CMD, SINGLE)]
    others_rng = np.random.default_rng(SEED)
    for k in KS:
        rng = np.random.default_rng(SEED)
        before = after = n_rest = corrected_writers = 0
        other_before = other_after = other_n = 0
        for w in sorted(set(writers)):
            mine = np.flatnonzero(writers == w)
            if not (predicted[mine] != labels[mine]).any():
                continue
            corrections, rest = writer_plan(labels[mine], predicted[mine], rng, k)
            corrections, rest = mine[corrections], mine[rest]
            if len(rest) == 0:
                continue
            b, a = personal_errors(labels, p, f, corrections, rest, guard_extra, rng)
            before, after, n_rest = before + b, after + a, n_rest + len(rest)
            corrected_writers += 1
            # The same writer's adaptation, guarded by all their correct readings, on other writers' digits.
            others = np.flatnonzero(writers != w)
            others = others_rng.choice(others, min(OTHERS, len(others)), replace=False)
            guards = rest[predicted[rest] == labels[rest]]
            read, _applied = adapted_reading(
                (f[corrections], labels[corrections], np.concatenate([f[guards], guard_extra[0]]),
                 np.concatenate([labels[guards], guard_extra[1]]), np.concatenate([p[guards], guard_extra[2]])),
                p[others], f[others])
            other_before += int((predicted[others] == labels[others]).sum())
            other_after += int((read == labels[others]).sum())
            other_n += len(others)
        if n_rest == 0:
            continue
        halved = after <= before / 2
        rows.append(Row(f"k = {k}: writers' error on the rest of their digits, before -> after",
                        f"{before / n_rest:.2%} -> {after / n_rest:.2%} ({before} -> {after} of {n_rest} digits, "
                        f"{corrected_writers} writers with misreads)",
                        "at least halves (k = 3)" if k == 3 else "", ADAPT_CMD, "exact count, 5-fold guards",
                        halved if k == 3 else None))
        rows.append(Row(f"k = {k}: other writers' accuracy with that writer's adaptation, before -> after",
                        f"{other_before / other_n:.2%} -> {other_after / other_n:.2%} ({other_n} readings)",
                        "does not drop", ADAPT_CMD, "exact count", other_after >= other_before))
    return rows


def why(ctx) -> list[Row]:
    from app import explain
    from app.predictor import Predictor
    from app.recognize import read_drawing
    from benchmarks.pen_figures import _canvas, draw, random_box

    predictor = Predictor(ctx.model)
    x, y = ctx.x_test, ctx.y_test
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
