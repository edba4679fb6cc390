"""Two digit models that vote, in one ONNX file: a run's model beside a digit model already exported.

`python -m export --with FILE`: the answer is the geometric mean of the two members' calibrated answers,
with its own "not a digit" prior and temperature fitted on the training's validation sets exactly as a
single model's are (training.train.validation_metrics); `features` is the two members' unit feature
vectors side by side (app.adapt reads them in cosine geometry, so each member weighs the same).

Proven on MNIST's test set three ways: the run's member equals its Keras model (the export's usual parity),
the other member equals the file it came from (exactly, or within half precision's rounding with --half),
and the whole graph equals the vote computed from its members' outputs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from app.preprocess import PREPROCESSING_ID
from export.convert import FEATURES_NAME, OUTPUT_NAME, check

PREFIXES = ("run/", "with/")  # the members' names inside the vote graph
FLOOR = 1e-30                 # log 0 guard, as the single model's serving function has it
EPS = 1e-12                   # unit(): the norm of an all-zero feature vector
HALF_MAX_DIFF = 1e-2          # the file's member rounded to half precision: largest change of a probability
HALF_MAX_FLIPS = 0.0005       # ... and share of MNIST test answers it may change (5 of 10,000)


def metadata(proto: onnx.ModelProto) -> dict:
    return {p.key: p.value for p in proto.metadata_props}


def member(path: Path, opset: int | None = None) -> onnx.ModelProto:
    """The digit model at `path`, checked to be one that can vote (with a model converted at `opset`, if given);
    ValueError naming the file otherwise."""
    try:
        proto = onnx.load(str(path))
    except OSError as e:
        raise ValueError(f"{path}: cannot read the digit model to vote with ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - protobuf raises its own types for a file that is no ONNX model
        raise ValueError(f"{path}: not an ONNX model ({type(e).__name__})") from None
    try:
        check(proto)
    except Exception as e:  # noqa: BLE001 - the checker raises its own types
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ValueError(f"{path}: not a digit model of the app's contract ({reason})") from None
    meta = metadata(proto)
    if "members" in meta:
        raise ValueError(f"{path}: already two digit models voting; --with takes a single model's file")
    if meta.get("preprocessing") != PREPROCESSING_ID:
        raise ValueError(f"{path}: made for preprocessing {meta.get('preprocessing')!r}, not the app's "
                         f"{PREPROCESSING_ID!r}: the two would read different images")
    version = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and version != opset:
        raise ValueError(f"{path}: ONNX opset {version}, the run is converted at {opset}: pass --opset {version}")
    outputs = [o.name for o in proto.graph.output]
    if outputs != [OUTPUT_NAME, FEATURES_NAME] or output_width(proto, OUTPUT_NAME) != 11:
        raise ValueError(f"{path}: a digit model with 11 outputs and `features` is needed to vote with")
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in proto.graph.node
           for a in n.attribute):
        raise ValueError(f"{path}: a graph with subgraphs cannot vote")
    return proto


def output_width(proto: onnx.ModelProto, name: str) -> int:
    (out,) = [o for o in proto.graph.output if o.name == name]
    return out.type.tensor_type.shape.dim[1].dim_value


def half_precision_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose float32 weights are rounded to the nearest half-precision values (still float32)."""
    from export.half import rounded_to_half

    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    for init in copy.graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(rounded_to_half(numpy_helper.to_array(init)), init.name))
    return copy


def half_report(p_file: np.ndarray, p_half: np.ndarray, labels: np.ndarray) -> dict:
    """How rounding the file's member to half precision changed its answers on the same images."""
    flips = int((p_file.argmax(1) != p_half.argmax(1)).sum())
    report = {"max_abs_diff": float(np.abs(p_file.astype(np.float64) - p_half).max()),
              "answers_changed": flips,
              "accuracy_file": float((p_file.argmax(1) == labels).mean()),
              "accuracy_half": float((p_half.argmax(1) == labels).mean())}
    report["passed"] = report["max_abs_diff"] <= HALF_MAX_DIFF and flips <= HALF_MAX_FLIPS * len(labels)
    return report


