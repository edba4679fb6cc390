"""`python -m export`: a run's chosen Keras model -> ONNX, proven equal on the MNIST test set, installed atomically.

`python -m export --sequence`: the number reader of `python -m training.sequence` instead (export/sequence.py),
proven equal on the run's validation strips and strips of other widths, installed as app/models/numbers.onnx.

`python -m export --trajectory`: the stroke reader of `python -m training.trajectory` (export/trajectory.py), only
beside the digit model it was calibrated with, proven equal alone and fused on the run's validation digits,
installed as app/models/trajectory.onnx; `--trajectory --recalibrate` calibrates the installed one again for a
new digit model beside it, without a run.

`python -m export --sequence --keep MEMBER`: members of the installed readers file kept beside the new run
(export/keep.py).

`python -m export --with FILE`: the run's model and the digit model in FILE voting in one file (export/vote.py).

Exit status: 0 installed; 2 bad input (no such run, unknown model, bad data, bad results.json); 3 parity failed;
4 not installed because the installed model is more accurate (on MNIST's test set, or on validation), or
(--trajectory) the stroke reader would make the window read worse than the digit model alone (--force
overrides); 1 the file could not be written; 130 interrupted (the message says whether the new model was
already in place).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from training.data import DataError
from training.runs import describe_os_error

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "app" / "models" / "digits.onnx"
DEFAULT_RUN = "runs/latest"


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a training run's model to ONNX (input `image`, output `probabilities`), embed "
                    "its metadata, prove parity with Keras on the full MNIST test set (max |diff| <= 1e-5, "
                    "same class on every image) and only then replace the installed model.")
    p.add_argument("--sequence", action="store_true",
                   help="export the number reader (python -m training.sequence: input `strip`, output `frames`) "
                        "instead, proven equal on strips of several widths")
    p.add_argument("--trajectory", action="store_true",
                   help="export the stroke reader (python -m training.trajectory: input `trajectory`, output "
                        "`probabilities`) instead, beside the digit model it was calibrated with (digits.onnx "
                        "beside --out), proven equal alone and fused with the digit model's answers")
    p.add_argument("--run", help="training run directory (default runs/latest; runs/sequence/latest with --sequence, "
                                "runs/trajectory/latest with --trajectory)")
    p.add_argument("--half", action="store_true",
                   help="ship the weights rounded to half precision (the file about halves, so more models fit "
                        "the executable); parity is proven against the Keras models with the same weights, and "
                        "every figure is the rounded model's (with --with: the file's model is proven within "
                        "rounding of itself)")
    p.add_argument("--with", dest="with_model", type=Path, metavar="FILE",
                   help="a digit model already exported (e.g. the installed app/models/digits.onnx) to vote with: "
                        "one file holds both, answering with the geometric mean of their answers, calibrated on "
                        "the run's validation sets; proven equal to its members and their vote")
    p.add_argument("--recalibrate", action="store_true",
                   help="with --trajectory: no run, no training: calibrate the stroke reader installed at --out again "
                        "for the digit model now beside it (after a new digit model was installed), on the held-out "
                        "writers as training does, and rewrite only its calibration")
    p.add_argument("--pen", help="with --trajectory --recalibrate: the UNIPEN directory (default $PEN_DIR, then "
                                 "../shared/data/unipen)")
    p.add_argument("--also", action="append", default=[], metavar="RUN",
                   help="with --sequence: another number reader run (trained apart) to ship in the same file; "
                        "the readers vote on each text, --run's leads and its held-out rows judge them (repeatable)")
    p.add_argument("--keep", action="append", default=[], metavar="MEMBER",
                   help="with --sequence: a reader of the readers file at --out to ship again beside the new run(s), "
                        "named by its run as the file's metadata member_runs lists it; it is cut out of the file as "
                        "it is (its own run need not be here) and proven to read as it did (repeatable)")
    p.add_argument("--model", help="model of the run to export (default: the run's chosen model)")
    p.add_argument("--out", type=Path, help="where to install the ONNX model "
                   "(default app/models/digits.onnx; app/models/numbers.onnx with --sequence, "
                   "app/models/trajectory.onnx with --trajectory)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default %(default)s; tf2onnx supports up to 18)")
    p.add_argument("--data", help="MNIST for the parity check (default: $MNIST_DIR, else ../shared/data/mnist, else the Keras download)")
    p.add_argument("--quantize", action="store_true",
                   help="also quantize to int8 (static, calibrated on training images) and install that instead "
                        "if test accuracy drops by at most 0.1 point (else the float model, with a warning)")
    p.add_argument("--force", action="store_true",
                   help="install even if the model already at --out is more accurate on the MNIST test set "
                        "or scores higher on validation "
                        "(with --sequence: reads more held-out rows exactly; with --trajectory: its fused answers "
                        "score higher, or the new ones score below the digit model alone)")
    a = p.parse_args(argv)
    if a.sequence and (a.model or a.data or a.quantize):
        p.error("--model, --data and --quantize do not apply to --sequence")
    if (a.also or a.keep) and not a.sequence:
        p.error("--also and --keep apply to --sequence only")
    if (a.recalibrate or a.pen) and not a.trajectory:
        p.error("--recalibrate and --pen apply to --trajectory only")
    if a.recalibrate and a.run:
        p.error("--recalibrate calibrates the installed stroke reader (--out), not a run")
    if a.half and a.trajectory:
        p.error("--half does not apply to --trajectory")
    if a.with_model and (a.sequence or a.trajectory or a.quantize):
        p.error("--with applies to the digit model only, without --quantize")
    if a.trajectory and a.sequence:
        p.error("--sequence and --trajectory are two different exports; name one")
    if a.half and a.quantize:
        p.error("--half and --quantize are two ways to shrink the model; name one")
    if a.trajectory and (a.model or a.data or a.quantize):
        p.error("--model, --data and --quantize do not apply to --trajectory")
    if not 13 <= a.opset <= 18:
        p.error("--opset must be between 13 and 18")
    if a.sequence:
        from export.sequence import DEFAULT_OUT as SEQUENCE_OUT, DEFAULT_RUN as SEQUENCE_RUN
        a.run, a.out = a.run or SEQUENCE_RUN, a.out or SEQUENCE_OUT
    elif a.trajectory:
        from export.trajectory import DEFAULT_OUT as TRAJECTORY_OUT, DEFAULT_RUN as TRAJECTORY_RUN
        a.run, a.out = a.run or TRAJECTORY_RUN, a.out or TRAJECTORY_OUT
    else:
        a.run, a.out = a.run or DEFAULT_RUN, a.out or DEFAULT_OUT
    return a


def export(run: str, model_name: str | None, out: Path, opset: int, data: str | None, quantize: bool,
           force: bool = False, progress: dict | None = None, half: bool = False,
           with_model: Path | None = None) -> dict:
    """The whole export; returns the parity summary. Raises on any failure before touching `out`.
    `half`: weights rounded to half precision; `with_model`: a digit model file to vote with (export/vote.py).

    `progress["blob"]` holds the model about to be installed, so that an interrupt can tell whether it is in place.
    """
    from export.source import find_source

    progress = {} if progress is None else progress
    source = find_source(run, model_name)  # before TensorFlow: a bad run costs no import and no log lines
    if out.is_dir():
        raise IsADirectoryError(f"{out}: is a directory; --out must name the model file")
    run_dir, results, name = source.run_dir, source.results, source.name
    if with_model is not None:
        from export.vote import member
        partner = member(with_model, opset)  # read now: it may be the very file `out` replaces

    from training.quiet_tf import import_tensorflow
    import_tensorflow()  # without its start-up log lines
    import keras
    import tf2onnx

    from app.preprocess import PREPROCESSING_ID
    from export.convert import check, keras_to_onnx, labels_for, set_metadata
    from export.install import install
    from export.parity import ParityError, compare, keras_probabilities, log_loss, onnx_probabilities
    from training.data import load_mnist, to_model_input
    from training.runs import write_atomic

    print(f"exporting {name} from {run_dir}", flush=True)
    try:
        model = keras.models.load_model(source.keras_path)
    except Exception as e:  # noqa: BLE001 - Keras reports a corrupt file as "File not found" or worse
        lines = str(e).strip().splitlines()
        raise ValueError(f"{source.keras_path}: cannot load the Keras model (damaged or not a .keras file: "
                         f"{type(e).__name__}{': ' + lines[0][:200] if lines else ''})") from None

    if half:  # from here on the model is what ships: every figure below is the rounded one's
        from export.half import rounded_to_half
        model.set_weights([rounded_to_half(w) for w in model.get_weights()])
    started = time.perf_counter()
    stats = source.stats
    temperature, bias = float(stats.get("temperature", 1.0)), float(stats.get("reject_bias", 0.0))
    proto = keras_to_onnx(model, opset, temperature, bias)
    print(f"converted to ONNX opset {opset} in {time.perf_counter() - started:.1f}s", flush=True)

    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test), mnist.y_test.astype("int64")
    p_keras = keras_probabilities(model, x_test, temperature, bias)
    card = {
        "model_name": name,
        "test_accuracy": round(float((p_keras.argmax(1) == y_test).mean()), 6),
        "test_loss": round(log_loss(p_keras, y_test), 6),
        "val_accuracy": round(results["models"][name]["val_accuracy"], 6),
        "trained_at": results["finished_at"],
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_id": results["run_id"],
        "labels": labels_for(p_keras.shape[1]),
        **model_card(results, stats),
        "preprocessing": PREPROCESSING_ID,
        "keras_version": keras.__version__,
        "tf2onnx_version": tf2onnx.__version__,
        **({"weights": "float16"} if half else {}),
    }
    set_metadata(proto, card)
    check(proto)
    blob = proto.SerializeToString()

    print(f"parity check on {len(y_test)} test images ...", flush=True)
    report = compare(p_keras, onnx_probabilities(blob, x_test), y_test)
    summary = {"model": name, "half": half, "onnx_bytes": len(blob), "opset": opset, **report.as_dict()}
    write_atomic(run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")
    if not report.passed:
        raise ParityError(f"parity failed, {out} left unchanged: {report.describe()}")
    print(f"parity ok: {report.describe()}", flush=True)
    if with_model is not None:
        proto, summary["vote"] = vote_of(blob, partner, with_model, card, results, half, x_test, y_test, data)
        blob = proto.SerializeToString()
        summary["onnx_bytes"] = len(blob)
        write_atomic(run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")
    elif half:
        from export.half import store_half
        store_half(proto)
        blob = proto.SerializeToString()
        summary["onnx_bytes"] = len(blob)

    if quantize:
        from export.quantize import QuantizationRefused, quantize_checked
        try:
            blob, summary["quantized"] = quantize_checked(blob, mnist, report.onnx_accuracy)
        except QuantizationRefused as e:  # the float model passed parity: it is still worth installing
            print(f"warning: {e}; installing the float model instead", file=sys.stderr, flush=True)
            summary["quantized"] = {"refused": str(e)}
        write_atomic(run_dir / "parity.json", json.dumps(summary, indent=2) + "\n")

    progress["blob"] = blob
    done = install(blob, out, x_test, y_test, force=force)
    if done.note:
        print(f"warning: {done.note}; replacing it", file=sys.stderr, flush=True)
    was = f", was {done.previous_accuracy:.2%}" if done.previous_accuracy is not None else ""
    print(f"installed {out} ({len(blob) / 1024:.0f} KB, test accuracy {done.candidate_accuracy:.2%}{was})", flush=True)
    from app.trajectory import TRAJECTORY_FILE
    if (out.parent / TRAJECTORY_FILE).is_file():
        # The stroke reader's fusion was calibrated with the digit model it replaced.
        print(f"warning: {out.parent / TRAJECTORY_FILE} belongs to the digit model this one replaced: the window "
              "reads without it until `python -m export --trajectory --recalibrate` pairs it with this one "
              "(seconds; or train one for it: `python -m training.trajectory`)", file=sys.stderr, flush=True)
    summary["installed"] = {"path": str(out), "test_accuracy": done.candidate_accuracy,
                            "previous_test_accuracy": done.previous_accuracy, "forced": force}
    return summary


def vote_of(blob, partner, partner_path, card, results, half, x_test, y_test, data):
    """(the vote model with its metadata, the proofs) of the run's converted model `blob` and `partner`."""
    from export.convert import check, set_metadata
    from export.vote import build, metadata

    proto, stats, proofs = build(blob, partner, partner_path, half, x_test, y_test, results.get("config", {}), data)
    other = metadata(partner)
    p = proofs["vote"]
    set_metadata(proto, {
        **card,
        **model_card(results, stats),
        "model_name": f"{card['model_name']} + {other.get('model_name', partner_path.stem)}",
        "test_accuracy": round(p["onnx_accuracy"], 6),
        "test_loss": round(p["test_loss"], 6),
        "val_accuracy": round(stats["val_accuracy"], 6),
        "members": [{"model_name": card["model_name"], "run_id": card["run_id"], "test_accuracy": card["test_accuracy"]},
                    {"model_name": other.get("model_name"), "run_id": other.get("run_id"),
                     "test_accuracy": float(other["test_accuracy"]) if "test_accuracy" in other else None}],
    })
    check(proto)
    return proto, proofs


