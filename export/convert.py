"""Keras model -> ONNX ModelProto that meets the app's contract (input `image`, output `probabilities`).

tf2onnx's `from_keras` breaks on Keras 3 models, so the model is wrapped in a tf.function with a named
input signature and converted with `from_function` (see DESIGN.md).
"""
from __future__ import annotations

import json

import onnx

from app.predictor import NOT_A_DIGIT  # the 11th label, as the app spells it

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
FEATURES_NAME = "features"  # second output: what the last layer reads, for per-user adaptation in the app
BATCH_DIM = "batch"


def labels_for(classes: int) -> list[str]:
    """The contract's labels for a K-way model: the digits, then "not a digit" when K == 11."""
    if classes not in (10, 11):
        raise ValueError(f"the model has {classes} outputs; the contract allows 10 or 11")
    return [str(d) for d in range(10)] + [NOT_A_DIGIT] * (classes - 10)


def serving_function(model, temperature: float = 1.0, reject_bias: float = 0.0):
    """The one function both Keras parity and the ONNX graph compute: image -> {probabilities, features}.

    Calibrated as fitted on validation (training.calibrate): probabilities = softmax((log p + b) / T)
    with b = reject_bias on "not a digit" and 0 on the digits. `features` is the input of the
    final layer (the softmax "probabilities" in every builder of training.models; any model's last layer).
    """
    import keras
    import tensorflow as tf

    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name=INPUT_NAME),)
    both = keras.Model(model.inputs, [model.outputs[0], model.layers[-1].input])

    @tf.function(input_signature=spec)
    def serve(image):
        # training=False: BatchNorm uses its moving statistics and Dropout is off.
        probabilities, features = both(image, training=False)
        if temperature != 1.0 or reject_bias != 0.0:
            classes = probabilities.shape[-1]
            bias = tf.constant([0.0] * 10 + [reject_bias] * (classes - 10), tf.float32)
            logits = tf.math.log(tf.maximum(probabilities, 1e-30)) + bias
            probabilities = tf.nn.softmax(logits / temperature)
        return {OUTPUT_NAME: probabilities, FEATURES_NAME: features}

    return serve, spec


def keras_to_onnx(model, opset: int = 17, temperature: float = 1.0, reject_bias: float = 0.0) -> onnx.ModelProto:
    """Convert with tf2onnx, name the I/O and the batch dimension per the contract; inference mode only."""
    import tf2onnx

    serve, spec = serving_function(model, temperature, reject_bias)
    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    graph = proto.graph
    if [i.name for i in graph.input] != [INPUT_NAME] or \
            sorted(o.name for o in graph.output) != sorted([OUTPUT_NAME, FEATURES_NAME]):
        raise ValueError(f"unexpected converted I/O: inputs {[i.name for i in graph.input]}, "
                         f"outputs {[o.name for o in graph.output]}")
    # The contract puts `probabilities` first; tf2onnx orders a dict's outputs by key.
    outputs = sorted(graph.output, key=lambda o: o.name != OUTPUT_NAME)
    outputs = [type(o).FromString(o.SerializeToString()) for o in outputs]
    del graph.output[:]
    graph.output.extend(outputs)
    for value in (graph.input[0], *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM
    proto.producer_name = "digits-export"
    proto.doc_string = ("Handwritten digit classifier: image float32 [batch,28,28,1] in [0,1] -> probabilities "
                        "[batch,K], K = len(labels) in the metadata (10 digits, 11 with 'not a digit' last); "
                        "features [batch,F]: the final layer's input")
    return proto


def set_metadata(proto: onnx.ModelProto, metadata: dict[str, object]) -> None:
    """Replace metadata_props with `metadata`; non-string values are stored as JSON."""
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)


def check(proto: onnx.ModelProto) -> None:
    """onnx.checker plus the contract's I/O shapes; raises ValueError."""
    onnx.checker.check_model(proto, full_check=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    (inp,), (out, *extra) = proto.graph.input, proto.graph.output
    labels = {p.key: p.value for p in proto.metadata_props}.get("labels")
    classes = len(json.loads(labels)) if labels else 10
    if (inp.name, dims(inp)) != (INPUT_NAME, [BATCH_DIM, 28, 28, 1]) or \
            (out.name, dims(out)) != (OUTPUT_NAME, [BATCH_DIM, classes]) or classes not in (10, 11) or \
            [(e.name, len(dims(e))) for e in extra] not in ([], [(FEATURES_NAME, 2)]):
        raise ValueError(f"model breaks the I/O contract: {inp.name}{dims(inp)} -> {out.name}{dims(out)}")
