"""Tests of alnus.simulate.screen: the scanner screen around the B-mode image."""

import dataclasses
import datetime as dt

import numpy as np
import pytest

from alnus import simulate as sim


def exam(site):
    """A fixed fake exam at `site`, for the screen and the DICOM header."""
    return sim.Exam(
        patient_id="MRN7654321",
        family="TESTCASE",
        given="EXAMPLE",
        birth_date=dt.date(1960, 5, 17),
        institution=site.institutions[0],
        accession="ACC2017123456",
        exam_date=dt.date(2017, 3, 2),
        exam_time="10:11:12",
        physician="DR^SOMEONE^ELSE",
        operator="SONOGRAPHER^ANNA",
        laterality="L",
        clock=2,
        depth_cm=4.0,
    )


@pytest.mark.parametrize("site_name", sorted(sim.SITES))
def test_draw_screen_places_bmode_inside_screen(site_name):
    site = sim.SITES[site_name]
    rng = np.random.default_rng(5)
    size = (site.bmode_width[1], site.bmode_height[1])
    bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 0), size, site=site)
    screen, (x0, y0, x1, y1) = sim.draw_screen(rng, bmode, exam(site), site=site)
    assert screen.shape == (site.screen[1], site.screen[0], 3)
    assert (x1 - x0 + 1, y1 - y0 + 1) == size
    # The B-mode pixels are pasted unchanged, except where calipers and notes are drawn on them.
    inside = screen[y0 : y1 + 1, x0 : x1 + 1, 0]
    assert np.mean(inside == bmode.pixels) > 0.97
    # PHI is burned into the margins, not into the B-mode image.
    margin = screen.copy()
    margin[y0 : y1 + 1, x0 : x1 + 1] = 0
    assert (margin[:y0] > 150).any()


def test_draw_screen_rejects_bmode_too_large_for_screen():
    site = sim.SITES["hospital_A"]
    rng = np.random.default_rng(6)
    bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 0), (560, 440), site=site)
    with pytest.raises(ValueError, match="does not fit the 640x480 screen of hospital_A"):
        sim.draw_screen(rng, bmode, exam(site), site=site)


def test_draw_screen_rejects_an_unknown_layout():
    site = dataclasses.replace(sim.SITES["hospital_A"], layout="sidebar")
    rng = np.random.default_rng(6)
    bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 0), (380, 300), site=site)
    with pytest.raises(
        ValueError, match=r"site 'hospital_A': `layout` must be one of banner_top, header_left, got 'sidebar'"
    ):
        sim.draw_screen(rng, bmode, exam(site), site=site)


@pytest.mark.parametrize("site_name", sorted(sim.SITES))
def test_draw_screen_does_not_look_at_the_site_name(site_name):
    """What a site looks like is in its fields: renamed, it draws the same screen."""
    site = sim.SITES[site_name]
    renamed = dataclasses.replace(site, name="hospital_Z")
    screens = []
    for s in (site, renamed):
        rng = np.random.default_rng(7)
        bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 1), (site.bmode_width[0], site.bmode_height[0]), site=s)
        screens.append(sim.draw_screen(rng, bmode, exam(s), site=s))
    assert np.array_equal(screens[0][0], screens[1][0]) and screens[0][1] == screens[1][1]
