"""A desk, a shadow's band or a thumb along a photo's edge dropped (app.desk), through app.preprocess.to_ink:
and writing that reaches the edge (a tight crop, a digit touching the desk) kept."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.preprocess import INK_THRESHOLD, to_ink, to_model_input
from tests.app.pictures import distance, jpeg_photo, ring


def test_photo_with_the_desk_showing_at_the_edges():
    ink = ring() / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    photo[:, :25] = 30  # dark desk along the left edge ...
    photo[-20:, :] = 35  # ... and the bottom
    assert distance(to_model_input(photo.astype(np.uint8)), to_model_input(ring())) < 0.02


@pytest.mark.parametrize("gap", [0, 1])
@pytest.mark.parametrize("one_at", ["left", "right"])
def test_number_cropped_to_its_ink_keeps_a_one_along_its_side(one_at, gap):
    """A 1 along a tight crop's side lies there as a desk would; the digit reaching the other side says
    the picture is cropped to its writing. With a column of paper beside it (a faint edge below the
    ink's threshold), it is no desk's band left clear of the side either."""
    image = Image.new("L", (110, 100), 0)
    draw = ImageDraw.Draw(image)
    bar, zero = (((gap, 0, 11, 99), (40, 0, 109 - gap, 99)) if one_at == "left"
                 else ((98, 0, 109 - gap, 99), (gap, 0, 69, 99)))
    draw.rectangle(bar, fill=255)
    draw.ellipse(zero, outline=255, width=12)
    image = np.asarray(image)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_a_pens_one_along_a_tight_crop_stays_beside_a_shorter_digit():
    """The 1 is the number's tallest digit, so only it meets the crop's top and bottom; a pen's 1 leans, so
    no column of it is inked from top to bottom, as a desk's band would be."""
    image = Image.new("L", (110, 100), 0)
    draw = ImageDraw.Draw(image)
    draw.line([(10, 0), (0, 99)], fill=255, width=12)
    draw.ellipse((40, 12, 109, 87), outline=255, width=12)
    image = np.asarray(image)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_desk_is_dropped_though_a_line_stub_reaches_the_other_side():
    ink = ring() / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    photo[:, :25] = 30  # the desk along the left edge
    photo[150:153, -30:] = 60  # what is left of a ruled line at the right edge: flat
    expected = 200 * (1 - ink) + 40 * ink
    expected[150:153, -30:] = 60
    assert distance(to_model_input(photo.astype(np.uint8)), to_model_input(expected.astype(np.uint8))) < 0.02


@pytest.mark.parametrize("stub", [False, True])
@pytest.mark.parametrize("side", ["top", "left"])
def test_writing_that_touches_the_desk_is_kept(side, stub):
    """A digit written to the page's edge touches the desk beside it: one blob, so dropping the desk
    dropped the digit too. The desk's band is cut off along its edge instead; also when a stub of a
    ruled line is left on the page, which is no digit (it counted as one, and the digit went with the desk)."""
    ink = ring(box=(100, 40, 170, 220)) / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    photo[:45] = 30  # the desk, reaching into the ring's top
    if side == "left":
        photo, ink = photo.T.copy(), ink.T
    if stub:  # flat, as ruled paper's lines run
        photo[250:252, 200:260] = 60
    got = to_ink(jpeg_photo(photo))
    desk = (slice(0, 45), slice(None)) if side == "top" else (slice(None), slice(0, 45))
    assert not (got[desk] > INK_THRESHOLD).any()
    visible = ink.copy()
    visible[desk] = 0
    assert ((got > INK_THRESHOLD) & (visible > 0.99)).sum() > 0.95 * (visible > 0.99).sum()


def _number_beside_a_desk(band, first_touches=True):
    """(photo, ink) of four rings 18 px thick filling a page from a desk `band` px wide at the left to the
    right side, the first touching the desk; the desk as noisy as a photographed one (a tenth of each of
    its lines lighter than half ink)."""
    h, w = 300, band + 360
    ink = np.zeros((h, w))
    for k in range(4):
        x = band - (6 if first_touches else -20) + 90 * k
        ink = np.maximum(ink, ring(size=(w, h), box=(x, 80, w + 4 if k == 3 else x + 80, 220)) / 255.0)
    photo = 200 * (1 - ink) + 40 * ink
    photo[:, :band] = 70 + np.random.default_rng(0).normal(0, 35, (h, band))
    visible = ink.copy()
    visible[:, :band] = 0
    return photo, visible


@pytest.mark.parametrize("band", [60, 30])
def test_a_number_filling_the_page_keeps_the_digit_that_touches_the_desk(band):
    """A number written across the page reaches its far side, as a tight crop's writing does, so the desk's
    band it touches was not cut and its first digit went with it. A band far wider than the strokes is a
    desk, and so is one a little wider when the writing keeps clear of the sides the band runs between."""
    photo, visible = _number_beside_a_desk(band)
    got = to_ink(jpeg_photo(photo))
    assert not (got[:, : band - 2] > INK_THRESHOLD).any()
    assert ((got > INK_THRESHOLD) & (visible > 0.99)).sum() > 0.95 * (visible > 0.99).sum()


@pytest.mark.parametrize("skin", [90, 75, 135])
@pytest.mark.parametrize("pen", [12, 40])
@pytest.mark.parametrize("edge", ["bottom", "right"])
def test_a_thumb_holding_the_page_is_dropped(edge, pen, skin):
    """A thumb at the photo's edge is a solid blob the edge cuts off, far wider than a pen's strokes (or,
    beside a thick pen's, as solid and lighter than its ink): it was read as a digit beside the written
    one ("04") or, the heaviest blob, left the digit a speck. Darker skin (75 on paper at 200, the pen 40:
    an ink level about 0.75) or paler (135: under half the pen's, no ink at the edge by the frame's
    measure) was kept: a 7 with a thumb beside it read "07"."""
    ink = ring(size=(420, 300), box=(120, 40, 220, 200), width=pen) / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    yy, xx = np.mgrid[0:300, 0:420]
    thumb = ((xx - 330) / 50.0) ** 2 + ((yy - 315) / 75.0) ** 2 < 1  # cut off by the bottom edge
    photo[thumb] = skin
    if edge == "right":
        photo, ink, thumb = photo.T.copy(), ink.T, thumb.T
    got = to_ink(jpeg_photo(photo))
    assert not (got[thumb] > 0.5).any()
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


def test_a_thick_pens_solid_digit_the_edge_cuts_off_stays():
    """A thick pen fills a small digit's loops: solid, cut off by the edge, as wide as a thumb; but as dark
    as the writing beside it."""
    image = Image.new("L", (300, 200), 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 120, 110, 240), fill=255)  # a filled 0, cut off by the bottom edge
    draw.ellipse((150, 30, 250, 170), outline=255, width=30)
    image = np.asarray(image)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_a_stroke_the_edge_cuts_off_stays_beside_the_writing():
    """A 1 as wide as the other strokes, cut off by the edge, fills its box and meets the edge along all
    its width, as a thumb does; but it is no wider than the writing's strokes."""
    image = Image.new("L", (300, 200), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 100, 56, 199), fill=255)  # a 1's foot, cut off by the bottom edge
    draw.ellipse((120, 30, 220, 170), outline=255, width=16)
    image = np.asarray(image)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_a_fives_thick_bar_along_a_tight_crop_stays():
    """Cropped to its ink, a 5 whose bar was pressed harder runs corner to corner along the top, inked line
    after line and wider than its other strokes, as a narrow desk's band would; but its bowl meets the
    crop's sides, as the writing beyond a desk keeps clear of them."""
    five = Image.new("L", (100, 140), 0)
    draw = ImageDraw.Draw(five)
    draw.rectangle((0, 0, 99, 21), fill=255)
    draw.line([(6, 10), (6, 70)], fill=255, width=12)
    draw.arc((0, 50, 99, 139), -150, 150, fill=255, width=12)
    image = np.asarray(five)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_a_sevens_bar_along_a_tight_crop_stays():
    """Cropped to its ink, a 7's bar runs corner to corner along the top, as a desk's band would; the
    rest of the 7 reaching the bottom says it is writing."""
    seven_ = Image.new("L", (100, 140), 0)
    ImageDraw.Draw(seven_).line([(0, 6), (99, 6), (40, 139)], fill=255, width=13)
    image = np.asarray(seven_)
    np.testing.assert_allclose(to_ink(255 - image), image / 255.0, atol=0.02)


