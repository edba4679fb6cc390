"""`python -m export --sequence`: the number reader (training.sequence) -> ONNX, proven equal to Keras, installed.

The contract (app.strip): input INPUT_NAME float32 [batch, HEIGHT, width, 1], width a multiple of STRIDE,
both batch and width free; output OUTPUT_NAME float32 [batch, width/STRIDE, CLASSES], per-frame softmax
over LABELS (0 CTC's blank, 1-10 the digits, 11 "not a digit"). Parity runs on the run's validation strips
and on strips of other widths; the installed file is replaced only by a model at least as good on held-out
rows (val_row_accuracy in both files' metadata) unless forced.

With `also` runs the file holds several readers trained apart (all hold out the same writers): output OUTPUT_NAME
[batch, width/STRIDE, members, CLASSES], the named run first; the app reads the text they agree on best
(app.strip.decode_members), and val_row_accuracy is measured that way on the held-out rows. With `keep`, members
of the readers file at `out` go in after them, cut out of it as they are (export/keep.py) and proven to read as
they did there.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from app.strip import CLASSES, HEIGHT, INPUT_NAME, LABELS, NOT_A_DIGIT, OUTPUT_NAME, STRIDE, decode, read_frames
from export import readers
from export.half import rounded_to_half, store_half
from export.keep import combined, load_kept
from export.readers import Contract, ReaderRun

DEFAULT_RUN = "runs/sequence/latest"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "app" / "models" / "numbers.onnx"
BATCH_DIM, WIDTH_DIM, FRAMES_DIM = "batch", "width", f"width/{STRIDE}"
PARITY_WIDTHS = (32, 100, 400)  # besides the validation strips' own width: proves the width is free
PARITY_ROWS = 8                 # strips per extra width
CONTRACT = Contract(INPUT_NAME, (BATCH_DIM, HEIGHT, WIDTH_DIM, 1), OUTPUT_NAME, (BATCH_DIM, FRAMES_DIM, CLASSES))
DOC = (f"Number reader (CTC): {INPUT_NAME} float32 [batch,{HEIGHT},width,1] in [0,1], width a multiple of {STRIDE} "
       f"-> {OUTPUT_NAME} [batch,width/{STRIDE},{CLASSES}] (or [batch,width/{STRIDE},members,{CLASSES}] for readers "
       "that vote), per-frame probabilities over labels (metadata); read as app.strip.read_frames")


def contract(members: int = 1) -> Contract:
    """The I/O contract of a file of `members` readers (one: CONTRACT)."""
    if members == 1:
        return CONTRACT
    return Contract(INPUT_NAME, CONTRACT.input_dims, OUTPUT_NAME, (BATCH_DIM, FRAMES_DIM, members, CLASSES))


def check_results(path: Path, results) -> dict:
    """The results of a sequence run, checked; ValueError naming `path` (and a digit run as such)."""
    accuracy = results.get("val_row_accuracy") if isinstance(results, dict) else None
    if not isinstance(accuracy, (int, float)) or not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"{path}: not a sequence run's results (no \"val_row_accuracy\" between 0 and 1; "
                         "a digit run is exported without --sequence)")
    return results


def find_run(run: str) -> ReaderRun:
    """The complete sequence run at `run`; FileNotFoundError or ValueError naming the file that is wrong."""
    return readers.find_run(run, "training.sequence", check_results, "val_rows.npz")


def load_val_strips(path: Path) -> tuple[np.ndarray, list[str]]:
    """The run's validation strips float32 (n, HEIGHT, W, 1) and their texts; ValueError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            x, text = np.asarray(data["x"], np.float32), [str(t) for t in data["text"]]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not the run's validation strips ({type(e).__name__}: {str(e)[:120]})") from None
    if x.ndim != 4 or x.shape[0] == 0 or x.shape[1] != HEIGHT or x.shape[3] != 1 or x.shape[2] % STRIDE \
            or len(text) != len(x):
        raise ValueError(f"{path}: strips of shape {x.shape} with {len(text)} texts; expected "
                         f"(n, {HEIGHT}, W, 1), W a multiple of {STRIDE}, one text each")
    return x, text


