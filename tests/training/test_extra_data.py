"""--extra-data: the app's corrections and pen records rendered for training, validation writers kept out."""

import json

import numpy as np
import pytest

from app import corrections
from training.extra_data import load_extra
from training.pen_data import PenDataError, is_val_writer


def _writer(validation):
    return next(w for w in (f"w{i}" for i in range(1000)) if is_val_writer(w) == validation)


def test_corrections_and_pen_records_are_mixed_in_by_writer(tmp_path):
    image = np.zeros((28, 28, 1), np.float32)
    image[5:22, 12:15] = 1.0
    store = corrections.Store(tmp_path)
    store.add(corrections.correction_record("7", image, [(10.0, [(0, 0), (50, 0), (20, 80)])], read_as="1"))
    store.add(corrections.correction_record("not a digit", image))  # a corrected picture: its image only
    stroke = [[0, 0], [10, 40], [12, 80]]
    with open(store.corrections_path, "a") as f:
        f.write(json.dumps({"writer": _writer(False), "label": "1", "strokes": [stroke]}) + "\n")
        f.write(json.dumps({"writer": _writer(True), "label": "4", "strokes": [stroke]}) + "\n")  # held out
        f.write(json.dumps({"writer": _writer(False), "label": "O", "strokes": [stroke]}) + "\n")  # a 0? left out
        f.write("not json\n")
    x, y, summary = load_extra(store.corrections_path, seed=0)
    assert x.shape[1:] == (28, 28, 1) and x.dtype == np.float32
    assert sorted(y.tolist()) == [1] * 4 + [7] * 4 + [10]  # drawn records in four views, the picture once
    np.testing.assert_allclose(x[list(y).index(10)], image, atol=0.5 / 255)
    assert "1 record(s) of validation writers kept out" in summary


def test_no_usable_records_is_a_clear_error(tmp_path):
    with pytest.raises(PenDataError, match="no such file"):
        load_extra(tmp_path / "missing.jsonl", seed=0)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(PenDataError, match="no usable records"):
        load_extra(tmp_path / "empty.jsonl", seed=0)
