"""The user's corrections: where they live, written atomically, read back, corrupt lines skipped, forgotten."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app import corrections
from app.pen import parse_record


def _image(seed=0):
    image = np.zeros((28, 28, 1), np.float32)
    image[6:22, 12 + seed % 3:15 + seed % 3] = 1.0
    image[6, 8:20] = 0.5
    return image


STROKES = [(12.0, [(10.0, 10.0), (20.0, 40.0), (25.5, 80.3)]), (8.0, [(5.0, 50.0), (40.0, 50.0)])]


@pytest.mark.parametrize("platform, environ, expected", [
    ("linux", {"XDG_DATA_HOME": "/data/me"}, "/data/me/digit-recognizer"),
    ("linux", {}, "/home/u/.local/share/digit-recognizer"),
    ("linux", {"XDG_DATA_HOME": "relative/dir"}, "/home/u/.local/share/digit-recognizer"),  # the spec says ignore
    ("win32", {"APPDATA": "/c/Users/u/AppData/Roaming"}, "/c/Users/u/AppData/Roaming/digit-recognizer"),
    ("darwin", {"XDG_DATA_HOME": "/data/me"}, "/home/u/Library/Application Support/digit-recognizer"),
])
def test_data_folder_follows_the_platform(platform, environ, expected):
    assert corrections.data_dir(platform, environ, home="/home/u") == Path(expected)


def test_a_correction_is_read_back_as_written(tmp_path):
    store = corrections.Store(tmp_path / "new" / "folder")
    store.add(corrections.correction_record("7", _image(), STROKES, read_as="1", model="m", run_id="r1"))
    store.add(corrections.correction_record("not a digit", _image(1), read_as="4"))
    kept = store.corrections()
    assert [k.label for k in kept] == ["7", "not a digit"]
    assert [k.read_as for k in kept] == ["1", "4"]
    np.testing.assert_allclose(kept[0].image, _image(), atol=0.5 / 255)
    np.testing.assert_allclose(kept[1].image, _image(1), atol=0.5 / 255)
    assert [s.tolist() for s in kept[0].strokes] == [[list(p) for p in pts] for _w, pts in STROKES]
    assert kept[0].widths == (12.0, 8.0)
    assert kept[1].strokes == ()
    assert store.count() == 2
    # The pen record format: the training code's own parser reads a drawn correction.
    line = store.corrections_path.read_text().splitlines()[0]
    sample = parse_record(json.loads(line))
    assert sample.label == "7" and sample.writer.startswith("user-") and len(sample.strokes) == 2


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    store = corrections.Store(tmp_path)
    store.add(corrections.correction_record("3", _image()))
    before = store.corrections_path.read_bytes()

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.add(corrections.correction_record("5", _image()))
    assert store.corrections_path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [corrections.CORRECTIONS_FILE]  # no temp file left


def test_a_corrupt_line_is_skipped_with_a_warning(tmp_path):
    store = corrections.Store(tmp_path, warn=(warned := []).append)
    good = json.dumps(corrections.correction_record("2", _image()))
    bad_image = json.dumps({**json.loads(good), "image": "bm90IGEgcG5n"})
    bad_strokes = json.dumps({**json.loads(good), "strokes": [[[1, "x"]]]})
    store.corrections_path.write_text("\n".join([good, "{not json", bad_image, "", bad_strokes, good[:40]]) + "\n")
    store.add(corrections.correction_record("8", _image()))
    kept = store.corrections()
    assert [k.label for k in kept] == ["2", "8"]
    assert len(warned) == 4
    assert [w.split(": line ")[1].split()[0] for w in warned] == ["2", "3", "5", "6"]
    assert all(w.startswith("warning: ") and "\n" not in w for w in warned)


def test_a_torn_last_line_does_not_swallow_the_next_record(tmp_path):
    store = corrections.Store(tmp_path, warn=lambda _line: None)
    good = json.dumps(corrections.correction_record("2", _image()))
    store.corrections_path.write_text(good + "\n" + good[:50])  # a crash mid-write of another program
    store.add(corrections.correction_record("9", _image()))
    assert [k.label for k in store.corrections()] == ["2", "9"]


def test_forget_all_deletes_them(tmp_path):
    store = corrections.Store(tmp_path)
    for label in "123":
        store.add(corrections.correction_record(label, _image()))
    store.confirm(_image(), "4")
    assert store.forget_all() == 3
    assert store.count() == 0 and store.confirmed() == []
    assert not store.corrections_path.exists() and not store.confirmed_path.exists()
    assert store.forget_all() == 0


def test_confirmed_readings_keep_only_the_newest(tmp_path, monkeypatch):
    monkeypatch.setattr(corrections, "CONFIRMED_KEPT", 3)
    store = corrections.Store(tmp_path)
    for label in "12345":
        store.confirm(_image(), label)
    assert [c.label for c in store.confirmed()] == ["3", "4", "5"]
    assert store.count() == 0  # confirmed readings are no corrections


def test_strokes_of_a_digit_are_those_inside_its_box():
    strokes = [(5.0, [(1, 1), (9, 9)]), (5.0, [(50, 1), (60, 9)]), (5.0, [(8, 2), (55, 3)])]
    assert corrections.strokes_of(strokes, (0, 0, 10, 10)) == strokes[:1]
    assert corrections.strokes_of(strokes, (0, 0, 70, 10)) == strokes
