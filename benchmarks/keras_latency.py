"""Keras latency on one thread, in its own process: TF's thread pools can only be sized before TF starts.

Usage: python -m benchmarks.keras_latency MODEL REPEATS; prints JSON {batch: [ms, ...]}. MODEL is a .keras
file or the name of a builder in training.models (its architecture, untrained: the same arithmetic).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from benchmarks.stats import timings_ms

    path, repeats = (argv or sys.argv[1:])[:2]
    if path.endswith(".keras"):
        model = keras.models.load_model(path)
    else:
        from training.models import MODELS
        model = MODELS[path]()
    x = np.random.default_rng(0).random((256, 28, 28, 1), dtype=np.float32)
    out = {}
    for batch in (1, 256):
        xb = x[:batch]
        out[f"predict_{batch}"] = timings_ms(lambda: model.predict(xb, verbose=0), int(repeats)).tolist()
        out[f"call_{batch}"] = timings_ms(lambda: model(xb, training=False), int(repeats)).tolist()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
