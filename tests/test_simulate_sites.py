"""Tests of alnus.simulate.sites and alnus.simulate.exams: the site catalogue
and the fake patients' IDs, names and folders it shapes."""

import dataclasses
import re

import numpy as np
import pytest

from alnus import simulate as sim
from alnus.simulate.exams import PHI_KINDS, make_exams, phi_lists, source_folder
from alnus.simulate.screen import LAYOUTS

NAMES = [("SILVA", "MARIA"), ("TANAKA", "YUKIKO"), ("NIELSEN", "ASTRID")]


@pytest.mark.parametrize("site_name", sorted(sim.SITES))
def test_every_site_is_complete_and_named_by_its_key(site_name):
    site = sim.SITES[site_name]
    assert site.name == site_name
    assert site.layout in LAYOUTS
    assert site.bmode_width[1] < site.screen[0] and site.bmode_height[1] < site.screen[1]


@pytest.mark.parametrize(
    "site_name, patient_id, accession, folder",
    [
        ("hospital_A", r"MRN\d{7}", r"ACC20(16|17)\d{6}", "{patient_id}_SILVA_MARIA"),
        ("hospital_B", r"HB\d{8}", r"RX\d{8}", "SILVA_MARIA_{patient_id}"),
    ],
)
def test_ids_and_folders_follow_the_site_formats(site_name, patient_id, accession, folder):
    site = sim.SITES[site_name]
    used: set[str] = set()
    exams = make_exams(np.random.default_rng(1), site, NAMES, used)
    assert [(e.family, e.given) for e in exams] == NAMES
    for e in exams:
        assert len(e.patient_id) == 10  # the same length at both sites
        assert re.fullmatch(patient_id, e.patient_id)
        assert re.fullmatch(accession, e.accession)
        assert e.institution in site.institutions
        assert site.depth_cm[0] <= e.depth_cm <= site.depth_cm[1]
    assert source_folder(site, exams[0]) == folder.format(patient_id=exams[0].patient_id)
    assert used == {e.patient_id for e in exams} | {e.accession for e in exams}


def test_ids_are_unique_against_those_already_used():
    site = sim.SITES["hospital_B"]
    first = make_exams(np.random.default_rng(2), site, NAMES, set())
    used = {first[0].patient_id, first[0].accession}
    again = make_exams(np.random.default_rng(2), site, NAMES[:1], used)
    assert again[0].patient_id != first[0].patient_id and again[0].accession != first[0].accession


def test_exams_do_not_depend_on_the_site_name():
    site = sim.SITES["hospital_A"]
    renamed = dataclasses.replace(site, name="hospital_Z")
    assert make_exams(np.random.default_rng(3), site, NAMES, set()) == make_exams(
        np.random.default_rng(3), renamed, NAMES, set()
    )


def test_phi_lists_every_kind_sorted():
    exams = make_exams(np.random.default_rng(4), sim.SITES["hospital_A"], NAMES, set())
    images = [f"{source_folder(sim.SITES['hospital_A'], e)}/US_0001.png" for e in exams]
    phi = phi_lists(exams, images)
    assert tuple(phi) == PHI_KINDS
    assert phi["family_names"] == sorted(f for f, _ in NAMES)
    assert phi["source_paths"] == sorted(images)
    assert phi["birth_dates"] == sorted(f"{e.birth_date:%Y%m%d}" for e in exams)