def test_a_desk_beside_a_digit_that_fills_the_photo_is_dropped():
    """The digit reaches the side opposite the desk, as a tight crop's writing does; but the band is
    far wider than the digit's strokes, as no tight crop's 1 is."""
    ink = ring(box=(90, 60, 190, 280)) / 255.0  # reaches the bottom edge
    photo = 200 * (1 - ink) + 40 * ink
    photo[:45] = 70  # the desk along the top, clear of the digit
    got = to_ink(jpeg_photo(photo))
    assert not (got[:45] > INK_THRESHOLD).any()
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


@pytest.mark.parametrize("side", ["top", "left"])
def test_a_solid_desk_band_as_wide_as_the_strokes_is_dropped(side):
    """A thick pen's digit reaching the side opposite a desk as narrow as its strokes: a tight crop's 1 would
    be as wide, but a pen's 1 is never inked straight across the picture line after line, and the digit
    keeps clear of the sides the band runs between."""
    ink = ring(box=(90, 60, 190, 280), width=26) / 255.0  # reaches the bottom edge
    photo = 200 * (1 - ink) + 40 * ink
    photo[:30] = 70  # the desk along the top, clear of the digit
    if side == "left":
        photo, ink = photo.T.copy(), ink.T
    got = to_ink(jpeg_photo(photo))
    desk = (slice(0, 30), slice(None)) if side == "top" else (slice(None), slice(0, 30))
    assert not (got[desk] > INK_THRESHOLD).any()
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


