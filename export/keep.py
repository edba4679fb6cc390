"""Readers kept from a number-reader file already exported: `python -m export --sequence --keep NAME`.

A file of readers that vote holds each member's whole graph, so a new run can take one member's place without
the Keras runs of the others (those runs need not be on this machine). Each kept member is cut out of the file
(input `strip` to its softmax, the input of the file's final stack) and placed beside the newly converted
readers; the export proves the kept members' frames equal to the file's own (export/sequence.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.strip import INPUT_NAME, OUTPUT_NAME

MEMBERS_AXIS = 2  # frames [batch, width/STRIDE, members, CLASSES]


@dataclass(frozen=True)
class Kept:
    """Members `indices` of the readers file `path` (its bytes `blob`, `members` in all), by run name `names`;
    `graphs`: each alone (member_graph), its names prefixed kept0/, kept1/, ... so that they can be merged."""
    path: Path
    blob: bytes
    members: int
    indices: tuple
    names: tuple
    graphs: tuple

    @property
    def params(self) -> int:
        """Their weights: the elements of their floating-point initializers of two or more values."""
        from onnx import TensorProto, numpy_helper

        sizes = [numpy_helper.to_array(i).size for g in self.graphs for i in g.graph.initializer
                 if i.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16)]
        return sum(n for n in sizes if n > 1)


def members_of(proto) -> list[str]:
    """The tensor names of each member's frames in a readers file: the inputs of the Unsqueezes its output's
    Concat stacks; ValueError if the graph does not end so (one reader alone, or not exported by this project)."""
    producer = {name: node for node in proto.graph.node for name in node.output}
    stack = producer.get(OUTPUT_NAME)
    if stack is None or stack.op_type != "Concat":
        raise ValueError(f"its output '{OUTPUT_NAME}' is not a stack of readers (one reader alone keeps none)")
    names = []
    for name in stack.input:
        node = producer.get(name)
        if node is None or node.op_type != "Unsqueeze":
            raise ValueError(f"its output '{OUTPUT_NAME}' stacks something other than readers' frames")
        names.append(node.input[0])
    return names


def load_kept(path: Path, keep: tuple) -> Kept:
    """The members of the readers file at `path` named in `keep` (run names from its metadata `member_runs`), in
    that order; FileNotFoundError or ValueError naming the file and what is wrong."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (--keep takes members of the installed readers file)")
    try:
        blob = path.read_bytes()
        proto = onnx.load_from_string(blob)
    except Exception as e:  # noqa: BLE001 - onnx raises DecodeError and others for a corrupt file
        raise ValueError(f"{path}: cannot read the readers to keep ({type(e).__name__})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    try:
        runs = [str(r) for r in json.loads(meta["member_runs"])]
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{path}: holds no member_runs in its metadata (not readers that vote)") from None
    try:
        frames = members_of(proto)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if len(frames) != len(runs):
        raise ValueError(f"{path}: its metadata names {len(runs)} member runs, its graph stacks {len(frames)}")
    missing = [name for name in keep if name not in runs]
    if missing:
        raise ValueError(f"{path}: holds no member {', '.join(missing)} (its members: {', '.join(runs)})")
    if len(set(keep)) != len(keep):
        raise ValueError("a member is named twice in --keep")
    indices = tuple(runs.index(name) for name in keep)
    graphs = tuple(member_graph(proto, frames[i], f"kept{n}/") for n, i in enumerate(indices))
    return Kept(path, blob, len(runs), indices, tuple(keep), graphs)


def member_graph(proto, frames_name: str, prefix: str):
    """Member `frames_name` of `proto` alone (input `strip` -> that tensor), every other name prefixed."""
    from onnx import TensorProto, helper, utils

    proto = type(proto).FromString(proto.SerializeToString())
    # The extractor looks the output up among the value infos; tf2onnx leaves the softmax's unnamed.
    if frames_name not in {v.name for v in proto.graph.value_info}:
        proto.graph.value_info.append(helper.make_tensor_value_info(frames_name, TensorProto.FLOAT, None))
    return prefixed(utils.Extractor(proto).extract_model([INPUT_NAME], [frames_name]), prefix)


def prefixed(model, prefix: str):
    """A copy of `model` with every name but its input prefixed (export.vote.prefixed_graph), to be merged."""
    from export.vote import prefixed_graph

    copy = type(model)()
    copy.CopyFrom(model)
    copy.graph.CopyFrom(prefixed_graph(model.graph, prefix))
    return copy


def combined(new, kept: Kept, members: int, frames_dims: tuple):
    """One graph: the readers of `new` (a converted file of `members` readers) then the kept ones, their frames
    stacked on MEMBERS_AXIS as OUTPUT_NAME (dims `frames_dims`); metadata and doc are the caller's to set."""
    from onnx import TensorProto, helper, numpy_helper

    parts = [prefixed(new, "new/"), *kept.graphs]
    graph = helper.make_graph([], new.graph.name, [new.graph.input[0]], [], [])
    stacked = []
    axes = numpy_helper.from_array(np.array([MEMBERS_AXIS], np.int64), "stack/axes")
    graph.initializer.append(axes)
    for k, part in enumerate(parts):
        graph.node.extend(part.graph.node)
        graph.initializer.extend(part.graph.initializer)
        graph.value_info.extend(part.graph.value_info)
        (out,) = part.graph.output
        if k == 0 and members > 1:  # already [batch, frames, members, classes]
            stacked.append(out.name)
            continue
        graph.node.append(helper.make_node("Unsqueeze", [out.name, axes.name], [f"stack/{k}"], name=f"stack/unsqueeze{k}"))
        stacked.append(f"stack/{k}")
    graph.node.append(helper.make_node("Concat", stacked, [OUTPUT_NAME], axis=MEMBERS_AXIS, name="stack/concat"))
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, list(frames_dims)))
    opsets = {}
    for model in parts:
        for o in model.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                              producer_name=new.producer_name)
    proto.ir_version = max(model.ir_version for model in parts)
    return proto
