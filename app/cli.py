"""Command line: the GUI (default), `predict FILE...`, and `--self-test`.

Exit status: 0 success; 1 a file could not be read, the model is unusable, or
the self-test failed; 2 bad usage; 130 interrupted (Ctrl+C). Problems are
reported as one line on stderr; a bad file never stops the files after it.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from app import recognize, samples
from app.paths import default_model_path
from app.predictor import ModelError, Predictor
from app.image_files import BadImage, load_image
from app.preprocess import PREPROCESSING_ID
from app.printable import printable

SELF_TEST_PASS = 0.9  # a strong MNIST model reads all of them; an untrained one about a tenth


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="Handwritten digit recognizer. With no command, opens the drawing window.",
    )
    model_help = "ONNX model to use (default: %(default)s)"
    parser.add_argument("--model", type=Path, default=default_model_path(), help=model_help)
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="classify built-in rendered digits, print one line, exit 0 if enough are right",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    predict = commands.add_parser(
        "predict",
        help="read digits in image files, one line per file",
        description="Read the digit (or number) in each image file, one line per file.",
    )
    predict.add_argument("files", nargs="+", metavar="FILE", help="PNG, JPEG, ... image of a digit")
    predict.add_argument("--json", action="store_true", help="print JSON with all ten probabilities")
    predict.add_argument(
        "--single", action="store_true", help="treat each image as one digit (do not split numbers)"
    )
    predict.add_argument("--model", type=Path, default=argparse.SUPPRESS, help="ONNX model to use")
    return parser


def main(argv=None):
    _tolerant_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test and args.command:
        parser.error("--self-test takes no command")
    try:
        if args.self_test:
            return self_test(args.model)
        if args.command == "predict":
            return predict(args.model, args.files, as_json=args.json, single=args.single)
        from app import gui  # Tk only when a window is wanted

        return gui.run(load_predictor(args.model))
    except BrokenPipeError:  # `... | head`: the reader has gone, nothing left to say
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if getattr(sys, "frozen", False) and not (args.self_test or args.command):
            from app import gui  # a windowed executable has no visible stderr

            gui.show_error(str(exc))
        return 1


def _tolerant_output():
    """Never crash on printing: characters the terminal's encoding lacks come out as escapes."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # detached or closed stream: nothing to adjust
                pass


def load_predictor(path):
    """Predictor for `path`, warning on stderr if it expects other preprocessing."""
    predictor = Predictor(path)
    if predictor.preprocessing not in (None, PREPROCESSING_ID):
        print(
            f"warning: model {path} was made for preprocessing '{predictor.preprocessing}', "
            f"this app does '{PREPROCESSING_ID}'",
            file=sys.stderr,
        )
    return predictor


def predict(model_path, files, as_json=False, single=False):
    """One line (or JSON object) per file, in order; exit status 1 if any file failed."""
    predictor = load_predictor(model_path)
    failed = False
    if as_json:  # a JSON list, one file per line, written as each file is read
        print("[", flush=True)
    try:
        for index, name in enumerate(files):
            record, line = _predict_one(predictor, name, single)
            failed |= line is None
            if as_json:
                separator = ",\n" if index else ""
                print(separator + json.dumps(record, allow_nan=False), end="", flush=True)
            elif line is not None:
                print(line, flush=True)
    finally:  # even when interrupted, what was printed stays a valid JSON list
        if as_json:
            print(("\n" if files else "") + "]", flush=True)
    return 1 if failed else 0


def _predict_one(predictor, name, single):
    """(JSON object, text line) for one file; a failure is printed to stderr and its line is None."""
    try:
        reading = recognize.read(predictor, load_image(name), single=single)
    except (BadImage, ModelError) as exc:
        shown = printable(name, limit=None)  # load_image names the file; read's refusals do not
        message = str(exc) if str(exc).startswith(f"{shown}: ") else f"{shown}: {exc}"
        print(f"error: {message}", file=sys.stderr, flush=True)
        return {"file": name, "error": message}, None
    return _as_json(name, reading), f"{printable(name, limit=None)}: {reading.summary()}"


def _as_json(name, reading):
    return {"file": name, **reading.as_json()}


def self_test(model_path):
    started = time.perf_counter()
    predictor = load_predictor(model_path)
    cases = samples.all_samples()
    correct = 0
    for digit, image in cases:
        reading = recognize.read(predictor, image, single=True)
        correct += reading.number == str(digit)
    needed = math.ceil(len(cases) * SELF_TEST_PASS - 1e-9)
    ok = correct >= needed
    seconds = time.perf_counter() - started
    verdict = "ok" if ok else f"FAILED (need {needed})"
    print(
        f"self-test: {verdict}, {correct}/{len(cases)} samples correct, "
        f"model {predictor.describe()} in {seconds:.2f} s",
        flush=True,
    )
    return 0 if ok else 1
