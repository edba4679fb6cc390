"""app.numbers: the number reader's contract, where the app finds it, and how pictures use it.

The number models here are tiny hand-built ONNX graphs, no training: a frame (STRIDE strip
columns) reads DIGIT where the strip's ink first covers more than DENSE of it (the frame before
covers less), else blank: a spike where each blob begins, as the trained reader spikes where a
digit begins. So a row of blobs joined by thin bridges reads as one DIGIT per blob, exactly,
whatever a trained model would say; the digit model beside them always answers 3, so cuts and the
number reader tell apart.
"""

import shutil

import numpy as np
import pytest

from app import cuts, numbers, recognize, strip
from app.numbers import NUMBERS_FILE, NumberReader, char_columns
from app.predictor import ModelError, Predictor
from app.strip import (CLASSES, INK_ROWS, NOT_A_DIGIT, STRIDE, Char, decode, decode_best, decode_members,
                       log_likelihood, read_frames, strip_input)
from tests.app.conftest import build_model, constant_head

DIGIT = 7
DENSE = 0.1  # share of a frame's pixels inked above which it reads DIGIT


def build_numbers(path, *, input_name="strip", frame=STRIDE, classes=CLASSES, width="width", softmax=True,
                  dense=DENSE, metadata=None, steep=400.0, doubt=None, members=1):
    """numbers.onnx: strip [batch, 28, width, 1] -> ink share per `frame` columns -> frames [batch, T, classes];
    with `members` > 1 that many copies stacked: [batch, T, members, classes] (readers that vote).

    `doubt`: where a frame reads DIGIT, the next digit follows it `doubt` logits behind, so that DIGIT's
    probability stays below 1.0 while blank and DIGIT stay clear-cut (a gentler `steep` blurs them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    slope = np.zeros(classes, np.float32)
    bias = np.full(classes, -20.0, np.float32)
    bias[0] = 0.0  # blank
    slope[1 + DIGIT] = steep  # logits: steep x (ink share - dense); 400 saturates float32 to 1.0
    bias[1 + DIGIT] = -steep * dense
    if doubt is not None:
        slope[2 + DIGIT] = steep
        bias[2 + DIGIT] = -steep * dense - doubt
    strip = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 28, width, 1])
    frames = helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["batch", "frames", classes] if members == 1
                                           else ["batch", "frames", members, classes])
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["columns"], axes=[1, 3], keepdims=0),  # [b, W]
        helper.make_node("Reshape", ["columns", "per_frame"], ["grouped"]),  # [b, T, frame]
        helper.make_node("ReduceMean", ["grouped"], ["dense_share"], axes=[2], keepdims=1),  # [b, T, 1]
        # The previous frame's share (0 before the first): a frame past DENSE after one below it spikes.
        helper.make_node("Pad", ["dense_share", "before"], ["padded"]),  # [b, T + 1, 1]
        helper.make_node("Shape", ["dense_share"], ["frames_shape"]),
        helper.make_node("Slice", ["padded", "zero", "frames_shape", "zero_to_two"], ["previous"]),
        helper.make_node("Sub", ["twice_dense", "previous"], ["fresh"]),  # 2 dense - prev: share-like
        helper.make_node("Min", ["dense_share", "fresh"], ["share"]),  # past dense only where prev is not
        helper.make_node("Mul", ["share", "slope"], ["scaled"]),
        helper.make_node("Add", ["scaled", "bias"], ["logits"]),
        helper.make_node("Softmax" if softmax else "Identity", ["logits"], ["one" if members > 1 else "frames"],
                         **({"axis": -1} if softmax else {})),
    ]
    if members > 1:
        nodes += [helper.make_node("Unsqueeze", ["one", "member_axis"], ["one_member"]),
                  helper.make_node("Concat", ["one_member"] * members, ["frames"], axis=2)]
    weights = [numpy_helper.from_array(np.array([0, -1, frame], np.int64), "per_frame"),
               numpy_helper.from_array(np.array([0, 1, 0, 0, 0, 0], np.int64), "before"),
               numpy_helper.from_array(np.zeros(3, np.int64), "zero"),
               numpy_helper.from_array(np.array([0, 1, 2], np.int64), "zero_to_two"),
               numpy_helper.from_array(np.array(2 * dense, np.float32), "twice_dense"),
               numpy_helper.from_array(slope, "slope"), numpy_helper.from_array(bias, "bias"),
               numpy_helper.from_array(np.array([2], np.int64), "member_axis")]
    graph = helper.make_graph(nodes, "tiny-numbers", [strip], [frames], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 9
    props = {"labels": '["blank", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "not a digit"]',
             "stride": str(STRIDE), "height": "28", "val_row_accuracy": "0.5"}
    props.update(metadata or {})
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def blobs(at=(30, 130), bridge=True, width=240, height=160):
    """Picture (white on black, uint8) of hollow boxes 70 px wide and 100 tall with left edges at `at`,
    each joined to the next by a thin bar (touching digits) when `bridge`."""
    img = np.zeros((height, width), np.uint8)
    for x in at:
        img[30:130, x : x + 70] = 255
        img[42:118, x + 12 : x + 58] = 0
    if bridge:
        for a, b in zip(at, at[1:]):
            img[78:81, a + 70 : b] = 255
    return img


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """Model directories: the always-3 digit model alone, with the number reader, with a blind one."""
    root = tmp_path_factory.mktemp("numbers")
    three = np.zeros(10)
    three[3] = 8.0
    dirs = {}
    for name in ("digits_only", "with_numbers", "blind_numbers"):
        (root / name).mkdir()
        build_model(root / name / "digits.onnx", constant_head(three), metadata={"model_name": "always3"})
        dirs[name] = root / name / "digits.onnx"
    build_numbers(root / "with_numbers" / NUMBERS_FILE)
    build_numbers(root / "blind_numbers" / NUMBERS_FILE, dense=2.0)  # no frame is ever that dense
    eleven = np.zeros(11)
    eleven[3] = 8.0
    (root / "eleven").mkdir()
    dirs["eleven"] = build_model(root / "eleven" / "digits.onnx", constant_head(eleven), width=11,
                                 metadata={"labels": '["0","1","2","3","4","5","6","7","8","9","not a digit"]'})
    dirs["root"] = root
    return dirs


def one_line_error(excinfo, *words):
    text = str(excinfo.value)
    assert "\n" not in text and all(w in text for w in words), text


# -- the contract -----------------------------------------------------------------------


def test_reader_reads_one_digit_per_blob_in_one_run(kit):
    reader = NumberReader(kit["with_numbers"].parent / NUMBERS_FILE)
    ink = blobs(at=(30, 130)).astype(np.float32) / 255
    three = blobs(at=(10, 120, 230), width=320).astype(np.float32) / 255
    calls = []
    run = reader._run
    reader._run = lambda pixels: calls.append(pixels.shape) or run(pixels)
    (strip_a, chars_a), (none, nothing), (strip_b, chars_b) = reader.read([ink, np.zeros((20, 20)), three])
    assert [c.label for c in chars_a] == [str(DIGIT)] * 2 and [c.label for c in chars_b] == [str(DIGIT)] * 3
    assert none is None and nothing == []
    assert len(calls) == 1 and calls[0][0] == 2  # both strips, one batch
    assert strip_a.pixels.shape == strip_input(ink).pixels.shape
    # Each strip gets its own frames back, not the padding the batch gave the narrower one.
    assert [f.shape for f in reader.frames([strip_a, strip_b])] == [(strip_a.frames, CLASSES),
                                                                    (strip_b.frames, CLASSES)]


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ModelError) as excinfo:
        NumberReader(tmp_path / NUMBERS_FILE)
    one_line_error(excinfo, "not found", NUMBERS_FILE)


def test_junk_file_is_one_line(tmp_path):
    junk = tmp_path / NUMBERS_FILE
    junk.write_bytes(b"not an onnx model at all")
    with pytest.raises(ModelError) as excinfo:
        NumberReader(junk)
    one_line_error(excinfo, "cannot load")


@pytest.mark.parametrize("change, words", [
    ({"input_name": "image"}, ["expected one input named 'strip'", "image"]),
    ({"width": 64}, ["input 'strip'", "any width"]),
    ({"classes": 11}, ["output 'frames'", "[batch, frames, 12]"]),
    ({"classes": 11, "members": 2}, ["output 'frames'", "[batch, frames, members, 12]"]),
    # A frame per 2 x STRIDE columns: half the frames, seen at the probe (2 strips of 12 x STRIDE columns).
    ({"frame": 2 * STRIDE}, ["'frames' has shape", "expected [2, 12, 12]"]),
    ({"softmax": False}, ["not probabilities"]),
    ({"metadata": {"stride": str(2 * STRIDE)}}, [f"metadata 'stride' must be {STRIDE}"]),
    ({"metadata": {"labels": '["0","1"]'}}, ["metadata 'labels'"]),
    ({"metadata": {"sure_threshold": "1.5"}}, ["'sure_threshold' must be a number between 0 and 1"]),
])
def test_contract_breaches_are_refused_in_one_line(tmp_path, change, words):
    path = build_numbers(tmp_path / NUMBERS_FILE, **change)
    with pytest.raises(ModelError) as excinfo:
        NumberReader(path)
    one_line_error(excinfo, "number reader", *words)


# -- where the app finds it ---------------------------------------------------------------


def test_predictor_finds_the_number_reader_beside_the_digit_model(kit):
    assert isinstance(Predictor(kit["with_numbers"]).numbers, NumberReader)
    assert Predictor(kit["digits_only"]).numbers is None


def test_a_broken_number_reader_beside_the_model_is_refused(kit, tmp_path):
    shutil.copy(kit["digits_only"], tmp_path / "digits.onnx")
    build_numbers(tmp_path / NUMBERS_FILE, input_name="image")
    with pytest.raises(ModelError) as excinfo:
        Predictor(tmp_path / "digits.onnx")
    one_line_error(excinfo, NUMBERS_FILE)


def spec_bundled_files(root):
    """build.spec's BUNDLED_FILES for a checkout at `root` (its statements up to that list, run)."""
    import ast
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "build.spec"
    tree = ast.parse(spec.read_text())
    upto = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "BUNDLED_FILES" for t in node.targets))
    scope = {"SPECPATH": str(root)}
    exec(compile(ast.Module(tree.body[: upto + 1], []), str(spec), "exec"), scope)
    return scope["BUNDLED_FILES"]


