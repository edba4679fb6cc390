"""The paper's map raised over a shadow across the page, and nowhere else."""

import numpy as np
from PIL import Image

from app import shadows


def page(shadowed=True, seed=0):
    """Grey levels of a photo already turned so ink is light (paper ~20, ink ~220): a ring of ink, and
    the right half of the page 90 levels darker (so higher here) beyond a soft edge."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:300, 0:400]
    grey = 20 + rng.normal(0, 5, (300, 400))
    if shadowed:
        grey += 90 / (1 + np.exp(-(xx - 200) / 8))
    ring = np.abs(np.hypot(xx - 100, yy - 150) - 60) < 8
    return np.where(ring, 220.0, grey).astype(np.float32)


def flat_map(grey):
    return np.full((8, 8), float(np.percentile(grey, 10)), np.float32)


def test_no_shadow_leaves_the_map_alone():
    grey = page(shadowed=False)
    surface = flat_map(grey)
    assert shadows.raised(grey, surface, 220.0) is surface


def test_the_map_follows_a_shadow_to_its_edge():
    grey = page()
    raised = shadows.raised(grey, flat_map(grey), 220.0)
    full = np.asarray(Image.fromarray(raised, "F").resize((400, 300), Image.Resampling.BILINEAR))
    assert np.all(full[:, 260:] > 100 - shadows.LIFT_MARGIN - 8)  # beyond the edge: the shadow's paper
    assert np.all(full[:, :150] < 30)  # the lit side (and the ring on it) keep the lit paper's level


def test_a_desk_as_dark_as_the_pen_is_no_shadow():
    grey = page(shadowed=False)
    grey[:, 340:] = 210  # a desk beside the page, nearly the pen's level
    surface = flat_map(grey)
    assert shadows.raised(grey, surface, 220.0) is surface


def test_a_stroke_from_the_shadow_into_the_light_keeps_its_ink():
    """The reconstruction climbs along a stroke that crosses the shadow's edge; the map under the
    stroke's lit part must stay the lit paper's, or that part fades."""
    grey = page()
    grey[246:254, 120:320] = 220.0  # a bar across the edge
    raised = shadows.raised(grey, flat_map(grey), 220.0)
    full = np.asarray(Image.fromarray(raised, "F").resize((400, 300), Image.Resampling.BILINEAR))
    assert np.all(full[246:254, 125:165] < 30)


def test_only_the_shadow_is_raised():
    """A corner darker by less than SHADOW_STEP (a vignette) is left to the coarse map, a shadow
    elsewhere on the page or not."""
    grey = page()
    yy, xx = np.mgrid[0:300, 0:400]
    grey += (40 * np.clip(1 - np.hypot(xx, yy) / 120, 0, 1)).astype(np.float32)  # the top left corner
    surface = flat_map(grey)
    raised = shadows.raised(grey, surface, 220.0)
    assert np.allclose(raised[:4, :4], surface[0, 0])
