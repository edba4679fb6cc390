"""`python -m training.trajectory`: train the stroke reader (app.trajectory) and calibrate it with the digit model.

The stroke reader reads a drawn digit from its pen path. It trains on the pen data's training writers:
each digit as written and slanted, rotated, stretched and wobbled (training.pen_data.augment keeps the
order and direction of the strokes), letters and synthetic scribbles as "not a digit". The held-out
writers' digits and letters then calibrate the pair: the installed digit model reads each as the window
would, and the weight of the stroke reader in app.trajectory.fuse is the one whose fused answers are
most often right; the "sure" line of the fused answers is chosen there too. Writes runs/trajectory/<UTC
time>/ (model.keras, val.npz, results.json) and points runs/trajectory/latest at it; `python -m export
--trajectory` installs it beside that digit model. `--recalibrate [RUN]` calibrates a finished run again
(after the rule changes) without training.

Exit status: 0 trained (or calibrated again); 2 bad input (no pen data, no digit model, not a run of
this digit model); 1 the run could not be written; 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

DEFAULT_DIGITS = Path(__file__).resolve().parents[1] / "app" / "models" / "digits.onnx"
WEIGHTS = np.round(np.arange(0.1, 2.01, 0.1), 2)  # fusion weights tried on the held-out writers
VAL_SEED = 42  # picks the held-out letters whatever --seed says: those of every run before it was fixed


@dataclass(frozen=True)
class TrajectoryConfig:
    views: int = 12               # each training writer's digit: once as written, the rest augmented
    stroke_jitter: float = 0.0    # augmented views: each stroke moved by about this share of the digit's size
    letters: int = 8000           # training writers' letters ("not a digit"), each seen twice
    synthetic: int = 4000         # synthetic scribbles, dashes and clutter ("not a digit")
    val_letters: int = 2000       # held-out writers' letters in the calibration
    epochs: int = 16              # about 20-35 s each on 2 cores; all run, the best is kept
    batch_size: int = 128
    learning_rate: float = 2e-3   # Adam peak; an epoch of warm-up, then cosine decay to 0 (every epoch runs)
    seed: int = 42
    pen: str | None = None        # UNIPEN dir; None: $PEN_DIR, then ../shared/data/unipen
    digits: str = str(DEFAULT_DIGITS)  # the digit model the stroke reader is fused with
    out: str = "runs/trajectory"  # runs/trajectory/<timestamp>/ and its latest link
    quick: bool = False           # smoke run: 300 digits, 2 views, one epoch
    recalibrate: str | None = None  # a finished run to calibrate again with the current rule (no training)


def parse_args(argv) -> TrajectoryConfig:
    d = TrajectoryConfig()
    p = argparse.ArgumentParser(
        prog="python -m training.trajectory",
        description="Train the stroke reader: a small 1-D CNN that reads a digit drawn in the window from its "
                    "pen path, on the pen data's training writers; then calibrate its fusion with the digit "
                    "model on the held-out writers. `python -m export --trajectory` installs it.")
    p.add_argument("--views", type=int, default=d.views, help="renderings per training digit (default %(default)s)")
    p.add_argument("--stroke-jitter", type=float, default=d.stroke_jitter, metavar="F",
                   help="augmented views of a digit written in several strokes also move and turn each stroke on "
                        "its own by about F of the digit's size (default %(default)s: not at all)")
    p.add_argument("--letters", type=int, default=d.letters, help="training letters (default %(default)s)")
    p.add_argument("--epochs", type=int, default=d.epochs,
                   help="epochs of the schedule, all run; the best is kept (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="batch size (default %(default)s)")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help="peak learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed (default %(default)s)")
    p.add_argument("--pen", help="UNIPEN directory (default $PEN_DIR, then ../shared/data/unipen)")
    p.add_argument("--digits", default=d.digits, help="the digit model to fuse with (default app/models/digits.onnx)")
    p.add_argument("--out", default=d.out, help="where runs go (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="smoke run: 300 digits, 2 views, one epoch")
    p.add_argument("--recalibrate", nargs="?", const="runs/trajectory/latest", metavar="RUN",
                   help="no training: calibrate a finished run again with the current rule, from the held-out "
                        "samples it saved, and rewrite its results.json (default RUN runs/trajectory/latest); "
                        "--digits must be the digit model it was calibrated with")
    a = p.parse_args(argv)
    if a.views < 1 or a.letters < 0 or a.epochs < 1 or a.batch_size < 1 or not a.learning_rate > 0:
        p.error("--views, --epochs and --batch-size must be at least 1, --letters at least 0, --learning-rate above 0")
    if not 0 <= a.stroke_jitter <= 0.5:
        p.error("--stroke-jitter must be between 0 and 0.5")
    cfg = replace(d, views=a.views, letters=a.letters, epochs=a.epochs, batch_size=a.batch_size,
                  learning_rate=a.learning_rate, stroke_jitter=a.stroke_jitter, seed=a.seed, pen=a.pen, digits=a.digits, out=a.out, quick=a.quick,
                  recalibrate=a.recalibrate)
    if cfg.quick:
        cfg = replace(cfg, views=min(cfg.views, 2), letters=min(cfg.letters, 200), synthetic=100, val_letters=100,
                      epochs=1)
    return cfg


def path_features(samples, views, rng, stroke_jitter=0.0):
    """(features float32 (n, POINTS, CHANNELS), labels) of (strokes, label) pairs: view 0 as written, the
    others augmented (with `stroke_jitter`, training.pen_data.augment)."""
    from app.trajectory import features
    from training.pen_data import augment

    xs, ys = [], []
    for strokes, label in samples:
        for view in range(views):
            xs.append(features(augment(strokes, rng, stroke_jitter) if view else strokes))
            ys.append(label)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64)


def calibrate(stroke_p, image_p, labels):
    """(fusion weight, sure threshold, fused probabilities): the weight whose fused answers score best on the
    held-out writers (`score`: digits and "not a digit" as the digit training's selection weighs them; ties
    by the lower log-loss), and the line from which fused answers are right training.calibrate.SURE_TARGET
    of the time.

    Not the lowest log-loss alone: the stroke reader is most sure where it is wrong, so the log-loss kept its
    weight at 0.4 while 0.7 read 0.4 points more held-out digits right. Chosen on half of the held-out
    writers, the most-right weight read the other half 0.36 points better on average (200 random halves)."""
    from app.trajectory import fuse
    from training.calibrate import choose_threshold, nll

    fused = [fuse(image_p, stroke_p, w) for w in WEIGHTS]
    best = max(range(len(WEIGHTS)), key=lambda i: (round(score(fused[i], labels)[2], 9), -nll(fused[i], labels)))
    return float(WEIGHTS[best]), float(choose_threshold(fused[best], labels)), fused[best]


def calibration(stroke_p, image_p, labels, image_sure_threshold) -> dict:
    """The calibration's part of a run's results: weight, sure line, and each reader's and the pair's
    accuracy on the held-out digits and letters."""
    from training.pen_data import NOT_A_DIGIT

    weight, threshold, fused = calibrate(stroke_p, image_p, labels)
    (s_acc, s_rej, _), (i_acc, i_rej, i_score), (f_acc, f_rej, f_score) = (
        score(p, labels) for p in (stroke_p, image_p, fused))
    is_digit = labels != NOT_A_DIGIT
    return {
        "fusion_weight": weight,
        "sure_threshold": threshold,
        "stroke_val_accuracy": s_acc, "image_val_accuracy": i_acc, "fused_val_accuracy": f_acc,
        "stroke_reject_accuracy": s_rej, "image_reject_accuracy": i_rej, "fused_reject_accuracy": f_rej,
        "image_score": i_score, "fused_score": f_score,
        "image_sure_share": float((image_p[is_digit].max(axis=1) >= image_sure_threshold).mean()),
        "fused_sure_share": float((fused[is_digit].max(axis=1) >= threshold).mean()),
        "val_digits": int(is_digit.sum()), "val_rejects": int((~is_digit).sum()),
    }


def score(probabilities, labels) -> tuple[float, float, float]:
    """(digit accuracy, not-a-digit accuracy, their weighted mean as the digit training's selection weighs them)."""
    from training.config import SELECTION_WEIGHTS
    from training.pen_data import NOT_A_DIGIT

    right = probabilities.argmax(axis=1) == labels
    digits, rejects = right[labels != NOT_A_DIGIT], right[labels == NOT_A_DIGIT]
    acc = float(digits.mean()) if len(digits) else float("nan")
    rej = float(rejects.mean()) if len(rejects) else acc
    w_pen, w_rej = SELECTION_WEIGHTS["pen"], SELECTION_WEIGHTS["reject"]
    return acc, rej, (w_pen * acc + w_rej * rej) / (w_pen + w_rej)


class BadInput(ValueError):
    """The digit model to fuse with cannot be used; the message names it."""


def train(cfg: TrajectoryConfig) -> Path:
    from app.predictor import ModelError, Predictor
    from app.trajectory import file_digest
    from training.pen_data import NOT_A_DIGIT, PenDataError, pen_dir, split_by_writer, synthetic_rejects

    started = time.perf_counter()
    directory = pen_dir(cfg.pen)
    if directory is None or not directory.is_dir():
        raise PenDataError(f"{directory or 'no pen data'}: pass --pen DIR (UNIPEN digits.jsonl.gz and letters.jsonl.gz)")
    try:
        digit_model = Predictor(cfg.digits)
    except ModelError as e:
        raise BadInput(f"{e} (--digits names the digit model to fuse with)") from None
    if len(digit_model.labels) != NOT_A_DIGIT + 1:
        raise BadInput(f"{cfg.digits}: the digit model has no \"not a digit\" output; the stroke reader reads the "
                       f"same {NOT_A_DIGIT + 1} classes (train one with `python -m training`)")
    rng = np.random.default_rng(cfg.seed)
    digits, letters = pen_records(directory)
    d_train, _ = split_by_writer(digits)
    l_train, _ = split_by_writer(letters)
    d_val, l_val = held_out(digits, letters, cfg.quick, cfg.val_letters)
    if cfg.quick:
        d_train = _pick(d_train, 300, rng)
    l_train = _pick(l_train, cfg.letters, rng)
    print(f"stroke features: {len(d_train)} training digits x {cfg.views}, {len(l_train)} letters x 2, "
          f"{cfg.synthetic} synthetic non-digits; {len(d_val)} held-out digits and {len(l_val)} letters of "
          f"{len({s.writer for s in d_val + l_val})} held-out writers ...", flush=True)
    x_d, y_d = path_features([(s.strokes, int(s.label)) for s in d_train], cfg.views, rng, cfg.stroke_jitter)
    x_l, y_l = path_features([(s.strokes, NOT_A_DIGIT) for s in l_train], 2, rng)
    x_s, y_s = path_features([(s, NOT_A_DIGIT) for s in synthetic_rejects(cfg.synthetic, rng)], 1, rng)
    x_train, y_train = np.concatenate([x_d, x_l, x_s]), np.concatenate([y_d, y_l, y_s])
    x_val, y_val, images = held_out_reads(d_val, l_val)
    image_p = digit_model.predict(images)
    print(f"  made in {time.perf_counter() - started:.0f} s", flush=True)

    model, history, seconds = fit(cfg, x_train, y_train, x_val, y_val)
    stroke_p = model.predict(x_val, batch_size=512, verbose=0)
    results = {
        "model": model.name,
        "digit_model": str(cfg.digits),
        "digit_model_sha256": file_digest(cfg.digits),
        **calibration(stroke_p, image_p, y_val, digit_model.sure_threshold),
        "val_writers": len({s.writer for s in d_val + l_val}),
        "train_samples": int(len(y_train)),
        "params": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "history": history,
        "config": asdict(cfg),
    }
    return save(cfg, model, x_val, y_val, image_p, results)


def pen_records(directory: Path) -> tuple[list, list]:
    """(digits, letters that look like no digit) of the pen data at `directory`."""
    from training.pen_data import REJECT_LETTERS, read_records

    return ([s for s in read_records(directory / "digits.jsonl.gz") if s.label in set("0123456789")],
            [s for s in read_records(directory / "letters.jsonl.gz") if s.label in set(REJECT_LETTERS)])


def _pick(samples: list, n: int, chance: np.random.Generator) -> list:
    return [samples[i] for i in chance.permutation(len(samples))[:n]]


def held_out(digits: list, letters: list, quick: bool = False, val_letters: int = 2000) -> tuple[list, list]:
    """(digits, letters) of the held-out writers that every run is calibrated and compared on: they do not
    depend on --seed (VAL_SEED), so runs, and a stroke reader calibrated again later, meet the same ones."""
    from training.pen_data import split_by_writer

    (l_train, l_val), (_, d_val) = split_by_writer(letters), split_by_writer(digits)
    chance = np.random.default_rng(VAL_SEED)
    if quick:
        d_val = _pick(d_val, 100, chance)
    chance.permutation(len(l_train))  # earlier runs drew the training letters first: the same letters held out
    return d_val, _pick(l_val, val_letters, chance)


def held_out_reads(d_val: list, l_val: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stroke features, labels, images as the window's digit model reads them: app.pen.model_input) of the
    held-out samples that have ink."""
    from app.pen import model_input
    from training.pen_data import NOT_A_DIGIT

    val = [(s.strokes, int(s.label), model_input(s.strokes)) for s in d_val] + \
          [(s.strokes, NOT_A_DIGIT, model_input(s.strokes)) for s in l_val]
    val = [v for v in val if v[2] is not None]  # no ink to read (never seen in the data)
    x, y = path_features([v[:2] for v in val], 1, None)
    return x, y, np.stack([v[2] for v in val])


def fit(cfg, x_train, y_train, x_val, y_val):
    """(trained model with its best epoch's weights, history, seconds of training)."""
    from training.quiet_tf import import_tensorflow
    import_tensorflow()
    import keras
    import tensorflow as tf

    from training.interrupt import stop_on_ctrl_c
    from training.models import trajectory_reader

    keras.utils.set_random_seed(cfg.seed)
    model = trajectory_reader()
    steps = -(-len(x_train) // cfg.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, max(1, steps * (cfg.epochs - 1)), warmup_target=cfg.learning_rate, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
            .shuffle(len(x_train), seed=cfg.seed).batch(cfg.batch_size).prefetch(2))

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"  epoch {epoch + 1}/{cfg.epochs}: loss {logs['loss']:.4f}, held-out accuracy "
                  f"{logs['val_accuracy']:.2%}, loss {logs['val_loss']:.4f}", flush=True)

    # Every epoch of the schedule runs, and the one with the lowest validation loss is kept: with the learning
    # rate still high the loss jumps about, and stopping after a few epochs without a new low (tried: 4) kept
    # an early, lucky epoch of an undertrained model (runs stopped at epoch 6 and 8 of 16).
    keep_best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.epochs, restore_best_weights=True)
    began = time.perf_counter()
    history = model.fit(data, epochs=cfg.epochs, validation_data=(x_val, y_val),
                        callbacks=[Progress(), keep_best, stop_on_ctrl_c()],
                        shuffle=False, verbose=0)  # the dataset shuffles itself (Keras would warn otherwise)
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}, time.perf_counter() - began


