"""The world around a photographed page: a desk or a shadow along an edge of the picture, dropped.

`drop_frame` takes an ink map (app.preprocess) and removes blobs lying along a side that are no
writing: a blob covering FRAME_SHARE of a side, a solid band of a desk fading into the paper's map, and
a desk's band where writing touches it (cut away, the writing kept), and a thumb holding the page.
Writing cropped to its ink reaches every side and stays.
"""
import numpy as np

from app import components
from app.raster import INK_THRESHOLD, component_mask, stroke_width

FRAME_SHARE = 0.5  # a blob along this much of an edge is the desk around the paper
DESK_COVER = 0.85  # lines inked across this share of the picture, from a side inwards, are a desk's band
                   # (a photographed desk is noisy: at 0.95 a tenth of light pixels broke its band)
OUTER = 0.25  # a desk's band left clear of its side by the paper's map lies within this share of the picture
CLEAR = 0.02  # ... and this share of it from the side at least
DESK_WIDER = 2.0  # a frame blob this many times as wide as the writing's strokes is no stroke of a tight crop ...
BAND_WIDER = 1.4  # ... nor one this many times as wide when the writing keeps clear of the sides it runs between
SOLID = 0.5  # ... nor one whose lines from the side inwards are this share of it inked across the picture
EDGE_INK = 0.05  # a picture whose sides are inked along less than this share of them holds no thumb
THUMB_TOUCH = 0.6  # a thumb at the edge meets it along this share of its own extent there, or more ...
THUMB_FILL = 0.5  # ... fills this share of its box, or more ...
THUMB_WIDER = 2.0  # ... and is this many times as wide as the writing's strokes: no digit of the same pen ...
SOLID_FILL = 0.65  # ... or fills this share of its box (a thick pen's digit with its loops filled: 0.5-0.7) ...
THUMB_LEVEL = 0.2  # ... and its ink level differs from the writing's by this much: skin is no pen's ink
                   # (at 0.25, thumbs 0.24 lighter than a thick pen's digit stayed and read as a 0)


def drop_frame(ink, cut=True):
    """Remove blobs lying along an edge (desk or shadow around a photographed page).

    A blob that covers FRAME_SHARE of one side of the picture is taken for the
    world outside the paper, provided a digit-sized blob remains without it that keeps
    clear of the opposite side; writing cropped to its ink (one digit, or a number whose
    digits reach across the picture) stays. Without such a blob, a thumb holding the page is
    dropped (_drop_thumbs). Returns (ink, its labelling or None when it did not need one).
    """
    sides = (ink[0], ink[-1], ink[:, 0], ink[:, -1])
    edge = max(float((side > 0.5).mean()) for side in sides)
    if edge < FRAME_SHARE and not _loose_band(ink):
        # Any ink counts here: a thumb in bright light is paler than half the pen's darkness.
        if max(float((side > INK_THRESHOLD).mean()) for side in sides) < EDGE_INK:
            return ink, None
        return _drop_thumbs(ink, components.label(ink > INK_THRESHOLD, ink))
    if cut:  # writing that touches the desk is one blob with it: all of it, or a number's first digit
        banded = _cut_desk_bands(ink)
        if banded is not ink:
            return drop_frame(banded, cut=False)
    found = components.label(ink > INK_THRESHOLD, ink)
    labels = found.labels
    frame = np.zeros(found.count + 1, bool)
    along = []  # the sides (top, bottom, left, right) that frame blobs lie along
    (h, w), (x0, y0, x1, y1) = ink.shape, found.boxes.T
    loose = _loose_bands(found, (h, w))
    for index, (ids, counts) in enumerate(_along_sides(labels)):
        wide = np.union1d(ids[counts >= FRAME_SHARE * (w if index < 2 else h)], loose[index])
        frame[wide] = True
        along += [index] * bool(len(wide))
    rest = ~frame[1:]
    remains = rest & _digit_sized(found, (h, w))
    # Writing cropped to its ink reaches across: a number's 1 lies along the left side, and its last digit,
    # half the picture's height or more, touches the right. A desk lies along one side of a page whose
    # writing keeps clear of the other (a stub of a ruled line may reach it, but it is flat).
    opposite = ((y1 == h), (y0 == 0), (x1 == w), (x0 == 0))
    across = remains & (y1 - y0 >= 0.5 * h)
    if not remains.any():
        return ink, found
    # A band along the side far wider than the writing's strokes is a desk even when the writing reaches
    # the opposite side (a digit filling the photo); a tight crop's 1 there is as wide as its neighbours.
    # So is a band as wide as the strokes but solid, while the writing keeps clear of one of the sides it
    # runs between: a pen's 1 is never that straight, and a tight crop's writing meets both those sides
    # (a big digit of a photo, reaching the side opposite the desk, meets one of them at most).
    ends = ((x0 == 0, x1 == w), (x0 == 0, x1 == w), (y0 == 0, y1 == h), (y0 == 0, y1 == h))
    desk = frame[labels]
    if any(opposite[index][across].any() for index in along) \
            and stroke_width(desk) <= DESK_WIDER * stroke_width(rest[labels - 1] & (labels > 0)) \
            and not any(_solid_band(desk, index) and not all(end[remains].any() for end in ends[index])
                        for index in along):
        return ink, found
    return np.where(desk, np.float32(0), ink), components.subset(found, rest)