def test_the_executable_bundles_the_number_reader_when_there_is_one(tmp_path):
    models = tmp_path / "app" / "models"
    models.mkdir(parents=True)
    (models / "digits.onnx").write_bytes(b"x")
    assert spec_bundled_files(tmp_path) == [(str(models / "digits.onnx"), "app/models")]
    (models / NUMBERS_FILE).write_bytes(b"x")
    assert spec_bundled_files(tmp_path) == [(str(models / "digits.onnx"), "app/models"),
                                            (str(models / NUMBERS_FILE), "app/models")]


# -- pictures ---------------------------------------------------------------------------


def test_a_touching_pair_is_read_by_the_number_reader(kit):
    reading = recognize.read(Predictor(kit["with_numbers"]), blobs(at=(30, 130)))
    assert reading.number == str(DIGIT) * 2
    left, right = reading.guesses
    # Each digit stands for its own box: split where the right one's spike is, at its left edge
    # (130) to within half a frame, never inside the left box.
    half = STRIDE / 2 * 100 / INK_ROWS  # ink columns: the boxes are 100 rows tall, INK_ROWS in the strip
    assert left.box[0] == 30 and abs(left.box[2] - 130) <= half and right.box[2] == 200
    assert abs(right.box[0] - 130) <= half and left.box[1] == right.box[1] == 30
    for g in reading.guesses:
        assert g.image.shape == (28, 28, 1) and g.image.max() == 1.0
        assert g.labels == tuple(str(d) for d in range(10))
        assert g.probabilities.shape == (10,) and abs(float(g.probabilities.sum()) - 1) < 1e-5
        assert int(np.argmax(g.probabilities)) == DIGIT and g.sure


