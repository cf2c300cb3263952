"""Tests of alnus.simulate.bmode: B-mode rendering."""

import cv2
import numpy as np
import pytest

from alnus import simulate as sim


@pytest.mark.parametrize("sector", [False, True])
def test_render_bmode_shape_and_lesion(sector):
    lesion = sim.sample_lesion(np.random.default_rng(2), 1)
    bmode = sim.render_bmode(np.random.default_rng(3), lesion, (300, 240), sector=sector)
    assert bmode.pixels.shape == bmode.valid.shape == bmode.lesion_mask.shape == (240, 300)
    assert bmode.pixels.dtype == np.uint8
    assert (bmode.pixels[~bmode.valid] == 0).all()
    assert bmode.valid.all() != sector
    x, y, w, h = bmode.lesion_box
    assert 0 <= x and x + w <= 300 and 0 <= y and y + h <= 240
    assert 0.1 * 300 <= w <= 0.5 * 300
    # The lesion is hypoechoic against its surroundings.
    assert bmode.pixels[bmode.lesion_mask].mean() < bmode.pixels[bmode.valid & ~bmode.lesion_mask].mean()
    again = sim.render_bmode(np.random.default_rng(3), lesion, (300, 240), sector=sector)
    assert np.array_equal(again.pixels, bmode.pixels)


def test_render_bmode_rejects_tiny_size():
    lesion = sim.sample_lesion(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match=r"`size` must be at least \(64, 64\) pixels, got \(40, 300\)"):
        sim.render_bmode(np.random.default_rng(0), lesion, (40, 300))


def test_positive_lesions_render_darker_and_larger():
    """A small version of the signal check: the cues survive rendering."""
    rng = np.random.default_rng(4)
    stats = {0: [], 1: []}
    for label in (0, 1) * 12:
        bmode = sim.render_bmode(rng, sim.sample_lesion(rng, label), (200, 170))
        around = bmode.valid & ~bmode.lesion_mask
        stats[label].append(
            (bmode.lesion_mask.mean(), bmode.pixels[bmode.lesion_mask].mean() / bmode.pixels[around].mean())
        )
    area = {k: np.mean([s[0] for s in v]) for k, v in stats.items()}
    contrast = {k: np.mean([s[1] for s in v]) for k, v in stats.items()}
    assert area[1] > area[0]
    assert contrast[1] < contrast[0]


def test_sites_differ_in_brightness_and_speckle():
    """The external site is a visible domain shift: brighter, with coarser speckle."""
    lesion = sim.sample_lesion(np.random.default_rng(9), 0)
    seen = {}
    for name, site in sim.SITES.items():
        pixels = sim.render_bmode(np.random.default_rng(10), lesion, (400, 340), site=site).pixels.astype(float)
        detail = pixels - cv2.GaussianBlur(pixels, (0, 0), 4)
        lateral = np.corrcoef(detail[:, :-2].ravel(), detail[:, 2:].ravel())[0, 1]
        seen[name] = pixels.mean(), lateral
    assert seen["hospital_B"][0] > seen["hospital_A"][0] + 10
    assert seen["hospital_B"][1] > seen["hospital_A"][1] + 0.1