def prefixed_graph(graph: onnx.GraphProto, prefix: str) -> onnx.GraphProto:
    """A copy with every name but the graph's input prefixed, so members that read that input live in one graph
    (here; export/keep.py for number readers)."""
    keep = {i.name for i in graph.input} | {""}
    name = lambda n: n if n in keep else prefix + n  # noqa: E731
    g = onnx.GraphProto()
    g.CopyFrom(graph)
    for node in g.node:
        node.name = prefix + node.name
        for field in (node.input, node.output):
            renamed = [name(n) for n in field]
            del field[:]
            field.extend(renamed)
    # A value info of the shared input only repeats the input's type, and merged members would repeat it again.
    own = [v for v in g.value_info if v.name not in keep]
    del g.value_info[:]
    g.value_info.extend(own)
    for value in (*g.initializer, *g.output, *g.value_info):
        value.name = name(value.name)
    return g


def vote_graph(first: onnx.ModelProto, second: onnx.ModelProto, reject_bias: float = 0.0,
               temperature: float = 1.0) -> onnx.ModelProto:
    """One model: both members read `image`; probabilities = softmax((mean of log p + b) / T) with b on
    "not a digit"; features = [unit(f_first), unit(f_second)]."""
    opsets = [sorted((o.domain, o.version) for o in m.opset_import) for m in (first, second)]
    if opsets[0] != opsets[1]:
        raise ValueError(f"the two models use different ONNX opsets ({opsets[0]} and {opsets[1]}): export the "
                         "run with the other file's --opset")
    graphs = [prefixed_graph(m.graph, p) for m, p in zip((first, second), PREFIXES)]
    nodes = [n for g in graphs for n in g.node]
    inits = [i for g in graphs for i in g.initializer]
    const = lambda n, v: inits.append(numpy_helper.from_array(np.asarray(v, np.float32), n))  # noqa: E731
    const("vote/floor", FLOOR)
    const("vote/eps", EPS)
    const("vote/half", 0.5)
    const("vote/bias", [0.0] * 10 + [reject_bias])
    const("vote/temperature", temperature)
    inits.append(numpy_helper.from_array(np.asarray([1], np.int64), "vote/axis"))
    op = lambda kind, ins, out, **kw: nodes.append(helper.make_node(kind, ins, [out], name=out, **kw))  # noqa: E731
    for p in PREFIXES:
        op("Max", [p + OUTPUT_NAME, "vote/floor"], p + "floored")
        op("Log", [p + "floored"], p + "log")
        op("Mul", [p + FEATURES_NAME, p + FEATURES_NAME], p + "squares")
        op("ReduceSum", [p + "squares", "vote/axis"], p + "norm2", keepdims=1)
        op("Sqrt", [p + "norm2"], p + "norm")
        op("Max", [p + "norm", "vote/eps"], p + "norm_eps")
        op("Div", [p + FEATURES_NAME, p + "norm_eps"], p + "unit")
    op("Add", [PREFIXES[0] + "log", PREFIXES[1] + "log"], "vote/sum")
    op("Mul", ["vote/sum", "vote/half"], "vote/mean")
    op("Add", ["vote/mean", "vote/bias"], "vote/shifted")
    op("Div", ["vote/shifted", "vote/temperature"], "vote/logits")
    op("Softmax", ["vote/logits"], OUTPUT_NAME, axis=-1)
    op("Concat", [p + "unit" for p in PREFIXES], FEATURES_NAME, axis=1)
    width = sum(output_width(m, FEATURES_NAME) for m in (first, second))
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 11]),
               helper.make_tensor_value_info(FEATURES_NAME, TensorProto.FLOAT, ["batch", width])]
    graph = helper.make_graph(nodes, "digits_vote", [first.graph.input[0]], outputs, inits)
    proto = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="digits-export")
    proto.ir_version = first.ir_version
    proto.doc_string = ("Two handwritten digit classifiers voting: image float32 [batch,28,28,1] in [0,1] -> "
                        "probabilities [batch,11] (10 digits, 'not a digit' last), the geometric mean of the two, "
                        "calibrated; features [batch,F]: both final layers' inputs, each scaled to unit length")
    return proto