def test_the_number_readers_own_sure_line_decides_what_it_reads_is_sure(kit, tmp_path):
    """Its symbols are sure from the line in its metadata (the digit model's line when it has none)."""
    shutil.copy(kit["digits_only"], tmp_path / "digits.onnx")
    predictor = Predictor(kit["with_numbers"])
    plain = recognize.read(predictor, blobs(at=(30, 130)))
    assert plain.number == str(DIGIT) * 2 and plain.sure  # the fake reader's 7s are far above 0.6
    assert {g.threshold for g in plain.guesses} == {predictor.sure_threshold}
    build_numbers(tmp_path / NUMBERS_FILE, doubt=10.0)  # its 7s at about 0.99995, not 1.0
    gentle = recognize.read(Predictor(tmp_path / "digits.onnx"), blobs(at=(30, 130)))
    assert gentle.number == plain.number and gentle.sure
    assert all(0.999 < g.confidence < 1.0 for g in gentle.guesses)
    build_numbers(tmp_path / NUMBERS_FILE, doubt=10.0, metadata={"sure_threshold": "1.0"})
    strict = recognize.read(Predictor(tmp_path / "digits.onnx"), blobs(at=(30, 130)))
    assert strict.number == plain.number and not strict.sure
    assert {g.threshold for g in strict.guesses} == {1.0}


