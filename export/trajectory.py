"""`python -m export --trajectory`: the stroke reader (training.trajectory) -> ONNX, proven equal to Keras, installed.

The contract (app.trajectory): input INPUT_NAME float32 [batch, POINTS, CHANNELS], output OUTPUT_NAME float32
[batch, 11], a softmax over the digit model's labels. The file is useful only beside the digit model it was
calibrated with, so the export refuses when digits.onnx beside --out is another one. Parity runs on the run's
validation digits: the stroke answers and the answers fused with the digit model's (app.trajectory.fuse) must
agree. The installed file is replaced only by one whose fused answers score at least as well for the same digit
model, and never by one that makes the window read worse than the digit model alone, unless forced.
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from app.paths import MODEL_RELATIVE
from app.predictor import DIGITS, NOT_A_DIGIT
from app.trajectory import CHANNELS, INPUT_NAME, MAX_WEIGHT, OUTPUT_NAME, POINTS, TRAJECTORY_FILE, file_digest, fuse
from export import readers
from export.readers import Contract, ReaderRun

DEFAULT_RUN = "runs/trajectory/latest"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "app" / "models" / TRAJECTORY_FILE
DIGITS_FILE = MODEL_RELATIVE.name  # the digit model the stroke reader is installed beside
LABELS = DIGITS + [NOT_A_DIGIT]
BATCH_DIM = "batch"
MODEL_NAME = "trajectory_reader"  # training.models.trajectory_reader's name, as results.json records it
COPIED = ("stroke_val_accuracy", "fused_val_accuracy", "image_val_accuracy", "val_digits", "val_rejects")
RETRAIN = "run `python -m training.trajectory` again"
SHA256 = re.compile(r"[0-9a-f]{64}")
CONTRACT = Contract(INPUT_NAME, (BATCH_DIM, POINTS, CHANNELS), OUTPUT_NAME, (BATCH_DIM, len(LABELS)))
DOC = (f"Stroke reader: {INPUT_NAME} float32 [batch,{POINTS},{CHANNELS}] (app.trajectory.features of a drawn digit's "
       f"path) -> {OUTPUT_NAME} [batch,{len(LABELS)}] over labels (metadata); fused with the digit model whose sha256 "
       "is digit_model_sha256 (app.trajectory.fuse)")


def _number(results: dict, key: str, low: float, high: float, low_open: bool) -> float | None:
    value = results.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if (low < value if low_open else low <= value) and value <= high else None


def check_results(path: Path, results) -> dict:
    """The results of a trajectory run, checked; ValueError naming `path` (and a digit or sequence run as such)."""
    if not isinstance(results, dict):
        raise ValueError(f"{path}: not a trajectory run's results (expected a JSON object)")
    if "models" in results:
        raise ValueError(f"{path}: a digit run's results, not a trajectory run's; it is exported without --trajectory")
    if "val_row_accuracy" in results:
        raise ValueError(f"{path}: a number reader's results, not a trajectory run's; it is exported with --sequence")
    if results.get("model") != MODEL_NAME:
        raise ValueError(f"{path}: not a trajectory run's results (\"model\" is "
                         f"{json.dumps(results.get('model'))[:40]}, expected \"{MODEL_NAME}\")")
    ranges = {"fusion_weight": (0.0, MAX_WEIGHT, True), "sure_threshold": (0.0, 1.0, True),
              "fused_score": (0.0, 1.0, False), "image_score": (0.0, 1.0, False)}
    for key, (low, high, low_open) in ranges.items():
        if _number(results, key, low, high, low_open) is None:
            raise ValueError(f"{path}: \"{key}\" must be a number {'above' if low_open else 'from'} {low:g} "
                             f"{'and at most' if low_open else 'to'} {high:g}, found "
                             f"{json.dumps(results.get(key))[:40]}")
    if not isinstance(results.get("digit_model_sha256"), str) or not SHA256.fullmatch(results["digit_model_sha256"]):
        raise ValueError(f"{path}: \"digit_model_sha256\" must be the hex sha256 of the digit model it was "
                         f"calibrated with, found {json.dumps(results.get('digit_model_sha256'))[:40]}")
    return results


def find_run(run: str) -> ReaderRun:
    """The complete trajectory run at `run`; FileNotFoundError or ValueError naming the file that is wrong."""
    return readers.find_run(run, "training.trajectory", check_results, "val.npz")


def digit_model_beside(out: Path, results: dict) -> Path:
    """The digit model beside `out`, checked to be the one the run was calibrated with; else ValueError."""
    if out.name == DIGITS_FILE:
        raise ValueError(f"{out}: that is the digit model's file; the stroke reader goes beside it as "
                         f"{TRAJECTORY_FILE}")
    digits = out.parent / DIGITS_FILE
    if not digits.is_file():
        raise FileNotFoundError(f"{digits}: no digit model beside {out} (the stroke reader is used only beside "
                                "the digit model it was calibrated with)")
    if file_digest(digits) != results["digit_model_sha256"]:
        raise ValueError(f"the run was calibrated with another digit model than {digits} (sha256 "
                         f"{results['digit_model_sha256'][:12]}..., that file {file_digest(digits)[:12]}...); "
                         f"{RETRAIN} with this digit model")
    return digits


def load_val(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The run's validation digits: features (n, POINTS, CHANNELS), labels (n,), the digit model's
    probabilities (n, 11); ValueError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y, image = (np.asarray(data[k]) for k in ("x", "y", "image"))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not the run's validation digits ({type(e).__name__}: {str(e)[:120]})") from None
    n = len(x) if x.ndim else 0
    if n == 0 or x.shape != (n, POINTS, CHANNELS) or y.shape != (n,) or image.shape != (n, len(LABELS)) \
            or y.dtype.kind not in "iu" or not ((0 <= y) & (y < len(LABELS))).all() \
            or not np.isfinite(x).all() or not np.isfinite(image).all():
        raise ValueError(f"{path}: x {x.shape}, y {y.shape} {y.dtype}, image {image.shape}; expected x float "
                         f"(n, {POINTS}, {CHANNELS}), y labels 0-{len(LABELS) - 1} (n,), image (n, {len(LABELS)}), "
                         "n > 0, all finite")
    return x.astype(np.float32), y.astype(np.int64), image.astype(np.float32)


def serving_function(model):
    """The one function both Keras parity and the ONNX graph compute: features -> {probabilities}."""
    import tensorflow as tf

    spec = (tf.TensorSpec((None, POINTS, CHANNELS), tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(trajectory):
        # training=False: Dropout off (never training=True in parity code: DESIGN.md).
        return {OUTPUT_NAME: model(trajectory, training=False)}

    return serve, spec


def check_keras(model, path: Path) -> None:
    """The loaded model's own shapes match the contract (a digit model saved here by mistake fails)."""
    shapes = [tuple(t.shape) for t in model.inputs], [tuple(t.shape) for t in model.outputs]
    if shapes != ([(None, POINTS, CHANNELS)], [(None, len(LABELS))]):
        raise ValueError(f"{path}: the Keras model reads {shapes[0]} -> {shapes[1]}; the stroke reader reads "
                         f"(None, {POINTS}, {CHANNELS}) -> (None, {len(LABELS)})")


