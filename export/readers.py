"""What the side readers' exports share (export/sequence.py: the number reader, export/trajectory.py: the stroke
reader): their run, their Keras model, a one-input one-output graph converted and checked against its contract,
onnxruntime on it, their common metadata and the guarded install. The digit model's export has its own
(export/convert.py, export/install.py): two outputs, calibrated, judged on MNIST.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from export.source import read_results
from training.runs import resolve_run


@dataclass(frozen=True)
class Contract:
    """A reader's ONNX I/O: one input and one output, by name and dims; a str dim is free (named so), an int fixed."""
    input_name: str
    input_dims: tuple
    output_name: str
    output_dims: tuple


@dataclass(frozen=True)
class ReaderRun:
    run_dir: Path
    results: dict
    val_name: str  # the validation file beside model.keras

    @property
    def keras_path(self) -> Path:
        return self.run_dir / "model.keras"

    @property
    def val_path(self) -> Path:
        return self.run_dir / self.val_name


def first_line(e: Exception, limit: int) -> str:
    """The first line of an error's message (cut to `limit`), or its type's name when it has none."""
    lines = str(e).strip().splitlines()
    return lines[0][:limit] if lines else type(e).__name__


def find_run(run: str, trainer: str, check_results: Callable[[Path, object], dict], val_name: str) -> ReaderRun:
    """The complete run at `run` made by `python -m {trainer}`, its results.json passed by `check_results` (which
    raises ValueError); FileNotFoundError or ValueError naming the file that is wrong."""
    try:
        run_dir = resolve_run(run)
    except FileNotFoundError as e:  # resolve_run's advice names the digit training
        raise FileNotFoundError(str(e).replace("`python -m training`", f"`python -m {trainer}`")) from None
    path = run_dir / "results.json"
    found = ReaderRun(run_dir, check_results(path, read_results(path)), val_name)
    for needed in (found.keras_path, found.val_path):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed}: no such file (the run is incomplete)")
    return found


def check_out(out: Path) -> None:
    if out.is_dir():
        raise IsADirectoryError(f"{out}: is a directory; --out must name the model file")


def load_keras(path: Path):
    """The Keras model at `path` (TensorFlow already imported); ValueError in one line naming the file."""
    import keras

    try:
        return keras.models.load_model(path)
    except Exception as e:  # noqa: BLE001 - Keras reports a corrupt file as "File not found" or worse
        lines = str(e).strip().splitlines()
        raise ValueError(f"{path}: cannot load the Keras model ({type(e).__name__}"
                         f"{': ' + lines[0][:200] if lines else ''})") from None


def keras_run(serve, x: np.ndarray, output_name: str, batch_size: int) -> np.ndarray:
    """The Keras side of parity: the serving function the ONNX graph was converted from, in batches."""
    return np.concatenate([serve(x[i:i + batch_size])[output_name].numpy() for i in range(0, len(x), batch_size)])


def to_onnx(serve, spec, opset: int, contract: Contract, doc: str):
    """Convert with tf2onnx (from_function: from_keras breaks on Keras 3) and name the free dimensions."""
    import tf2onnx

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    graph = proto.graph
    if [i.name for i in graph.input] != [contract.input_name] or \
            [o.name for o in graph.output] != [contract.output_name]:
        raise ValueError(f"unexpected converted I/O: inputs {[i.name for i in graph.input]}, "
                         f"outputs {[o.name for o in graph.output]}")
    for value, dims in ((graph.input[0], contract.input_dims), (graph.output[0], contract.output_dims)):
        for axis, dim in enumerate(dims):
            if isinstance(dim, str):
                value.type.tensor_type.shape.dim[axis].dim_param = dim
    proto.producer_name = "digits-export"
    proto.doc_string = doc
    return proto


def set_reader_metadata(proto, model, run_dir: Path, trained_on: str, fields: dict, params: int | None = None) -> None:
    """The file's metadata: model_name, `fields`, then what every reader records (size: `params`, default the
    model's; data, run, versions)."""
    import keras
    import tf2onnx

    from export.convert import set_metadata

    set_metadata(proto, {
        "model_name": model.name,
        **fields,
        "params": int(model.count_params() if params is None else params),
        "trained_on": trained_on,
        "run_id": run_dir.name,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "keras_version": keras.__version__,
        "tf2onnx_version": tf2onnx.__version__,
    })


def check_contract(proto, contract: Contract) -> None:
    """onnx.checker plus the contract's I/O names and shapes; raises ValueError."""
    import onnx

    onnx.checker.check_model(proto, full_check=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    (inp,), (out,) = proto.graph.input, proto.graph.output
    if (inp.name, dims(inp), out.name, dims(out)) != \
            (contract.input_name, list(contract.input_dims), contract.output_name, list(contract.output_dims)):
        raise ValueError(f"model breaks the I/O contract: {inp.name}{dims(inp)} -> {out.name}{dims(out)}")


def onnx_run(blob: bytes, x: np.ndarray, contract: Contract, what: str, batch_size: int) -> np.ndarray:
    """onnxruntime's output, as the app will run it; a model that cannot run on `what` (`x`) raises ParityError."""
    import onnxruntime as ort

    from export.parity import ParityError

    try:
        session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
        return np.concatenate([session.run([contract.output_name], {contract.input_name: x[i:i + batch_size]})[0]
                               for i in range(0, len(x), batch_size)])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for shape and graph errors
        raise ParityError(f"onnxruntime cannot run the model on {what}: {first_line(e, 300)}") from None


def installed_metadata(out: Path) -> tuple[dict | None, str]:
    """(the metadata of the model at `out`, "") or (None, why it cannot be read): such a file is replaced."""
    import onnx

    try:
        return {p.key: p.value for p in onnx.load(str(out)).metadata_props}, ""
    except Exception as e:  # noqa: BLE001 - an unreadable installed file is one to replace, not a crash
        return None, f"the installed {out} cannot be read ({first_line(e, 200)})"


def guard_installed(out: Path, score: float, force: bool, installed: Callable[[Path], tuple[float | None, str]],
                    not_a_reader: str, worse: Callable[[float], str]) -> tuple[float | None, str]:
    """`installed(out)` when `out` exists: (the installed reader's score or None, why it does not count). Unless
    `force`, WorseModel when it is a readable model but no such reader (its note ends with `not_a_reader`:
    digits.onnx named by mistake), or a reader scoring above `score` (the message is `worse(its score)`)."""
    from export.install import WorseModel

    previous, note = installed(out) if out.exists() else (None, "")
    if not force and note.endswith(not_a_reader):
        raise WorseModel(f"not installed: {out} {not_a_reader}; it is unchanged (--force replaces it)")
    if not force and previous is not None and score < previous:
        raise WorseModel(worse(previous))
    return previous, note


def install_guarded(blob: bytes, out: Path, score: float, refusal: Callable[[Path], tuple[float | None, str]]):
    """Write `blob` to `out` atomically unless `refusal(out)` raises (WorseModel); it returns the installed
    score or None and the note that goes with it."""
    from export.install import Installed
    from training.runs import write_atomic

    out = Path(out)
    check_out(out)
    previous, note = refusal(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, blob)
    return Installed(out, score, previous, note)