def test_without_a_number_reader_the_picture_is_cut_as_before(kit):
    picture = blobs(at=(30, 130))
    reading = recognize.read(Predictor(kit["digits_only"]), picture)
    assert reading.number and set(reading.number) == {"3"}  # the cut reader, with the always-3 model
    blind = recognize.read(Predictor(kit["blind_numbers"]), picture)
    assert blind.number == reading.number  # the number reader finds nothing: that piece is cut


def test_separate_digits_go_to_both_readers_in_one_run_and_a_sure_digit_model_keeps_them(kit):
    """A piece too narrow to cut but wide for one digit (cuts.NARROW_PAIR of its height) goes to
    the number reader too, all in the same run; the digit model's sure 3 stands for it."""
    predictor = Predictor(kit["with_numbers"])
    calls = []
    read = predictor.numbers.read
    predictor.numbers.read = lambda inks: calls.append(len(inks)) or read(inks)
    apart = recognize.read(predictor, blobs(at=(30, 150), bridge=False))  # two pieces, each one digit
    assert apart.number == "33" and calls == [2]
    mixed = recognize.read(predictor, blobs(at=(10, 90, 200), bridge=False, width=300))
    assert mixed.number == "333" and calls == [2, 3]
    joined = np.concatenate([blobs(at=(10, 120), width=210), blobs(at=(20,), bridge=False, width=120)], axis=1)
    reading = recognize.read(predictor, joined)  # a touching pair, then a digit apart
    assert reading.number == f"{DIGIT}{DIGIT}3" and calls == [2, 3, 2]


def ones(at=(40, 80), bridge=True, width=160, height=160, pen=15):
    """Picture of upright bars (1s) 100 px tall and `pen` wide, left edges at `at`, joined by a thin
    bar when `bridge`: touching 1s narrower than app.cuts cuts (0.8 of the height)."""
    img = np.zeros((height, width), np.uint8)
    for x in at:
        img[30:130, x : x + pen] = 255
    if bridge:
        for a, b in zip(at, at[1:]):
            img[78:81, a + pen : b] = 255
    return img


@pytest.fixture(scope="module")
def unsure(tmp_path_factory):
    """The fake number reader beside a digit model that answers 3 at about 23 % (not sure)."""
    root = tmp_path_factory.mktemp("unsure")
    three = np.zeros(10)
    three[3] = 1.0
    path = build_model(root / "digits.onnx", constant_head(three), metadata={"model_name": "unsure3"})
    build_numbers(root / NUMBERS_FILE)
    return path