def parity_strips(x: np.ndarray) -> dict[int, np.ndarray]:
    """Strips by width: the validation strips, and for each PARITY_WIDTHS a few made of them side by side."""
    strips = {x.shape[2]: x}
    rows = x[:PARITY_ROWS]
    for width in PARITY_WIDTHS:
        repeats = -(-width // x.shape[2])
        side_by_side = np.concatenate([np.roll(rows, -k, axis=0) for k in range(repeats)], axis=2)
        strips.setdefault(width, np.ascontiguousarray(side_by_side[:, :, :width]))
    return strips


def serving_function(models):
    """The one function both Keras parity and the ONNX graph compute: strip -> {frames: softmax(logits)} of
    the one model in `models`; of several, their frames stacked on axis 2 (members), the first first."""
    import tensorflow as tf

    spec = (tf.TensorSpec((None, HEIGHT, None, 1), tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(strip):
        # training=False: Dropout off (never training=True in parity code: DESIGN.md).
        frames = [tf.nn.softmax(m(strip, training=False), axis=-1) for m in models]
        return {OUTPUT_NAME: frames[0] if len(frames) == 1 else tf.stack(frames, axis=2)}

    return serve, spec


def keras_to_onnx(models, opset: int):
    """The serving function of `models` as ONNX, its free dimensions named as the contract says."""
    serve, spec = serving_function(models)
    return readers.to_onnx(serve, spec, opset, contract(len(models)), DOC)


def rows_exact(frames: np.ndarray, texts: list) -> float:
    """Share of rows whose text as the app reads it (app.strip.read_frames) is exactly theirs ("x": not a digit)."""
    read = lambda f: "".join("x" if c.index == NOT_A_DIGIT else c.label for c in read_frames(f))  # noqa: E731
    return sum(read(f) == t for f, t in zip(frames, texts)) / max(len(texts), 1)


def sure_share(frames: np.ndarray, threshold: float) -> float:
    """Share of rows that the app (app.strip.read_frames) reads with every symbol sure from `threshold`."""
    conf = [min((c.confidence for c in read_frames(f)), default=0.0) for f in frames]
    return float(np.mean(np.array(conf) >= threshold)) if len(conf) else 0.0


def reference_frames(models, kept, x: np.ndarray) -> np.ndarray:
    """What the exported file must compute: the Keras models' frames, then (with `kept`) the kept members' frames
    as the file they come from computes them, stacked on the members axis."""
    p = keras_frames(models, x)
    if kept is None:
        return p
    p = p[:, :, None] if p.ndim == 3 else p
    theirs = onnx_frames(kept.blob, x, members=kept.members)[:, :, list(kept.indices)]
    return np.concatenate([p, theirs], axis=2)


def keras_frames(models, x: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """The Keras side of parity; a model that cannot read strips this wide breaks the contract (ValueError)."""
    serve, _ = serving_function(models)
    try:
        return readers.keras_run(serve, x, OUTPUT_NAME, batch_size)
    except Exception as e:  # noqa: BLE001 - TensorFlow raises its own types for shape errors
        lines = [line for line in str(e).strip().splitlines() if line.strip()]
        raise ValueError(f"the Keras model cannot read strips of {x.shape[2]} columns (the contract needs any "
                         f"width that is a multiple of {STRIDE}): {type(e).__name__}"
                         f"{': ' + lines[0][:200] if lines else ''}") from None


def onnx_frames(blob: bytes, x: np.ndarray, batch_size: int = 250, members: int = 1) -> np.ndarray:
    """onnxruntime's frames, as the app will run it; a model that cannot run on these strips raises ParityError."""
    return readers.onnx_run(blob, x, contract(members), f"strips of {x.shape[2]} columns", batch_size)


def _logits(p: np.ndarray) -> np.ndarray:
    """log p: training.sequence.row_accuracy takes logits and applies the softmax, which gives p back."""
    return np.log(np.maximum(p, 1e-30))


def compare_frames(p_keras: np.ndarray, p_onnx: np.ndarray) -> dict:
    """Pure comparison of two (N, T, CLASSES) frame arrays, or (N, T, members, CLASSES) ones member by member:
    largest difference, rows decoded differently."""
    from export.parity import MAX_ABS_DIFF

    if p_keras.ndim == p_onnx.ndim == 4 and p_keras.shape == p_onnx.shape:
        flat = lambda p: np.moveaxis(p, 2, 1).reshape(-1, p.shape[1], p.shape[3])  # noqa: E731
        return compare_frames(flat(p_keras), flat(p_onnx))
    if p_keras.shape != p_onnx.shape:
        return {"rows": len(p_keras), "shapes": [list(p_keras.shape), list(p_onnx.shape)], "passed": False}
    diff = np.abs(p_keras.astype(np.float64) - p_onnx.astype(np.float64)).reshape(len(p_keras), -1).max(axis=1)
    diff = np.where(np.isnan(diff), np.inf, diff)
    spans = lambda frames: [(c.index, c.first, c.last) for c in decode(frames)]  # noqa: E731
    differ = [i for i in range(len(p_keras)) if spans(p_keras[i]) != spans(p_onnx[i])]
    worst = int(diff.argmax())
    return {"rows": len(p_keras), "max_abs_diff": float(diff[worst]), "worst_row": worst,
            "decode_mismatches": len(differ), "first_mismatch": differ[0] if differ else None,
            "passed": bool(diff[worst] <= MAX_ABS_DIFF and not differ)}


def describe(width: int, report: dict) -> str:
    if "shapes" in report:
        return f"{width} columns: output shapes differ, keras {report['shapes'][0]}, onnx {report['shapes'][1]}"
    return (f"{width} columns, {report['rows']} strips: max |diff| {report['max_abs_diff']:.2e} at strip "
            f"{report['worst_row']}, {report['decode_mismatches']} decoded differently"
            + (f" (first: strip {report['first_mismatch']})" if report["first_mismatch"] is not None else ""))


NOT_A_READER = "holds no val_row_accuracy (not a number reader)"


def installed_accuracy(out: Path) -> tuple[float | None, str]:
    """(val_row_accuracy of the model at `out`, or None with the reason it does not count)."""
    meta, note = readers.installed_metadata(out)
    if meta is None:
        return None, note
    try:
        return float(json.loads(meta["val_row_accuracy"])), ""
    except (KeyError, ValueError, TypeError):
        return None, f"the installed {out} {NOT_A_READER}"


def install_checked(blob: bytes, out: Path, accuracy: float, force: bool):
    """Write `blob` to `out` atomically unless the number reader there is better (WorseModel, unless `force`).

    A readable ONNX model at `out` that is no number reader (digits.onnx named by mistake) is not replaced
    unless forced; an unreadable file is replaced with a note, as the digit export does.
    """
    def worse(previous: float) -> str:
        return (f"not installed: the new model reads {accuracy:.2%} of held-out rows exactly, the installed one "
                f"{previous:.2%} (val_row_accuracy in their metadata); {out} is unchanged (--force installs it anyway)")

    return readers.install_guarded(blob, out, accuracy, lambda path: readers.guard_installed(
        path, accuracy, force, installed_accuracy, NOT_A_READER, worse))


def trained_on() -> str:
    from training.pen_data import PEN_TERMS

    return ("synthetic rows of MNIST (CC BY-SA 3.0) training digits and of real pen digits and letters of the "
            f"training writers of {PEN_TERMS}")


def export_sequence(run: str, out: Path, opset: int, force: bool = False, progress: dict | None = None,
                    also: tuple = (), half: bool = False, keep: tuple = ()) -> dict:
    """The whole sequence export (with `also`: several readers in one file, `run` leading; `keep`: members of the
    readers file at `out`, by run name, after them; `half`: the new readers' weights rounded to half precision);
    returns the parity summary. Raises on any failure before touching `out`."""
    progress = {} if progress is None else progress
    source = find_run(run)  # before TensorFlow: a bad run costs no import
    others = [find_run(r) for r in also]
    readers.check_out(out)
    kept = load_kept(out, tuple(keep)) if keep else None
    x, texts = load_val_strips(source.val_path)
    # Every run holds out the same writers (training.pen_data.is_val_writer), so the leading run's held-out
    # rows are held out for all of them.
    if len({source.run_dir, *(o.run_dir for o in others)}) != len(others) + 1:
        raise ValueError("a run is named twice: readers that vote together must be different runs")
    if kept is not None and {source.run_dir.name, *(o.run_dir.name for o in others)} & set(kept.names):
        raise ValueError("a run is named twice: a kept member of the file is also a run to export")

    from training.quiet_tf import import_tensorflow
    import_tensorflow()

    from export.parity import ParityError
    from training.runs import write_atomic
    from training.calibrate import SURE_TARGET, choose_row_threshold
    from training.sequence import row_accuracy

    print(f"exporting the number reader from {source.run_dir}"
          + "".join(f", voting with {o.run_dir}" for o in others)
          + (f", keeping {', '.join(kept.names)} of {kept.path}" if kept else ""), flush=True)
    models = [readers.load_keras(r.keras_path) for r in [source, *others]]
    members = len(models) + (len(kept.indices) if kept else 0)
    if half:  # from here on the models are what ships: every figure below is theirs
        for m in models:
            m.set_weights([rounded_to_half(w) for w in m.get_weights()])
    # The "sure" line, chosen on the held-out writers' rows as the digit model's is on its validation
    # digits; parity below runs these strips again through ONNX.
    p_val = reference_frames(models, kept, x)
    threshold = choose_row_threshold(p_val, texts, read=read_frames)
    sure = sure_share(p_val, threshold)
    proto = keras_to_onnx(models, opset)
    if kept:
        proto = combined(proto, kept, len(models), contract(members).output_dims)
        proto.doc_string = DOC
    # One reader: the training run's figure. Several: the held-out rows read as the app reads them.
    accuracy = rows_exact(p_val, texts) if members > 1 else float(source.results["val_row_accuracy"])
    extra = {}
    if members > 1:
        extra = {"members": members, "member_runs": [source.run_dir.name] + [o.run_dir.name for o in others]
                 + list(kept.names if kept else ())}
    readers.set_reader_metadata(proto, models[0], source.run_dir, trained_on(), {
        "labels": list(LABELS),
        "stride": STRIDE,
        "height": HEIGHT,
        "val_row_accuracy": round(accuracy, 6),
        "val_rows": source.results.get("val_rows", len(texts)),
        "sure_threshold": round(threshold, 6),
        "sure_share": round(sure, 6),
        **({"weights": "float16"} if half else {}),
        **extra,
    }, params=sum(int(m.count_params()) for m in models) + (kept.params if kept else 0))
    if half:
        store_half(proto)
    readers.check_contract(proto, contract(members))
    blob = proto.SerializeToString()

    strips = parity_strips(x)
    print(f"parity check on {len(x)} validation strips and strips of {', '.join(map(str, PARITY_WIDTHS))} columns ...",
          flush=True)
    reports, val_exact = {}, {}
    for width, batch in strips.items():
        p_keras = p_val if width == x.shape[2] else reference_frames(models, kept, batch)
        p_onnx = onnx_frames(blob, batch, members=members)
        reports[width] = compare_frames(p_keras, p_onnx)
        if width == x.shape[2]:
            exact = rows_exact if members > 1 else (lambda p, t: row_accuracy(_logits(p), t))
            val_exact = {"keras": exact(p_keras, texts), "onnx": exact(p_onnx, texts)}
    summary = {"model": "sequence", **extra, "half": half, "onnx_bytes": len(blob), "opset": opset,
               "widths": {str(w): r for w, r in reports.items()}, "val_rows_exact": val_exact,
               "passed": all(r["passed"] for r in reports.values())}
    record = source.run_dir / ("parity-members.json" if members > 1 else "parity.json")  # the run's own parity kept
    write_atomic(record, json.dumps(summary, indent=2) + "\n")
    if not summary["passed"]:
        failed = "; ".join(describe(w, r) for w, r in reports.items() if not r["passed"])
        raise ParityError(f"parity failed, {out} left unchanged: {failed}")
    worst = max(r["max_abs_diff"] for r in reports.values())
    print(f"parity ok: max |diff| {worst:.2e} over {sum(r['rows'] for r in reports.values())} strips of "
          f"{len(reports)} widths, every strip decoded the same; {val_exact['onnx']:.2%} of the {len(texts)} "
          f"validation rows read exactly; sure from {threshold:.1%}: {sure:.1%} of the rows, read right "
          f"{SURE_TARGET:.1%} of the time", flush=True)

    progress["blob"] = blob
    done = install_checked(blob, out, accuracy, force)
    if done.note:
        print(f"warning: {done.note}; replacing it", file=sys.stderr, flush=True)
    was = f", was {done.previous_accuracy:.2%}" if done.previous_accuracy is not None else ""
    print(f"installed {out} ({len(blob) / 1024:.0f} KB, held-out rows exact {accuracy:.2%}{was})", flush=True)
    summary["installed"] = {"path": str(out), "val_row_accuracy": accuracy,
                            "previous_val_row_accuracy": done.previous_accuracy, "forced": force}
    return summary
