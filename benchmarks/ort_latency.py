"""onnxruntime batch-1 latency of several models, one thread, in a process without TensorFlow.

Usage: python -m benchmarks.ort_latency MODEL.onnx [MODEL.onnx ...] REPEATS; prints a JSON list of ms lists.
"""
import json
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from benchmarks.model_figures import ort_session
    from benchmarks.stats import timings_ms

    *models, repeats = argv or sys.argv[1:]
    x = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    out = []
    for model in models:
        session = ort_session(Path(model))
        out.append(timings_ms(lambda: session.run(None, {"image": x}), int(repeats)).tolist())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
