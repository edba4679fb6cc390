"""Shared by the export tests: an ONNX model's bytes with some of its metadata_props changed."""
import json

import onnx


def with_metadata(blob, **changes):
    """`blob` with each metadata key in `changes` set (a string as it is, anything else as JSON) or, given
    None, removed."""
    proto = onnx.load_from_string(blob)
    meta = {p.key: p.value for p in proto.metadata_props}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        meta.pop(k)
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    return proto.SerializeToString()