def test_a_narrow_touching_pair_is_read_by_the_number_reader_where_the_digit_model_is_unsure(kit, unsure):
    from app.segment import split_digits
    from app.preprocess import ink_and_blobs

    picture = ones()
    (piece,) = split_digits(*ink_and_blobs(picture))
    assert not cuts.may_cut(piece) and cuts.may_touch(piece)  # the case: too narrow to cut
    reading = recognize.read(Predictor(unsure), picture)
    assert reading.number == str(DIGIT) * 2
    assert reading.guesses[0].box[2] <= reading.guesses[1].box[0]  # each 1 its own columns
    # The digit model sure of one digit keeps the piece whole.
    assert recognize.read(Predictor(kit["with_numbers"]), picture).number == "3"
    # Without the number reader it is one digit, as before.
    shutil.copy(unsure, unsure.parent.parent / "unsure_alone.onnx")
    assert recognize.read(Predictor(unsure.parent.parent / "unsure_alone.onnx"), picture).number == "3"


def test_a_piece_narrower_than_a_pair_never_goes_to_the_number_reader(unsure):
    predictor = Predictor(unsure)
    calls = []
    read = predictor.numbers.read
    predictor.numbers.read = lambda inks: calls.append(len(inks)) or read(inks)
    # Two bridged 8-px bars, 100 rows tall, spanning `width` columns (one bar that wide would be a blob
    # about two pen widths tall: flat, and never sent to the reader for that reason).
    width = int(cuts.NARROW_PAIR * 100) - 2
    assert recognize.read(predictor, ones(at=(40, 32 + width), pen=8)).number == "3" and calls == []
    # Wide enough: the fake reader reads it, a DIGIT where each bar begins.
    assert recognize.read(predictor, ones(at=(40, 36 + width), pen=8)).number == str(DIGIT) * 2 and calls == [1]


def test_a_page_of_touching_writing_is_refused_as_without_the_number_reader(kit):
    from app.drawing import stamp_polyline
    from app.image_files import BadImage

    rng = np.random.default_rng(2)
    pixels = np.zeros((2000, 2000), np.uint8)
    for top in range(50, 1950, 190):  # ten lines of long touching scrawl
        stamp_polyline(pixels, [(x, top + rng.uniform(0, 120)) for x in range(20, 1980, 25)], 10)
    for model in ("digits_only", "with_numbers"):
        with pytest.raises(BadImage, match=r"too much writing to read as a number"):
            recognize.read(Predictor(kit[model]), pixels)


def test_a_decimal_point_between_pieces_is_kept(kit):
    img = np.zeros((160, 420), np.uint8)
    img[:, :240] = blobs(at=(30, 130))
    img[:, 260:] = blobs(at=(20,), bridge=False, width=160)
    img[122:130, 236:244] = 255  # a dot on the baseline between the pair and the last digit
    assert recognize.read(Predictor(kit["with_numbers"]), img).number == f"{DIGIT}{DIGIT}.3"


# -- a Char as the app's Guess ----------------------------------------------------------------


def char_of(index, p_index, blank):
    frame = np.full(CLASSES, 0.0, np.float32)
    frame[0] = blank
    frame[index] = p_index
    rest = [k for k in range(1, CLASSES) if k != index]
    frame[rest] = (1 - blank - p_index) / len(rest)
    return Char(index, p_index, frame, 2, 2)


def piece_of(picture):
    from app.segment import Piece

    ink = picture.astype(np.float32) / 255
    return Piece((5, 7, 5 + ink.shape[1], 7 + ink.shape[0]), ink)


