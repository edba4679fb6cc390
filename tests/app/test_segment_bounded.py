"""Reading is bounded: grouping is n log n, a picture of thousands of marks is refused at once."""

import time

import numpy as np
import pytest
from PIL import Image

from app import preprocess, raster, recognize, segment
from app.predictor import Predictor
from app.image_files import BadImage
from app.preprocess import ink_and_blobs
from benchmarks.reliability import dot_grid as dots


def columns_time(n):
    rng = np.random.default_rng(n)
    x0 = rng.integers(0, 40 * n, n)
    boxes = np.stack([x0, np.zeros(n, int), x0 + rng.integers(5, 30, n), np.full(n, 10)], axis=1)
    start = time.perf_counter()
    segment.group_columns(boxes)
    segment.group_lines(boxes)
    return time.perf_counter() - start


def test_grouping_grows_no_faster_than_n_log_n():
    columns_time(1000)  # warm up
    small = min(columns_time(4000) for _ in range(3))
    big = min(columns_time(32000) for _ in range(3))
    # 8x the boxes: n log n costs about 10x; the old all-pairs rescan cost 64x and more.
    assert big / small < 20, (small, big)


def test_grouping_matches_overlap_rule_on_random_boxes():
    """The sweep gives the same groups as merging overlapping groups until none overlap."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        x0 = rng.integers(0, 200, n)
        boxes = np.stack([x0, np.zeros(n, int), x0 + rng.integers(1, 60, n), np.ones(n, int)], axis=1)
        groups = segment.group_columns(boxes)
        assert sorted(i for g in groups for i in g) == list(range(n))
        spans = [(boxes[g, 0].min(), boxes[g, 2].max()) for g in groups]
        for a in range(len(spans)):
            for b in range(a + 1, len(spans)):
                assert not segment._same_digit(spans[a], spans[b])


def test_thousands_of_dots_are_refused_fast(shipped_model):
    predictor = Predictor(shipped_model)
    picture = dots(64, 64)  # 4,096 dots
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"too many separate marks \(4096\)"):
        recognize.read(predictor, picture)
    assert time.perf_counter() - start < 3.0


def test_a_few_dots_are_still_read(shipped_model):
    """The refusal is about count: a picture with a handful of marks is read, not refused."""
    predictor = Predictor(shipped_model)
    reading = recognize.read(predictor, dots(1, 3, pitch=60, radius=12))
    assert len(reading.guesses) >= 1


def test_stacked_digits_are_read_as_lines_top_to_bottom():
    from app.drawing import stamp_polyline

    pixels = np.zeros((420, 300), np.uint8)
    stamp_polyline(pixels, [(150, 30), (150, 170)], 16)  # a 1 on top ...
    stamp_polyline(pixels, [(100, 260), (200, 260), (100, 390), (200, 390)], 16)  # ... a Z-like 2 below
    ink, found = ink_and_blobs(pixels)
    pieces = segment.split_digits(ink, found)
    assert [p.line for p in pieces] == [0, 1]
    assert pieces[0].box[1] < pieces[1].box[1]


def binary_noise(size=2048, dark=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.where(rng.random((size, size)) < dark, 0, 255).astype(np.uint8))


def test_ink_runs_counts_horizontal_runs():
    rng = np.random.default_rng(3)
    for _ in range(50):
        mask = rng.random((int(rng.integers(1, 9)), int(rng.integers(1, 9)))) < 0.5
        naive = sum(1 for row in mask for x in range(len(row)) if row[x] and (x == 0 or not row[x - 1]))
        assert raster.ink_runs(mask) == naive


@pytest.mark.parametrize("dark", [0.5, 0.3])
def test_dense_noise_is_refused_before_labelling(shipped_model, monkeypatch, dark):
    """2048x2048 random dots: ~1,000,000 ink runs; labelled, it took 2.1 s and read "10" (measured)."""
    predictor = Predictor(shipped_model)
    picture = binary_noise(dark=dark)
    labelled = []
    monkeypatch.setattr(preprocess.components, "label", lambda *a, **k: labelled.append(1) / 0)
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"ink too scattered to be a number \(\d+ ink runs"):
        recognize.read(predictor, picture)
    assert time.perf_counter() - start < 1.5
    assert labelled == []


def test_a_number_in_thick_strokes_is_far_below_the_run_limit():
    from app.drawing import stamp_polyline

    pixels = np.zeros((2048, 2048), np.uint8)
    for x in range(100, 1900, 450):  # four tall zeros filling the picture
        stamp_polyline(pixels, [(x, 100), (x + 350, 100), (x + 350, 1950), (x, 1950), (x, 100)], 120)
    assert raster.ink_runs(pixels > 0) < preprocess.MAX_INK_RUNS / 10


def scribble(seed=0, size=(2048, 800), step=12, width=20):
    """One huge blob: a thick zigzag across the whole picture (well under the ink-run limit)."""
    from app.drawing import stamp_polyline

    rng = np.random.default_rng(seed)
    pixels = np.zeros(size[::-1], np.uint8)
    stamp_polyline(pixels, [(x, rng.uniform(20, size[1] - 20)) for x in range(20, size[0] - 20, step)], width)
    return pixels


def test_a_huge_piece_is_cut_on_a_shrunk_copy_within_bounds(shipped_model):
    """A 2048x800 scribble is one piece: its cuts are planned at most PLAN_ROWS rows per digit
    height, so the whole read stays well inside a second (unshrunk it took 1.7 s to cut)."""
    from app import cuts

    predictor = Predictor(shipped_model)
    picture = scribble()
    inputs = []

    class Counting:
        labels = predictor.labels

        def predict(self, batch):
            inputs.append(len(batch))
            return predictor.predict(batch)

    start = time.perf_counter()
    recognize.read(Counting(), picture)
    assert time.perf_counter() - start < 1.5
    assert inputs and sum(inputs) <= cuts.MAX_CANDIDATES
    ink, found = ink_and_blobs(picture)
    piece = max(segment.split_digits(ink, found), key=lambda p: p.ink.size)
    plan = cuts._plan(piece)
    shrunk = [box for box in plan.boxes if box is not None]
    assert piece.ink.shape[1] > 1500 and len(shrunk) > 1  # really cut, ...
    f = max(1, -(-int(piece.digit_height) // cuts.PLAN_ROWS))
    assert all(x % f == 0 and y % f == 0 for x, y, _, _ in shrunk[1:])  # ... on the shrunk copy


def test_rows_of_touching_writing_beyond_the_candidate_budget_are_refused(shipped_model):
    """Ten lines of long touching scrawl (a page of handwriting, not a number) are refused at once."""
    from app.drawing import stamp_polyline

    rng = np.random.default_rng(2)
    pixels = np.zeros((2000, 2000), np.uint8)
    for top in range(50, 1950, 190):
        stamp_polyline(pixels, [(x, top + rng.uniform(0, 120)) for x in range(20, 1980, 25)], 10)
    start = time.perf_counter()
    with pytest.raises(BadImage, match=r"too much writing to read as a number"):
        recognize.read(Predictor(shipped_model), pixels)
    assert time.perf_counter() - start < 1.5


def test_the_cli_names_the_file_it_refuses(shipped_model, tmp_path):
    """A refusal raised while reading (not decoding) still says which file, in one line."""
    import subprocess
    import sys

    from .conftest import ROOT

    path = tmp_path / "dots.png"
    dots(64, 64).save(path)
    done = subprocess.run([sys.executable, "-m", "app", "predict", "--model", str(shipped_model), str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: {path}: too many separate marks (4096) to be a number"]


def test_two_lines_of_digits_are_two_lines_however_close():
    """A row of marks side by side and a band about as tall are two lines even 0.15 of a line apart;
    a band much shorter than its neighbour (a 5's bar drawn apart, a dot), or two single marks one over
    the other (a digit broken in two), still join across a narrow strip."""
    row = [(0, 0, 40, 100), (50, 0, 90, 100)]
    below = [(x0, y0 + 115, x1, y1 + 115) for x0, y0, x1, y1 in row]  # 15 px of paper between
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(row + below))] == [[0, 1], [2, 3]]
    five = [(0, 0, 40, 12), (0, 18, 40, 100)]  # a bar 6 px above its body
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(five))] == [[0, 1]]
    three = [(9, 135, 83, 180), (18, 186, 92, 218)]  # an MNIST training 3 broken in two, re-drawn thick
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(three))] == [[0, 1]]


def test_a_row_of_smaller_writing_below_is_a_line_of_its_own():
    """A row of marks side by side under a taller one is a line even when less than half as tall (a
    number continued below in smaller digits); one small mark alone (a dot, a stray bar) joins the
    nearest line as before."""
    big = [(0, 0, 40, 140), (50, 0, 90, 140)]
    small_row = [(0, 300, 30, 360), (40, 300, 70, 360)]  # 60 tall: 0.43 of 140
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(big + small_row))] == [[0, 1], [2, 3]]
    one_small = [(0, 300, 30, 360)]
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(big + one_small))] == [[0, 1, 2]]
    specks = [(0, 300, 8, 310), (40, 300, 48, 310)]  # side by side but tiny: no line of writing
    assert [sorted(map(int, g)) for g in segment.group_lines(np.array(big + specks))] == [[0, 1, 2, 3]]


def test_a_number_continued_close_below_is_read_line_by_line(shipped_model):
    """Training writers' numbers of 4 digits written as two rows of two, a sixth of a row apart (as a
    number runs on below when out of room): read top row first, each digit in its row."""
    from tests.app.test_strokes import place, training_digits

    from benchmarks.pen_figures import drawn

    predictor = Predictor(shipped_model)
    digits = training_digits()
    rng = np.random.default_rng(4)
    right = 0
    for _ in range(10):
        writer = digits[int(rng.integers(len(digits)))].writer
        own = [d for d in digits if d.writer == writer]
        chosen = [own[i] for i in rng.choice(len(own), 4, replace=len(own) < 4)]
        top = place(chosen[:2], height=120, gap=0.4, left=60, baseline=170)
        bottom = place(chosen[2:], height=120, gap=0.4, left=60, baseline=170 + 146)
        strokes = [s for digit in top + bottom for s in digit]
        picture = 255 - drawn(strokes, (560, 420), 6).pixels
        right += recognize.read(predictor, picture).number == "".join(d.label for d in chosen)
    assert right >= 7, right