def _installed(out: Path | None, blob: bytes | None) -> bool:
    """Whether `out` now holds exactly `blob` (asked after an interrupt: the rename may just have happened)."""
    try:
        return out is not None and blob is not None and out.read_bytes() == blob
    except OSError:
        return False


def model_card(results: dict, stats: dict) -> dict:
    """What the app's About box and status line show: validation figures, calibration, training data."""
    card = {key: round(float(stats[key]), 6) for key in
            ("mnist_val_accuracy", "pen_val_accuracy", "reject_val_accuracy", "reject_bias", "temperature",
             "sure_threshold",
             "ece_after") if stats.get(key) is not None and stats[key] == stats[key]}
    if results.get("data", {}).get("trained_on"):
        card["trained_on"] = results["data"]["trained_on"]
    return card


def main(argv=None) -> int:
    progress: dict = {}
    try:
        args = parse_args(argv)
        from export.install import WorseModel
        from export.parity import ParityError
        try:
            if args.sequence:
                from export.sequence import export_sequence
                export_sequence(args.run, args.out, args.opset, args.force, progress, tuple(args.also), args.half,
                                tuple(args.keep))
            elif args.trajectory and args.recalibrate:
                from export.trajectory import recalibrate_installed
                recalibrate_installed(args.out, args.force, args.pen, progress)
            elif args.trajectory:
                from export.trajectory import export_trajectory
                export_trajectory(args.run, args.out, args.opset, args.force, progress)
            else:
                export(args.run, args.model, args.out, args.opset, args.data, args.quantize, args.force, progress,
                       args.half, args.with_model)
        except ParityError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        except WorseModel as e:
            print(f"error: {e}", file=sys.stderr)
            return 4
        except (DataError, FileNotFoundError, IsADirectoryError, ValueError) as e:
            print(f"error: {describe_os_error(e) if isinstance(e, OSError) else e}", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"error: {describe_os_error(e)}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        if _installed(args.out if "blob" in progress else None, progress.get("blob")):
            print(f"\ninterrupted: the new model was already installed at {args.out}", file=sys.stderr)
        else:
            print("\ninterrupted: the installed model is unchanged", file=sys.stderr)
        return 130
    return 0