def test_a_char_becomes_a_guess_over_the_models_labels(kit):
    piece = piece_of(blobs(at=(30,), bridge=False, width=120))
    eleven = Predictor(kit["eleven"])
    nad = recognize._char_guess(eleven, piece, char_of(NOT_A_DIGIT, 0.6, 0.2), (0, 120))
    assert nad.label == "not a digit" and not nad.is_digit
    # Blank dropped, the rest renormalised; the confidence is the Char's (read_frames: its reading's).
    assert nad.probabilities.shape == (11,) and abs(float(nad.probabilities.sum()) - 1) < 1e-6
    assert nad.probabilities[10] == pytest.approx(0.6 / 0.8) and nad.confidence == pytest.approx(0.6)
    assert nad.box == (5 + 30, 7 + 30, 5 + 100, 7 + 130)
    four = recognize._char_guess(eleven, piece, char_of(1 + 4, 0.9, 0.05), (0, 120))
    assert four.label == "4" and four.confidence == pytest.approx(0.9)
    assert four.probabilities[4] == pytest.approx(0.9 / 0.95)
    # A digits-only model has no "not a digit": the frame's likeliest digit, as unsure as the reading is.
    ten = Predictor(kit["digits_only"])
    frame = char_of(NOT_A_DIGIT, 0.5, 0.2)  # the digits-only model's sure line is 0.6
    frame.probabilities[1 + 8] += 0.05
    frame.probabilities[NOT_A_DIGIT] -= 0.05
    guess = recognize._char_guess(ten, piece, frame, (0, 120))
    assert guess.label == "8" and guess.probabilities.shape == (10,)
    assert guess.confidence == pytest.approx(frame.confidence) and not guess.sure


def test_char_columns_start_each_char_at_its_spike():
    """The trained reader spikes where a digit begins: a char after the first starts at its spike's
    centre, whatever the ink between (the least-ink column between spikes was inside the left digit)."""
    ink = blobs(at=(30, 130)).astype(np.float32) / 255
    strip = strip_input(ink)

    def frame_at(x):
        return int((numbers_column(strip, x)) // STRIDE)

    def char(first, last=None):
        return Char(1 + DIGIT, 0.9, np.zeros(CLASSES), first, first if last is None else last)

    centre = lambda f, g=None: np.mean(strip.ink_columns(f, f if g is None else g))  # noqa: E731
    left, right = frame_at(32), frame_at(135)
    (a0, a1), (b0, b1) = char_columns(strip, [char(left), char(right)], ink)
    assert a0 == 0 and b1 == ink.shape[1] and a1 == b0 == round(centre(right))
    assert 130 <= a1 <= 140
    # A spike two frames wide: its centre; spikes in one frame still give each char a column.
    (_, a1), _ = char_columns(strip, [char(left), char(right, right + 1)], ink)
    assert a1 == round(centre(right, right + 1))
    spans = char_columns(strip, [char(left), char(right), char(right)], ink)
    assert [a for a, _ in spans] == sorted({a for a, _ in spans}) and all(a < b for a, b in spans)
    assert char_columns(strip, [], ink) == []


def numbers_column(strip, x):
    """The strip column showing ink column x (app.strip.Strip's mapping, inverted)."""
    from app.strip import SIDE

    return SIDE + (x - strip.x0) * strip.scale


def test_loader_helper_returns_none_without_a_file(tmp_path):
    assert numbers.beside(tmp_path / "digits.onnx") is None
    (tmp_path / NUMBERS_FILE).mkdir()
    with pytest.raises(ModelError) as excinfo:
        numbers.beside(tmp_path / "digits.onnx")
    one_line_error(excinfo, "is a directory")


# -- decoding: the most probable text, not the best path (app.strip.decode_best) ----------


def frames_of(*rows):
    """(T, CLASSES) frames from {class: probability} rows, the rest of each row on blank."""
    out = np.zeros((len(rows), CLASSES), np.float32)
    for t, row in enumerate(rows):
        for k, p in row.items():
            out[t, k] = p
        out[t, 0] = 1.0 - sum(row.values())
    return out


def test_a_symbol_spread_over_paths_is_read_though_no_single_frame_shows_it():
    # Each frame: blank 0.6, "4" 0.4. The best path is all blank (0.36) but "4" has 0.64 over its paths.
    frames = frames_of({5: 0.4}, {5: 0.4}, {}, {3: 0.3, 4: 0.3}, {})
    assert decode(frames) == []  # greedy: nothing but a blank "2 or 3" frame
    chars = decode_best(frames)
    assert [c.label for c in chars] == ["4"]
    assert chars[0].first == 0 and chars[0].last <= 1 and abs(chars[0].confidence - 0.4) < 1e-6


def test_best_text_agrees_with_summing_every_path():
    import itertools

    rng = np.random.default_rng(5)
    for _ in range(40):
        frames = rng.dirichlet(np.full(4, 0.5), int(rng.integers(1, 5))).astype(np.float32)
        full = np.zeros((len(frames), CLASSES), np.float32)
        full[:, :4] = frames  # blank and the digits 0-2: every path can be listed
        texts = {}
        for path in itertools.product(range(4), repeat=len(frames)):
            text = tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))
            texts[text] = texts.get(text, 0.0) + float(np.prod([frames[t, k] for t, k in enumerate(path)]))
        best = max(texts.values())
        chars = decode_best(full, beam=1000)
        assert texts[tuple(c.index for c in chars)] >= best - 1e-6
        assert all(c.first <= c.last < len(frames) for c in chars)
        assert all(a.last < b.first for a, b in zip(chars, chars[1:]))