def save(cfg, model, x_val, y_val, image_p, results) -> Path:
    from training.runs import save_reader_run

    final = save_reader_run(Path(cfg.out), model, results, "val.npz", x=x_val, y=y_val, image=image_p)
    print(f"held-out digits: stroke reader {results['stroke_val_accuracy']:.2%}, digit model "
          f"{results['image_val_accuracy']:.2%}, both {results['fused_val_accuracy']:.2%} (weight "
          f"{results['fusion_weight']:g}, sure from {results['sure_threshold']:.1%}: "
          f"{results['fused_sure_share']:.1%} of digits); not a digit {results['image_reject_accuracy']:.2%} -> "
          f"{results['fused_reject_accuracy']:.2%}; {results['train_seconds'] / 60:.1f} min training -> {final}",
          flush=True)
    return final


def recalibrate(run: str, digits: str) -> Path:
    """Calibrate a finished run again with the current rule (`calibrate`) from the held-out samples it saved,
    without training: its results.json is rewritten. BadInput unless `digits` is the digit model the run was
    calibrated with (its saved answers are that model's) and the run is complete."""
    import json

    from app.predictor import ModelError, Predictor
    from app.trajectory import file_digest
    from training.runs import resolve_run, write_atomic

    try:
        path = resolve_run(run)
        results = json.loads((path / "results.json").read_text())
        with np.load(path / "val.npz") as val:
            x, y, image = val["x"], val["y"], val["image"]
    except (OSError, ValueError, KeyError) as e:
        raise BadInput(f"{run}: not a stroke reader's run to calibrate again ({e})") from None
    try:
        digest = file_digest(digits)
    except OSError as e:
        raise BadInput(f"{digits}: cannot read the digit model ({e.strerror or e})") from None
    if not isinstance(results, dict) or results.get("digit_model_sha256") != digest:
        raise BadInput(f"{run} was calibrated with another digit model than {digits}: train it again with "
                       "`python -m training.trajectory --digits ...`")
    try:
        digit_model = Predictor(digits)
    except ModelError as e:
        raise BadInput(str(e)) from None
    from training.quiet_tf import import_tensorflow
    import_tensorflow()
    import keras

    try:
        model = keras.models.load_model(path / "model.keras")
    except Exception as e:  # noqa: BLE001 - Keras raises many types for a missing or damaged file
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInput(f"{path / 'model.keras'}: cannot load the stroke reader ({reason})") from None
    stroke_p = model.predict(x, batch_size=512, verbose=0)
    before = f"weight {results.get('fusion_weight')}, fused score {results.get('fused_score', float('nan')):.2%}"
    results.update(calibration(stroke_p, image, y, digit_model.sure_threshold))
    results["recalibrated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_atomic(path / "results.json", json.dumps(results, indent=2))
    print(f"{path}: {before} -> weight {results['fusion_weight']:g}, fused score {results['fused_score']:.2%} "
          f"(digits {results['fused_val_accuracy']:.2%}, not a digit {results['fused_reject_accuracy']:.2%}; sure "
          f"from {results['sure_threshold']:.1%}: {results['fused_sure_share']:.1%} of digits)", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    from training.pen_data import PenDataError
    from training.runs import exit_status
    if cfg.recalibrate:
        return exit_status(lambda: recalibrate(cfg.recalibrate, cfg.digits), (BadInput,))
    return exit_status(lambda: train(cfg), (PenDataError, BadInput))


if __name__ == "__main__":
    sys.exit(main())
