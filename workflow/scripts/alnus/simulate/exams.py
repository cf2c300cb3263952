"""Fake patients and their breast ultrasound studies: the PHI the export carries.

Names are drawn from fixed pools of fake names; IDs and accession numbers
follow each site's formats (:class:`alnus.simulate.sites.Site`); dates are
drawn, never read from the clock. :func:`phi_lists` lists every fake PHI
string used, for the leak tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import numpy as np

from alnus.simulate.sites import Site

__all__ = [
    "FAMILY_NAMES",
    "GIVEN_NAMES",
    "STAFF_NAMES",
    "SONOGRAPHERS",
    "PHI_KINDS",
    "Exam",
    "make_exams",
    "source_folder",
    "phi_lists",
]

# Fake names: all capitals and at least five letters, so that a leak test can
# grep for them without matching short strings that occur by chance.
FAMILY_NAMES = (
    "SILVA",
    "SANTOS",
    "OLIVEIRA",
    "PEREIRA",
    "FERREIRA",
    "ALMEIDA",
    "CARVALHO",
    "RODRIGUES",
    "MARTINS",
    "BARBOSA",
    "RIBEIRO",
    "MONTEIRO",
    "KOWALSKI",
    "NOWAKOWSKA",
    "MUELLER",
    "JOHANSSON",
    "OKAFOR",
    "TANAKA",
    "NAKAMURA",
    "ROSSINI",
    "MORENO",
    "CASTILLO",
    "HUANGFU",
    "WHITFIELD",
    "BRENNAN",
    "HARTLEY",
    "LINDQVIST",
    "PETROVA",
    "IVANOVA",
    "DUBOIS",
    "FONTAINE",
    "MORETTI",
    "KAPOOR",
    "CHATTERJEE",
    "ADEYEMI",
    "MENSAH",
    "HOFFMANN",
    "NIELSEN",
    "VARGAS",
    "QUINTERO",
)
GIVEN_NAMES = (
    "MARIA",
    "HELENA",
    "BEATRIZ",
    "FATIMA",
    "CLAUDIA",
    "SANDRA",
    "LUCIANA",
    "PATRICIA",
    "YUKIKO",
    "INGRID",
    "AMARA",
    "ELENA",
    "SOFIA",
    "MEILING",
    "GRACE",
    "JOANNA",
    "AGNIESZKA",
    "BRIGITTE",
    "ASTRID",
    "CHIOMA",
    "NADIA",
    "ROSALIND",
    "MARGARET",
    "TERESA",
    "VALENTINA",
    "ISABEL",
    "CAROLINA",
    "PRIYA",
    "ANOUK",
    "SIOBHAN",
    "DOLORES",
    "KATARINA",
    "LILIANA",
    "MIRIAM",
    "ROSEMARY",
    "YOLANDA",
)
STAFF_NAMES = (
    "DR^ESPINOZA^RAFAEL",
    "DR^WAKEFIELD^HENRY",
    "DR^YAMAMOTO^KENJI",
    "DR^ALBUQUERQUE^TIAGO",
    "DR^OSTERGAARD^LARS",
    "DR^FITZGERALD^AOIFE",
)
SONOGRAPHERS = (
    "BRAGANCA^LETICIA",
    "MCALLISTER^FIONA",
    "TREMBLAY^JOSEE",
    "KARLSSON^EBBA",
)
# The kinds of fake PHI that phi.json lists (DICOM spellings for dates).
PHI_KINDS = (
    "patient_names",
    "family_names",
    "given_names",
    "patient_ids",
    "birth_dates",
    "exam_dates",
    "institutions",
    "accession_numbers",
    "physicians",
    "operators",
    "source_folders",
    "source_paths",
)


@dataclasses.dataclass(frozen=True)
class Exam:
    """The fake patient and study data shown on the screen and in DICOM."""

    patient_id: str
    family: str
    given: str
    birth_date: dt.date
    institution: str
    accession: str
    exam_date: dt.date
    exam_time: str
    physician: str
    operator: str
    laterality: str
    clock: int
    depth_cm: float


def _date_between(rng: np.random.Generator, first: str, last: str) -> dt.date:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return a + dt.timedelta(days=int(rng.integers(0, (b - a).days + 1)))


def _new_id(rng: np.random.Generator, fmt: str, digits: int, used_ids: set[str], **fields: object) -> str:
    """``fmt`` filled with a random number of ``digits`` digits (and ``fields``),
    drawn again until not in ``used_ids``; the value is added there."""
    while True:
        value = fmt.format(number=int(rng.integers(10 ** (digits - 1), 10**digits)), **fields)
        if value not in used_ids:
            used_ids.add(value)
            return value


def make_exams(
    rng: np.random.Generator, site: Site, names: Iterable[tuple[str, str]], used_ids: set[str]
) -> list[Exam]:
    """Fake patients and their breast US studies at ``site``.

    Parameters
    ----------
    rng : numpy.random.Generator
    site : Site
        Sets the institutions, exam dates, imaging depths and ID formats.
    names : iterable of (family, given)
        One patient each.
    used_ids : set of str
        Patient IDs and accession numbers taken so far (across sites); the new
        ones are unique against it and are added to it.

    Returns
    -------
    list of Exam, one per name.
    """
    exams = []
    for family, given in names:
        pid = _new_id(rng, site.patient_id_format, site.patient_id_digits, used_ids)
        exam_date = _date_between(rng, *site.exam_dates)
        age_days = int(rng.uniform(30, 82) * 365.25)
        accession = _new_id(rng, site.accession_format, site.accession_digits, used_ids, date=exam_date)
        exams.append(
            Exam(
                patient_id=pid,
                family=family,
                given=given,
                birth_date=exam_date - dt.timedelta(days=age_days),
                institution=str(rng.choice(site.institutions)),
                accession=accession,
                exam_date=exam_date,
                exam_time=f"{int(rng.integers(7, 19)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}",
                physician=str(rng.choice(STAFF_NAMES)),
                operator=str(rng.choice(SONOGRAPHERS)),
                laterality=str(rng.choice(["L", "R"])),
                clock=int(rng.integers(1, 13)),
                depth_cm=float(rng.choice(np.arange(site.depth_cm[0], site.depth_cm[1] + 0.01, 0.5))),
            )
        )
    return exams


def source_folder(site: Site, exam: Exam) -> str:
    """Source folder named after the patient, as many exports do (``site.folder_format``)."""
    return site.folder_format.format(patient_id=exam.patient_id, family=exam.family, given=exam.given)


def phi_lists(exams: Iterable[Exam], images: Iterable[str]) -> dict[str, list[str]]:
    """Every fake PHI string used, by kind.

    Parameters
    ----------
    exams : iterable of Exam
        Every exam of the study.
    images : iterable of str
        Every image path of the manifests (``<source folder>/<file>``).

    Returns
    -------
    dict
        Each of PHI_KINDS mapped to the sorted list of its values; names as
        ``FAMILY^GIVEN``, dates as ``YYYYMMDD`` (their DICOM spellings).
    """
    kinds: dict[str, set[str]] = {k: set() for k in PHI_KINDS}
    for e in exams:
        kinds["patient_names"].add(f"{e.family}^{e.given}")
        kinds["family_names"].add(e.family)
        kinds["given_names"].add(e.given)
        kinds["patient_ids"].add(e.patient_id)
        kinds["birth_dates"].add(f"{e.birth_date:%Y%m%d}")
        kinds["exam_dates"].add(f"{e.exam_date:%Y%m%d}")
        kinds["institutions"].add(e.institution)
        kinds["accession_numbers"].add(e.accession)
        kinds["physicians"].add(e.physician)
        kinds["operators"].add(e.operator)
    for image in images:
        kinds["source_folders"].add(image.split("/")[0])
        kinds["source_paths"].add(image)
    return {k: sorted(v) for k, v in kinds.items()}