def test_a_repeated_digit_needs_a_blank_between_in_the_best_text_too():
    two = frames_of({8: 0.9}, {}, {8: 0.9})
    one = frames_of({8: 0.9}, {8: 0.9}, {})
    assert [c.label for c in decode_best(two)] == ["7", "7"]
    assert [c.label for c in decode_best(one)] == ["7"]
    spread = frames_of({8: 0.45}, {8: 0.45}, {}, {8: 0.45}, {8: 0.45})  # two spread 7s, a blank between
    chars = decode_best(spread)
    assert [c.label for c in chars] == ["7", "7"] and chars[0].last < 2 <= chars[1].first


def test_the_picture_reader_reads_with_the_best_text(kit, monkeypatch):
    seen = []
    monkeypatch.setattr(strip, "decode_best", lambda f, beam=strip.BEAM: seen.append(len(f)) or decode_best(f, beam))
    assert recognize.read(Predictor(kit["with_numbers"]), blobs(at=(30, 130))).number == str(DIGIT) * 2
    assert len(seen) == 1


def test_likelihood_sums_every_path_that_spells_the_text():
    import itertools

    rng = np.random.default_rng(8)
    frames = np.zeros((4, CLASSES))
    frames[:, :4] = rng.dirichlet(np.full(4, 0.5), 4)
    texts = {}
    for path in itertools.product(range(4), repeat=4):
        text = tuple(k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k))
        texts[text] = texts.get(text, 0.0) + float(np.prod([frames[t, k] for t, k in enumerate(path)]))
    for text, p in texts.items():
        assert abs(log_likelihood(frames, text) - np.log(p)) < 1e-9, text
    assert log_likelihood(frames, (1, 2, 3, 1, 2)) == -np.inf  # five symbols cannot fit four frames


def test_log_likelihood_of_long_strips_does_not_underflow():
    """Rescaled forward pass against the plain one in log space, on strips far longer than underflow allows."""
    def reference(frames, text):
        states = [0] + [x for k in text for x in (k, 0)]
        logp = np.log(np.maximum(frames[:, states], strip.FLOOR))
        score = np.full(len(states), -np.inf)
        score[:2] = logp[0, :2]
        for t in range(1, len(frames)):
            new = score.copy()
            new[1:] = np.logaddexp(new[1:], score[:-1])
            for i in range(3, len(states), 2):
                if states[i] != states[i - 2]:
                    new[i] = np.logaddexp(new[i], score[i - 2])
            score = new + logp[t]
        return np.logaddexp(score[-1], score[-2])

    rng = np.random.default_rng(4)
    for length in (40, 2000):
        frames = rng.dirichlet(np.full(CLASSES, 0.3), length)
        frames[frames < 1e-40] = 0.0  # some impossible classes too
        for text in (tuple(c.index for c in decode(frames))[:12], (3, 3, 5), (NOT_A_DIGIT,)):
            expected = reference(frames, text)
            assert np.isfinite(expected) and (length < 600 or expected < -746)  # there: 0 as a float64
            assert log_likelihood(frames, text) == pytest.approx(expected, rel=1e-9)