def _drop_thumbs(ink, found):
    """(ink, labelling) without the solid blobs cut off by the picture's edge (a thumb or finger holding the
    page) where writing remains beside them: blobs far wider than the writing's strokes, or filling
    their box at an ink level far from the writing's."""
    (h, w), labels = ink.shape, found.labels
    x0, y0, x1, y1 = found.boxes.T
    cut_off = np.zeros(found.count, bool)
    for index, (ids, counts) in enumerate(_along_sides(labels)):
        extent = (x1 - x0 if index < 2 else y1 - y0)[ids - 1]  # each blob's extent along that side
        cut_off[ids - 1] |= counts >= THUMB_TOUCH * extent
    area = np.bincount(labels.ravel(), minlength=found.count + 1)[1:]
    blobs = cut_off & (area >= THUMB_FILL * (x1 - x0) * (y1 - y0))
    writing = ~blobs & _digit_sized(found, (h, w))
    if not blobs.any() or not writing.any():
        return ink, found
    written = np.isin(labels, np.flatnonzero(writing) + 1)
    pen, level = stroke_width(written), float(np.median(ink[written][::max(1, int(written.sum()) // 20_000)]))

    def thumb(i):
        mask = component_mask(found, i)
        if stroke_width(mask) >= THUMB_WIDER * pen:
            return True
        left, top, right, bottom = found.boxes[i]
        return area[i] >= SOLID_FILL * mask.size \
            and abs(float(np.median(ink[top:bottom, left:right][mask])) - level) >= THUMB_LEVEL

    thumbs = np.array([bool(b) and thumb(i) for i, b in enumerate(blobs)], bool)
    if not thumbs.any():
        return ink, found
    return np.where(np.concatenate(([False], thumbs))[labels], np.float32(0), ink), components.subset(found, ~thumbs)


def _along_sides(labels):
    """Per side (top, bottom, left, right): the labels of the blobs meeting it and how many of its pixels each
    covers (np.unique's ids and counts)."""
    return [np.unique(line[line > 0], return_counts=True)
            for line in (labels[0], labels[-1], labels[:, 0], labels[:, -1])]


def _digit_sized(found, shape):
    """Per blob, whether it is as tall as a digit: a fiftieth of the picture. A stub of a ruled line the rules
    left beside a desk is as long but flat, and counting it kept a digit that touched the desk inside the
    dropped blob."""
    return found.boxes[:, 3] - found.boxes[:, 1] >= max(5, 0.02 * max(shape))


def _solid_band(mask, side):
    """Whether the frame blobs `mask` (bool) along `side` (0 top, 1 bottom, 2 left, 3 right) are a desk's
    band: from the first line inked toward that side inwards, as long as lines are inked, SOLID of them
    or more inked across DESK_COVER of the picture (a desk's edge is straight; the 1 of a writing cropped
    to its ink has no such lines). A band fading into the paper's map lies clear of its side."""
    cover = (mask, mask[::-1], mask.T, mask.T[::-1])[side].mean(axis=1)
    start = _leading(cover == 0)
    return start < len(cover) and _solid(cover[start : start + _leading(cover[start:] > 0)])


def _solid(cover):
    """Whether SOLID of the lines whose inked shares are `cover` are inked across DESK_COVER."""
    return bool((np.asarray(cover) >= DESK_COVER).mean() >= SOLID)


def _loose_band(ink):
    """Whether a line within OUTER of the picture from a side is inked across DESK_COVER of it (cheap): at
    the threshold _loose_bands' blobs are drawn at, as a band fading into the paper's map is faint."""
    inked = ink > INK_THRESHOLD
    for axis in (1, 0):
        cover = inked.mean(axis=axis)
        reach = max(1, int(OUTER * len(cover)))
        if (cover[:reach] >= DESK_COVER).any() or (cover[-reach:] >= DESK_COVER).any():
            return True
    return False


def _loose_bands(found, shape):
    """Per side (top, bottom, left, right), the blobs (labels) that are a desk's band clear of that side: a
    desk wider than a block of the paper's map has its outer part taken for paper, and what is left runs
    corner to corner within OUTER of the picture from the side, solid (SOLID of its lines inked across
    DESK_COVER of it, though its soft edge is ragged; a row of touching digits has holes)."""
    h, w = shape
    x0, y0, x1, y1 = found.boxes.T
    out = []
    sides = ((1, y0, y1, h, (x0 == 0) & (x1 == w)), (0, x0, x1, w, (y0 == 0) & (y1 == h)))
    for across, lo, hi, size, length in sides:  # top and bottom bands (their rows across), then left and right
        flat = length & (hi - lo <= OUTER * size)
        # Clear of the side (by CLEAR of the picture): a tight crop's 1 runs corner to corner along it, as
        # solid, but touches it or all but (its faint edge below the ink's threshold).
        gap = CLEAR * size
        for near in ((lo >= gap) & (hi <= OUTER * size), (hi <= size - gap) & (lo >= (1 - OUTER) * size)):
            solid = [i + 1 for i in np.flatnonzero(flat & near)
                     if _solid(component_mask(found, i).mean(axis=across))]
            out.append(np.array(solid, np.int64))
    return out


def _cut_desk_bands(ink):
    """`ink` with a desk's band cut away along each side where writing on the page touches it (`ink`
    itself when there is none).

    A desk beside the page is a band of ink from corner to corner along one side (every line of it
    inked across DESK_COVER of the picture), and writing that touches it joins it into one blob, so
    dropping the blob dropped the digit. The band (and its soft edge, lines inked across half the
    picture) is cut where the ink beyond it keeps clear of the opposite side (writing cropped to its
    ink reaches every side, and a 7's bar along the top of such a crop stays), or where the band is
    wider than the writing's strokes (DESK_WIDER; BAND_WIDER while the writing keeps clear of the
    sides the band runs between).
    """
    strong = ink > 0.5
    for axis, flip in ((0, False), (0, True), (1, False), (1, True)):
        cover = strong.mean(axis=1 - axis)  # per line parallel to the side
        if flip:
            cover = cover[::-1]
        if cover[0] < DESK_COVER:
            continue
        full = _leading(cover >= DESK_COVER)
        soft = (ink > INK_THRESHOLD).mean(axis=1 - axis)[::-1 if flip else 1]
        edge = full + _leading(soft[full:] >= 0.5)
        if full < 3 or edge >= len(cover):
            continue
        lines = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1 - axis))
        far = (len(cover) - 1 - lines[0]) if flip else lines[-1]
        cut = slice(len(cover) - edge, None) if flip else slice(0, edge)
        # The writing reaches the opposite side: cropped to its ink (a 7's bar along the top stays), unless
        # the band is far wider than the writing's strokes (a number filling the page, its first digit
        # touching the desk), or a little wider while the writing keeps clear of the sides the band runs
        # between (a cropped 5's bowl meets them).
        if far == len(cover) - 1:
            beyond = ink > INK_THRESHOLD
            beyond[cut if axis == 0 else (slice(None), cut)] = False
            ends = (beyond[:, 0], beyond[:, -1]) if axis == 0 else (beyond[0], beyond[-1])
            wider = DESK_WIDER if any(end.any() for end in ends) else BAND_WIDER
            if full <= wider * stroke_width(beyond):
                continue
        ink = ink.copy()
        if axis == 0:
            ink[cut] = 0
        else:
            ink[:, cut] = 0
        strong = ink > 0.5
    return ink


def _leading(flags):
    """How many of the booleans `flags` are True before the first False."""
    return len(flags) if flags.all() else int(np.argmin(flags))