def keras_to_onnx(model, opset: int):
    """The serving function as ONNX, its batch dimension named as the contract says."""
    serve, spec = serving_function(model)
    return readers.to_onnx(serve, spec, opset, CONTRACT, DOC)


def keras_probabilities(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The Keras side of parity: the serving function the ONNX graph was converted from."""
    serve, _ = serving_function(model)
    return readers.keras_run(serve, x, OUTPUT_NAME, batch_size)


def onnx_probabilities(blob: bytes, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """onnxruntime's answers, as the app will run it; a model that cannot run on them raises ParityError."""
    return readers.onnx_run(blob, x, CONTRACT, f"{x.shape} stroke features", batch_size)


def compare(p_keras: np.ndarray, p_onnx: np.ndarray, image: np.ndarray, weight: float) -> dict:
    """Pure comparison of two (N, 11) stroke answers: largest difference, digits read differently alone and
    fused with the digit model's `image` answers at `weight`."""
    from export.parity import MAX_ABS_DIFF

    if p_keras.shape != p_onnx.shape:
        return {"digits": len(p_keras), "shapes": [list(p_keras.shape), list(p_onnx.shape)], "passed": False}
    diff = np.abs(p_keras.astype(np.float64) - p_onnx.astype(np.float64)).max(axis=1)
    diff = np.where(np.isnan(diff), np.inf, diff)
    alone = np.flatnonzero(p_keras.argmax(1) != p_onnx.argmax(1))
    fused = np.flatnonzero(fuse(image, p_keras, weight).argmax(1) != fuse(image, p_onnx, weight).argmax(1))
    differ = np.union1d(alone, fused)
    worst = int(diff.argmax())
    return {"digits": len(p_keras), "max_abs_diff": float(diff[worst]), "worst_digit": worst,
            "argmax_mismatches": len(alone), "fused_argmax_mismatches": len(fused),
            "first_mismatch": int(differ[0]) if len(differ) else None,
            "passed": bool(diff[worst] <= MAX_ABS_DIFF and not len(differ))}


def describe(report: dict) -> str:
    if "shapes" in report:
        return f"output shapes differ, keras {report['shapes'][0]}, onnx {report['shapes'][1]}"
    return (f"{report['digits']} validation digits: max |diff| {report['max_abs_diff']:.2e} at digit "
            f"{report['worst_digit']}, {report['argmax_mismatches']} read differently, "
            f"{report['fused_argmax_mismatches']} read differently once fused"
            + (f" (first: digit {report['first_mismatch']})" if report["first_mismatch"] is not None else ""))


def load_in_app(blob: bytes, digits: Path):
    """The app's own reader on the exported bytes (a temp copy): ValueError when the app would refuse it."""
    from app.predictor import ModelError
    from app.trajectory import TrajectoryReader

    with tempfile.TemporaryDirectory(prefix="trajectory-export-") as scratch:
        path = Path(scratch) / TRAJECTORY_FILE
        path.write_bytes(blob)
        try:
            reader = TrajectoryReader(path, LABELS)
        except ModelError as e:
            raise ValueError(f"the app refuses the exported stroke reader: {e}") from None
    if reader.digit_model != file_digest(digits):
        raise ValueError(f"the exported stroke reader names another digit model than {digits}")
    return reader


NOT_A_READER = "holds no digit_model_sha256 (not a stroke reader)"


def installed_score(out: Path, digit_sha: str) -> tuple[float | None, str]:
    """(fused_score of the stroke reader at `out` for the same digit model, or None with why it does not count)."""
    meta, note = readers.installed_metadata(out)
    if meta is None:
        return None, note
    if "digit_model_sha256" not in meta:
        return None, f"the installed {out} {NOT_A_READER}"
    if meta["digit_model_sha256"] != digit_sha:
        return None, f"the installed {out} was calibrated for another digit model"
    try:
        return float(json.loads(meta["fused_score"])), ""
    except (KeyError, ValueError, TypeError):
        return None, f"the installed {out} holds no fused_score"


def refusal(out: Path, results: dict, force: bool) -> tuple[float | None, str]:
    """(the installed stroke reader's fused_score or None, why it does not count); WorseModel when the run
    must not be installed at `out` (the stroke reader makes the window worse, or a better one is there)."""
    from export.install import WorseModel

    fused, image = float(results["fused_score"]), float(results["image_score"])
    if not force and fused < image:
        raise WorseModel(f"not installed: the fused answers score {fused:.2%} on the held-out writers, the digit "
                         f"model alone {image:.2%} (fused_score, image_score in results.json): the stroke reader "
                         f"would make the window read worse; {out} is unchanged (--force installs it anyway)")

    def worse(previous: float) -> str:
        return (f"not installed: the new stroke reader's fused answers score {fused:.2%}, the installed one's "
                f"{previous:.2%} for the same digit model (fused_score in their metadata); {out} is unchanged "
                "(--force installs it anyway)")

    return readers.guard_installed(out, fused, force, lambda path: installed_score(path, results["digit_model_sha256"]),
                                   NOT_A_READER, worse)


def install_checked(blob: bytes, out: Path, results: dict, force: bool):
    """Write `blob` to `out` atomically unless `refusal` says no (WorseModel, unless `force`).

    An installed stroke reader for another digit model, or an unreadable file, is replaced with a note;
    a readable model that is no stroke reader (digits.onnx named by mistake) is kept unless forced.
    """
    return readers.install_guarded(blob, out, float(results["fused_score"]), lambda path: refusal(path, results, force))


def trained_on() -> str:
    from training.pen_data import PEN_TERMS

    return (f"pen paths of the training writers' digits and letters of {PEN_TERMS}, and synthetic non-digit "
            "strokes")


def export_trajectory(run: str, out: Path, opset: int, force: bool = False, progress: dict | None = None) -> dict:
    """The whole stroke reader export; returns the parity summary. Raises on any failure before touching `out`."""
    progress = {} if progress is None else progress
    source = find_run(run)  # before TensorFlow: a bad run, another digit model or a refusal cost no import
    results = source.results
    readers.check_out(out)
    digits = digit_model_beside(out, results)
    x, y, image = load_val(source.val_path)
    refusal(out, results, force)  # again at install: the file there may change meanwhile

    from training.quiet_tf import import_tensorflow
    import_tensorflow()

    from export.parity import ParityError
    from training.runs import write_atomic

    weight = float(results["fusion_weight"])
    print(f"exporting the stroke reader from {source.run_dir} (calibrated with {digits}, fusion weight "
          f"{weight:g})", flush=True)
    model = readers.load_keras(source.keras_path)
    check_keras(model, source.keras_path)
    proto = keras_to_onnx(model, opset)
    readers.set_reader_metadata(proto, model, source.run_dir, trained_on(), {
        "labels": LABELS,
        "fusion_weight": weight,
        "sure_threshold": float(results["sure_threshold"]),
        "digit_model_sha256": results["digit_model_sha256"],
        "fused_score": round(float(results["fused_score"]), 6),
        "image_score": round(float(results["image_score"]), 6),
        **{key: results[key] for key in COPIED if key in results},
    })
    readers.check_contract(proto, CONTRACT)
    blob = proto.SerializeToString()

    print(f"parity check on {len(x)} validation digits, alone and fused with the digit model's answers ...",
          flush=True)
    p_keras, p_onnx = keras_probabilities(model, x), onnx_probabilities(blob, x)
    report = compare(p_keras, p_onnx, image, weight)
    summary = {"model": "trajectory", "onnx_bytes": len(blob), "opset": opset, **report}
    if "shapes" not in report:
        read = lambda p: float((p.argmax(1) == y).mean())  # noqa: E731
        summary["val_accuracy"] = {"strokes": {"keras": read(p_keras), "onnx": read(p_onnx)},
                                   "fused": {"keras": read(fuse(image, p_keras, weight)),
                                             "onnx": read(fuse(image, p_onnx, weight))}}
    write_atomic(source.run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")
    if not report["passed"]:
        raise ParityError(f"parity failed, {out} left unchanged: {describe(report)}")
    accuracy = summary["val_accuracy"]
    print(f"parity ok: max |diff| {report['max_abs_diff']:.2e} over {len(x)} validation digits, every one read the "
          f"same alone and fused; read right {accuracy['strokes']['onnx']:.2%} by strokes alone, "
          f"{accuracy['fused']['onnx']:.2%} fused", flush=True)

    load_in_app(blob, digits)
    progress["blob"] = blob
    done = install_checked(blob, out, results, force)
    if done.note:
        print(f"warning: {done.note}; replacing it", file=sys.stderr, flush=True)
    was = f", installed one {done.previous_accuracy:.2%}" if done.previous_accuracy is not None else ""
    print(f"installed {out} ({len(blob) / 1024:.0f} KB, fused score {results['fused_score']:.2%} vs the digit model "
          f"alone {results['image_score']:.2%}{was})", flush=True)
    summary["installed"] = {"path": str(out), "fused_score": float(results["fused_score"]),
                            "previous_fused_score": done.previous_accuracy, "forced": force}
    return summary


def recalibrate_installed(out: Path, force: bool = False, pen: str | None = None, progress: dict | None = None) -> dict:
    """Calibrate the stroke reader installed at `out` again for the digit model now beside it (after a new one was
    installed): its own answers and the digit model's on the held-out writers (training.trajectory.held_out), the
    training's rule (training.trajectory.calibration). No training, no run: the graph is kept as it is and only its
    calibration metadata is rewritten; installed under the same guard as an export. Returns the new calibration."""
    import onnx

    from app.predictor import ModelError, Predictor
    from export.install import WorseModel
    from training.pen_data import pen_dir
    from training.trajectory import calibration, held_out, held_out_reads, pen_records

    progress = {} if progress is None else progress
    readers.check_out(out)
    if not out.is_file():
        raise FileNotFoundError(f"{out}: no stroke reader installed there to calibrate again")
    digits = out.parent / DIGITS_FILE
    meta, note = readers.installed_metadata(out)
    if meta is None:
        raise ValueError(note)
    if "digit_model_sha256" not in meta:
        raise ValueError(f"{out} {NOT_A_READER}")
    directory = pen_dir(pen)
    if directory is None or not directory.is_dir():
        raise FileNotFoundError(f"{directory or 'no pen data'}: the held-out writers' strokes are needed (--pen DIR: "
                                "UNIPEN digits.jsonl.gz and letters.jsonl.gz)")
    try:
        digit_model = Predictor(digits)
    except ModelError as e:
        raise ValueError(f"{e} (the digit model beside {out})") from None
    if digit_model.labels != LABELS:
        raise ValueError(f"{digits}: the digit model has no \"not a digit\" output; the stroke reader reads {LABELS}")
    x, y, images = held_out_reads(*held_out(*pen_records(directory)))
    print(f"calibrating {out} again for {digits} on {len(y)} held-out digits and letters ...", flush=True)
    proto = onnx.load(str(out))
    stroke_p = onnx_probabilities(proto.SerializeToString(), x)
    results = {"digit_model_sha256": file_digest(digits),
               **calibration(stroke_p, digit_model.predict(images), y, digit_model.sure_threshold)}
    # As the metadata holds them: the guard compares them with the installed file's.
    results["fused_score"], results["image_score"] = (round(results[k], 6) for k in ("fused_score", "image_score"))
    fields = {"fusion_weight": results["fusion_weight"], "sure_threshold": results["sure_threshold"],
              "digit_model_sha256": results["digit_model_sha256"], "fused_score": results["fused_score"],
              "image_score": results["image_score"], **{k: results[k] for k in COPIED},
              "recalibrated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key not in fields]
    del proto.metadata_props[:]
    for key, value in kept + [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()]:
        proto.metadata_props.add(key=key, value=value)
    readers.check_contract(proto, CONTRACT)
    blob = proto.SerializeToString()
    load_in_app(blob, digits)
    progress["blob"] = blob
    try:
        install_checked(blob, out, results, force)
    except WorseModel as e:
        raise WorseModel(str(e).replace("the new stroke reader's", "calibrated again, the stroke reader's")) from None
    print(f"installed {out}: weight {meta.get('fusion_weight')} -> {results['fusion_weight']:g}, fused score "
          f"{results['fused_score']:.2%} vs the digit model alone {results['image_score']:.2%} (digits "
          f"{results['fused_val_accuracy']:.2%}, not a digit {results['fused_reject_accuracy']:.2%}; sure from "
          f"{results['sure_threshold']:.1%}: {results['fused_sure_share']:.1%} of digits)", flush=True)
    return results