def test_readers_vote_for_the_text_they_agree_on_best():
    lead = frames_of({}, {2: 0.55, 8: 0.45}, {})      # alone it reads "1", barely
    other = frames_of({8: 0.9, 2: 0.05}, {}, {})      # sure of "7", its spike a frame earlier
    alone = decode_best(lead)
    assert [c.label for c in alone] == ["1"]
    chars = decode_members(np.stack([lead, other]))
    # log .45 + log .9 beats log .55 + log .05: "7", placed and weighed on the leading reader's frames
    assert [c.label for c in chars] == ["7"] and chars[0].first == chars[0].last == 1
    assert abs(chars[0].confidence - 0.45) < 1e-6
    doubtful = frames_of({8: 0.5, 2: 0.45}, {}, {})   # a reader barely for "7" does not overrule the lead
    assert [c.label for c in decode_members(np.stack([lead, doubtful]))] == ["1"]
    same = decode_members(np.stack([lead, lead]))     # readers that agree: the lead's own Chars
    assert [(c.index, c.first, c.last) for c in same] == [(c.index, c.first, c.last) for c in alone]
    assert [c.label for c in read_frames(np.stack([lead, other], axis=1))] == ["7"]  # (T, members, CLASSES)
    assert [c.label for c in read_frames(lead)] == ["1"]


def test_a_reading_is_as_sure_as_its_text():
    """read_frames gives every symbol the probability of the whole text (summed over its CTC paths) that
    the least convinced reader gives it; the symbol's own frame does not count."""
    lead = frames_of({3: 0.99}, {}, {5: 0.7, 2: 0.25})  # "2" sure, then "4" or "1"
    chars = read_frames(lead)
    assert [c.label for c in chars] == ["2", "4"]
    text = tuple(c.index for c in chars)
    assert [c.confidence for c in chars] == pytest.approx([float(np.exp(log_likelihood(lead, text)))] * 2)
    assert chars[0].confidence < 0.75 < decode_best(lead)[0].confidence  # the sure "2" shares the row's doubt
    sure = frames_of({3: 0.99}, {}, {5: 0.99})
    doubtful = frames_of({3: 0.99}, {}, {5: 0.6, 2: 0.35})
    alone = read_frames(sure)[0].confidence
    both = read_frames(np.stack([sure, doubtful], axis=1))
    assert [c.label for c in both] == ["2", "4"]
    assert both[0].confidence == pytest.approx(float(np.exp(log_likelihood(doubtful, text))))
    assert both[0].confidence < alone
    assert read_frames(np.stack([sure, sure], axis=1))[1].confidence == pytest.approx(alone)


def test_a_file_of_several_readers_is_read_as_one(kit, tmp_path):
    (tmp_path / "digits.onnx").write_bytes(kit["with_numbers"].read_bytes())
    build_numbers(tmp_path / NUMBERS_FILE, members=3)
    reader = NumberReader(tmp_path / NUMBERS_FILE)
    ink = blobs(at=(30, 130)).astype(np.float32) / 255
    (made, chars), = reader.read([ink])
    assert [c.label for c in chars] == [str(DIGIT)] * 2
    assert reader.frames([made])[0].shape == (made.frames, 3, CLASSES)
    assert recognize.read(Predictor(tmp_path / "digits.onnx"), blobs(at=(30, 130))).number == str(DIGIT) * 2


def test_a_page_of_separate_digits_stays_with_the_digit_model(kit):
    """More digit pieces than a row of digits holds (app.cuts.MAX_DIGITS): the narrow ones are not
    also sent to the number reader, so that the read costs what it did without it."""
    from app import cuts

    predictor = Predictor(kit["with_numbers"])
    calls = []
    read = predictor.numbers.read
    predictor.numbers.read = lambda inks: calls.append(len(inks)) or read(inks)

    def row(n):
        return blobs(at=tuple(10 + 100 * i for i in range(n)), bridge=False, width=100 * n + 20)

    assert recognize.read(predictor, row(cuts.MAX_DIGITS)).number == "3" * cuts.MAX_DIGITS
    assert calls == [cuts.MAX_DIGITS]
    assert recognize.read(predictor, row(cuts.MAX_DIGITS + 1)).number == "3" * (cuts.MAX_DIGITS + 1)
    assert calls == [cuts.MAX_DIGITS]