def vote(p_first: np.ndarray, p_second: np.ndarray, reject_bias: float = 0.0, temperature: float = 1.0) -> np.ndarray:
    """What vote_graph computes, in numpy: the reference of its parity check."""
    logits = (np.log(np.maximum(p_first.astype(np.float64), FLOOR)) +
              np.log(np.maximum(p_second.astype(np.float64), FLOOR))) / 2
    logits[:, -1] += reject_bias
    logits /= temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


class OnnxModel:
    """An ONNX model behind Keras' `predict` signature, for training.train.validation_metrics."""

    def __init__(self, blob: bytes):
        from export.parity import onnx_probabilities

        self._blob, self._run = blob, onnx_probabilities

    def predict(self, x, batch_size=512, verbose=0):
        return self._run(self._blob, np.asarray(x, np.float32), batch_size)


def validation_splits(config: dict):
    """The validation sets the run was scored on (MNIST's held-out images; the held-out pen writers' digits
    and non-digits), rebuilt from its results' config without rendering its training images."""
    import dataclasses

    from training.config import VAL_SEED, TrainConfig
    from training.data import load_mnist, make_splits
    from training.pen_data import load_pen_sets, pen_dir

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = dataclasses.replace(TrainConfig(), **{k: v for k, v in config.items()
                                                if k in known and k not in ("models", "epochs")})
    splits = make_splits(load_mnist(cfg.data), cfg.quick_val_size if cfg.quick else cfg.val_size, VAL_SEED,
                         train_limit=1)
    source = None if cfg.no_pen else pen_dir(cfg.pen)
    pen = load_pen_sets(source if source is not None and source.is_dir() else None, cfg.seed,
                        letters=cfg.pen_letters, synthetic=cfg.synthetic_rejects,
                        limit=cfg.quick_pen_size if cfg.quick else None, val_seed=VAL_SEED, train=False)
    return dataclasses.replace(splits, pen=pen)


def build(first_blob: bytes, partner: onnx.ModelProto, partner_path: Path, half: bool, x_test: np.ndarray,
          y_test: np.ndarray, config: dict, data: str | None) -> tuple[onnx.ModelProto, dict, dict]:
    """(vote model with its calibration, its validation figures for the metadata, the proofs for parity.json)
    for the run's converted member `first_blob` and the file's member `partner`; ParityError when a proof
    fails."""
    from export.parity import ParityError, compare, log_loss, onnx_probabilities
    from export.half import store_half
    from training.train import validation_metrics

    first = onnx.load_model_from_string(first_blob)
    p_first = onnx_probabilities(first_blob, x_test)
    p_file = onnx_probabilities(partner.SerializeToString(), x_test)
    proofs = {"with": str(partner_path)}
    if half:
        partner = half_precision_copy(partner)
        p_second = onnx_probabilities(partner.SerializeToString(), x_test)
        proofs["with_half"] = half_report(p_file, p_second, y_test)
        if not proofs["with_half"]["passed"]:
            raise ParityError(f"{partner_path} rounded to half precision changes it too much: "
                              f"max |diff| {proofs['with_half']['max_abs_diff']:.2e} (limit {HALF_MAX_DIFF:.0e}), "
                              f"{proofs['with_half']['answers_changed']} MNIST test answers changed")
    else:
        p_second = p_file
    print("fitting the vote's \"not a digit\" prior and temperature on the validation sets ...", flush=True)
    stats = validation_metrics(OnnxModel(vote_graph(first, partner).SerializeToString()),
                               validation_splits(config if data is None else {**config, "data": data}))
    proto = vote_graph(first, partner, stats["reject_bias"], stats["temperature"])
    if half:
        store_half(proto)
    p_vote = onnx_probabilities(proto.SerializeToString(), x_test)
    report = compare(vote(p_first, p_second, stats["reject_bias"], stats["temperature"]).astype(np.float32),
                     p_vote, y_test)
    proofs["vote"] = {**report.as_dict(), "test_loss": log_loss(p_vote, y_test)}
    if not report.passed:
        raise ParityError(f"the vote graph does not compute the vote of its members: {report.describe()}")
    print(f"vote ok: {report.describe()}", flush=True)
    return proto, stats, proofs
