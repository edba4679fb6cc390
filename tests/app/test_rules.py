"""Ruled and squared paper: the printed lines are erased, the digits and everything else are not."""

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.predictor import Predictor
from app.preprocess import INK_THRESHOLD, to_ink, to_model_input
from app.recognize import read
from app.rules import remove_rules
from tests.app.pictures import distance, ring, seven

PAPER, LINE, INK = 245.0, 175.0, 30.0


def notebook(ink, spacing=36, offset=11, level=LINE, width=2, squared=False, tilt=0.0):
    """`ink` (uint8, white on black) written in dark ink on paper ruled every `spacing` pixels."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ruled = ((yy - xx * math.tan(math.radians(tilt)) - offset) % spacing) < width
    if squared:
        ruled |= ((xx + yy * math.tan(math.radians(tilt)) - offset) % spacing) < width
    paper = np.where(ruled, level, PAPER)
    a = ink / 255.0
    return (paper * (1 - a) + INK * a).astype(np.uint8)


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("level", [LINE, INK], ids=["light lines", "lines as dark as the ink"])
def test_lines_of_ruled_and_squared_paper_are_erased(squared, level):
    clean = to_model_input(ring())
    assert distance(to_model_input(notebook(ring(), level=level, squared=squared)), clean) < 0.02


def test_a_tilted_photo_of_squared_paper():
    assert distance(to_model_input(notebook(ring(), squared=True, tilt=1.5)), to_model_input(ring())) < 0.02


@pytest.mark.parametrize("squared", [False, True])
def test_strokes_that_cross_a_line_keep_their_ink(squared):
    ink = to_ink(notebook(seven(), level=INK, squared=squared))
    clean = to_ink(255 - seven())
    # Every inked pixel of the 7 is still ink (the lines cross its stem and its bar, and where
    # two lines cross inside the bar, neither sees writing just beyond it).
    assert np.all(ink[clean > 0.5] > INK_THRESHOLD)


def test_lines_at_the_pictures_edges_go_too():
    ink = to_ink(notebook(ring(), offset=0, squared=True))  # lines along the top and left edges
    assert not (ink[0] > INK_THRESHOLD).any() and not (ink[:, 0] > INK_THRESHOLD).any()


def bars(positions, size=(120, 200), thickness=4, upright=True):
    """An ink map (float) of full-length bars at `positions`, upright or level."""
    ink = np.zeros(size, np.float32)
    for p in positions:
        if upright:
            ink[:, p : p + thickness] = 1.0
        else:
            ink[p : p + thickness] = 1.0
    return ink


def test_a_tightly_cropped_1111_is_not_paper():
    ink = bars([20, 70, 120, 170])
    assert remove_rules(ink, INK_THRESHOLD) is ink


@pytest.mark.parametrize("positions", [[10, 60], [10, 30, 90], [10, 40, 70]],
                         ids=["two lines", "uneven", "nothing else inked"])
def test_what_is_not_a_ruling_stays(positions):
    ink = bars(positions, upright=False)
    if positions != [10, 40, 70]:
        ink[50:60, 90:100] = 1.0  # some writing besides
    assert remove_rules(ink, INK_THRESHOLD) is ink


def test_a_line_with_a_thin_row_is_one_line():
    # Two lines (a form's box's top and bottom, say), the first 7 px thick with its middle row inked
    # along only half the width, as a thick line straightened at a tilt near its own can be: its two
    # halves and the other line once made three lines of a ruling.
    ink = bars([100, 190], size=(300, 400), thickness=4, upright=False)
    ink[104:107] = 1.0
    ink[103, 200:] = 0.0
    ink[140:170, 150:170] = 1.0  # some writing besides
    assert remove_rules(ink, INK_THRESHOLD) is ink


def test_thick_bars_are_not_lines():
    ink = bars([10, 40, 70, 100], thickness=12, upright=False)
    ink[30:34, 20:30] = 1.0
    assert remove_rules(ink, INK_THRESHOLD) is ink


def test_small_pictures_are_left_alone():
    ink = bars([2, 10, 18], size=(28, 28), thickness=1, upright=False)
    ink[5, 5] = 1.0
    assert remove_rules(ink, INK_THRESHOLD) is ink


def test_the_shipped_model_reads_a_number_on_squared_paper(shipped_model):
    canvas = np.zeros((200, 400), np.uint8)
    canvas[:, :200] = seven(size=(200, 200), at=(50, 20), height=160)
    canvas[:, 200:] = ring(size=(200, 200), box=(60, 20, 140, 180), width=14)
    predictor = Predictor(shipped_model)
    assert read(predictor, canvas).number == "70"
    assert read(predictor, notebook(canvas, squared=True, level=INK)).number == "70"


def test_a_long_tilted_line_is_straightened_whole():
    """Lines across a big JPEG photo, tilted between the searched steps: a tilt a little off breaks each
    line into several runs of rows; the right one must win all the same."""
    big = np.zeros((2048, 2048), np.uint8)
    big[600:1000] = np.asarray(ring(size=(2048, 400), box=(900, 20, 1100, 380), width=30))
    photo = io.BytesIO()
    Image.fromarray(notebook(big, spacing=60, width=3, level=150, squared=True, tilt=0.97)).save(photo, "JPEG")
    ink = remove_rules(to_ink(Image.open(photo)), INK_THRESHOLD)
    stray = ink > INK_THRESHOLD
    stray[590:1010, 890:1110] = False  # the ring's box, give or take
    assert stray.sum() < 200  # a speck or two where lines cross; the lines themselves are some 400,000 pixels


def test_lines_that_crowd_one_place_of_the_lattice():
    # Three thin lines a few pixels apart among lines far apart (a photo's edge, a page's border): the
    # lattice's fit once divided by zero here and the read ended in numpy's LinAlgError.
    ink = bars([548, 553, 561], size=(600, 400), thickness=1, upright=False)
    ink[13:27] = ink[471:485] = 1.0  # too thick for the spacing: not lines, not anchors
    ink[200:260, 180:190] = 1.0  # some writing besides
    out = remove_rules(ink, INK_THRESHOLD)
    assert out.shape == ink.shape and (out[200:260, 180:190] == 1.0).all()


def with_margin(picture, at=40, level=120.0, width=2):
    """`picture` (a notebook page, grey) with a margin line down its whole height at column `at`."""
    out = picture.astype(np.float64)
    out[:, at : at + width] = np.minimum(out[:, at : at + width], level)
    return out.astype(np.uint8)


@pytest.mark.parametrize("tilt", [0.0, 1.2])
def test_a_notebooks_margin_line_is_erased(tilt):
    """A red margin line is as dark as the pen in grey: left, it is read as a "1" beside the digit."""
    page = with_margin(notebook(ring()))
    if tilt:  # a hand-held photo: the ruling and the margin tilted together
        page = np.asarray(Image.fromarray(page).rotate(tilt, fillcolor=int(PAPER)))
    assert distance(to_model_input(page), to_model_input(ring())) < 0.02
    assert not (to_ink(page)[:, 30:55] > INK_THRESHOLD).any()


def test_a_tall_handwritten_one_on_ruled_paper_stays():
    """A 1 as tall as the photo crosses the ruled lines too, but it is no straight thin line."""
    one = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(one).line([(150, 2), (141, 140), (147, 277)], fill=255, width=9)
    ink = to_ink(notebook(np.asarray(one)))
    clean = np.asarray(one) > 127
    assert (ink[clean] > INK_THRESHOLD).mean() > 0.95


def test_a_margin_line_beside_a_digit_as_tall_as_the_photo_is_erased():
    """A big digit's thick stroke reaches from top to bottom as the margin line does, straightest at its
    own tilt: judged by it, the margin line was kept and read as a "1" beside the digit."""
    one = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(one).line([(150, 0), (159, 279)], fill=255, width=30)
    ink = to_ink(with_margin(notebook(np.asarray(one))))
    assert not (ink[:, 30:55] > INK_THRESHOLD).any()
    clean = np.asarray(one) > 127
    assert (ink[clean] > INK_THRESHOLD).mean() > 0.95


@pytest.mark.parametrize("left", [100, 150])
def test_tall_upright_strokes_on_ruled_paper_are_no_squares(left):
    """Three strokes as tall as the photo, evenly spaced, are as long, straight and regular as squared
    paper's upright lines, but spaced 2.5 times wider than the level ruling: a tall 8's two sides and
    its crossing were so erased and the 8 read "-91"."""
    strokes = Image.new("L", (420, 420), 0)
    for x in (left, left + 90, left + 180):
        ImageDraw.Draw(strokes).line([(x, 6), (x + 4, 414)], fill=255, width=9)
    ink = to_ink(notebook(np.asarray(strokes)))
    clean = np.asarray(strokes) > 127
    assert (ink[clean] > INK_THRESHOLD).mean() > 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_thin_stroke_run_along_a_faint_line_is_kept(seed):
    """A thin pen's stroke running along a faint printed line, drifting across it, lies inside the line's
    band (its blur in a photo) for a long stretch. Judged by one level for the whole line, the stroke's own
    darkness became the line's and the stroke went with it (a 2's foot, a 6's loop on squared paper)."""
    from benchmarks.pen_figures import photo  # the benchmark's phone photo: light, noise, blur, JPEG

    h = w = 420
    yy = np.mgrid[0:h, 0:w][0]
    lines = (yy - 11) % 36 < 2
    y = 11 + 36 * 6 + 1  # about one of the lines: the stroke drifts from 4 px above it to 4 px below
    stroke = Image.new("L", (w, h), 0)
    ImageDraw.Draw(stroke).line([(100, 60), (120, y - 4), (240, y + 4), (260, 380)], fill=255, width=3)
    pixels = np.maximum(np.asarray(stroke), (lines * 255 * 0.3).astype(np.uint8))
    ink = to_ink(photo(pixels, np.random.default_rng(seed)))
    along = (ink[y - 6 : y + 7, 130:230] > INK_THRESHOLD).any(axis=0)  # columns where the stroke still is
    assert along.mean() > 0.85


def test_a_lines_cross_section_is_its_rows_median_chunk_by_chunk():
    """The vectorised cross-section (all chunks at once, columns beyond the picture left out) against
    the plain definition: np.median of each row over the chunk's inked columns, then the most of each row
    and its neighbours."""
    from app.rules import CHUNK, _cross_section

    rng = np.random.default_rng(0)
    for _ in range(100):
        rows, w = int(rng.integers(1, 12)), int(rng.integers(1, 3 * CHUNK))
        band = (rng.random((rows, w)) * (rng.random((rows, w)) > 0.5)).astype(np.float32)
        band[:, rng.random(w) < 0.3] = 0  # columns the line is not in
        expected = np.zeros_like(band)
        for x in range(0, w, CHUNK):
            part = band[:, x : x + CHUNK]
            present = part[:, part.max(axis=0) > 0]
            level = np.median(present, axis=1) if present.size else np.zeros(rows, np.float32)
            near = level.copy()
            near[1:] = np.maximum(near[1:], level[:-1])
            near[:-1] = np.maximum(near[:-1], level[1:])
            expected[:, x : x + CHUNK] = near[:, None]
        np.testing.assert_allclose(_cross_section(band), expected, atol=1e-6)
