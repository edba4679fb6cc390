"""Weights in half precision: rounded to the nearest float16 value and stored so, cast back to float32 by the graph.

Used by every export that ships weights (`--half`): the digit model, the digit models voting, the number readers.
"""
from __future__ import annotations

import numpy as np


def rounded_to_half(weights: np.ndarray) -> np.ndarray:
    """Float weights rounded to the nearest half-precision value (kept as float32); others as they are."""
    if weights.dtype != np.float32:
        return weights
    return weights.astype(np.float16).astype(np.float32)


def store_half(proto) -> int:
    """Store each float32 initializer of `proto` whose values half precision holds exactly (the rounded weights)
    as float16, cast back to float32 by the graph itself; returns how many. onnxruntime folds the casts when
    it loads the file, so it runs as fast as before; its outputs are exactly the float32 graph's."""
    from onnx import TensorProto, helper, numpy_helper

    graph, casts, kept = proto.graph, [], []
    for init in graph.initializer:
        values = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or values.size < 2 \
                or not np.array_equal(values.astype(np.float16).astype(np.float32), values):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(values.astype(np.float16), f"{init.name}/half"))
        casts.append(helper.make_node("Cast", [f"{init.name}/half"], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}/to_float"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)