@pytest.mark.parametrize("corner", ["bottom", "top"])
def test_a_solid_desk_band_is_dropped_beside_a_big_digit_in_a_corner(corner):
    """A big digit in a photo's corner reaches the side opposite a desk as narrow as its strokes and one of
    the sides the band runs between: a tight crop's writing would meet both, as the band does; kept, the
    desk read as a 1 beside it ("01")."""
    ink = ring(box=(150, 120, 280, 280) if corner == "bottom" else (150, 0, 280, 160), width=26) / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    photo[:, :30] = 70  # the desk along the left, clear of the digit
    got = to_ink(jpeg_photo(photo))
    assert not (got[:, :30] > INK_THRESHOLD).any()
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


def test_a_desk_band_clear_of_its_side_is_dropped():
    """A desk wider than a block of the paper's map: its outer part is taken for paper, and what is left
    is a band from corner to corner near the side but clear of it, which read as a digit's stroke."""
    ink = ring(box=(100, 30, 170, 190)) / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    photo[230:266] = 70  # the band left of the desk, clear of the bottom
    got = to_ink(photo.astype(np.uint8))
    assert not (got[225:272] > INK_THRESHOLD).any()
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


def test_a_desk_band_fading_into_the_paper_map_is_dropped():
    """What the paper's map leaves of a wide desk fades toward the side, and its edge, where the fade
    crosses the ink's threshold, is ragged with the photo's noise: solid all the same."""
    ink = ring(box=(100, 30, 170, 190)) / 255.0
    photo = 200 * (1 - ink) + 40 * ink
    fade = np.linspace(70, 200, 40)[:, None] + np.random.default_rng(0).normal(0, 12, (40, 280))
    photo[225:265] = fade  # clear of the bottom, as the map's paper
    got = to_ink(jpeg_photo(photo))
    assert (got[220:] > INK_THRESHOLD).mean() < 0.01  # at most specks of its edge, left for drop_specks
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


def test_a_faint_fading_band_beside_a_digit_that_fills_the_photo_is_dropped():
    """The fading band lies clear of its side, and a thick pen's digit reaches the side opposite it: the band
    is judged solid from its first inked line, and found though little of it is half ink."""
    ink = ring(box=(90, -20, 190, 200), width=26) / 255.0  # reaches the top edge
    photo = 200 * (1 - ink) + 40 * ink
    fade = np.linspace(120, 200, 40)[:, None] + np.random.default_rng(0).normal(0, 12, (40, 280))
    photo[225:265] = fade  # clear of the bottom, as the map's paper
    got = to_ink(jpeg_photo(photo))
    assert (got[220:] > INK_THRESHOLD).mean() < 0.02  # at most specks of its edge
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()


@pytest.mark.parametrize("lift", [0, 10])
def test_a_row_of_touching_digits_across_the_bottom_is_writing(lift):
    """"7777" whose bars touch, cropped to its width: corner to corner and low in the picture (also clear
    of the bottom), as such a band is, but strokes with holes between them: kept."""
    row = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(row)
    for k in range(4):
        draw.line([(k * 70, 220), (k * 70 + 69, 220), (k * 70 + 40, 272 - lift)], fill=255, width=10)
    ink = np.maximum(np.asarray(row), ring(box=(100, 20, 170, 180))) / 255.0  # and a line above it
    got = to_ink((200 * (1 - ink) + 40 * ink).astype(np.uint8))
    assert ((got > INK_THRESHOLD) & (ink > 0.99)).sum() > 0.95 * (ink > 0.99).sum()
