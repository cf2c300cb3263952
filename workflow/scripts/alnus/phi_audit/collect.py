"""Collect every identifying string of the inputs: DICOM headers, manifests, source paths, the pseudonym key.

What is collected and what is skipped, and why: see the docstring of
`alnus.phi_audit`.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from pathlib import Path, PurePosixPath

import pandas as pd
import pydicom
from pydicom.uid import UID

from alnus.imageio import is_dicom
from alnus.manifest import InputError, read_csv
from alnus.phi_audit.scan import SHORTEST, Needle
from alnus.pseudonym import KEY_ENV_VAR, load_key

GENERIC_WORDS = frozenset(
    {
        "image",
        "images",
        "export",
        "exports",
        "study",
        "studies",
        "series",
        "dicom",
        "breast",
        "ultrasound",
        "patient",
        "patients",
        "left",
        "right",
        "data",
        "scan",
        "scans",
        "mama",
        "direita",
        "esquerda",
        "folder",
        "files",
        "original",
        "anonymized",
        "anonymised",
        "jpeg",
        "bitmap",
        "screen",
        "capture",
    }
)
# Person names, ids and places the confidentiality profile removes (besides
# every PN anywhere, every DA and every instance UID, taken by VR).
DICOM_PHI_KEYWORDS = frozenset(
    {
        "PatientID",
        "OtherPatientIDs",
        "IssuerOfPatientID",
        "AccessionNumber",
        "StudyID",
        "MedicalRecordLocator",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "StationName",
        "DeviceSerialNumber",
        "RequestedProcedureID",
        "PerformedProcedureStepID",
        "ScheduledProcedureStepID",
        "AdmissionID",
        "IssuerOfAdmissionID",
        "PatientComments",
        "AdditionalPatientHistory",
        "ImageComments",
        "Occupation",
        "RegionOfResidence",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "InsurancePlanIdentification",
        "CurrentPatientLocation",
        "PatientInstitutionResidence",
        "RequestingService",
        "ReasonForStudy",
        "PerformedLocation",
        "ScheduledStudyLocation",
        "ServiceEpisodeID",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
        "ContentCreatorName",
        "VerifyingObserverName",
    }
)
GENERIC_UID_SUFFIXES = ("ClassUID", "TransferSyntaxUID", "ImplementationClassUID", "CodingSchemeUID")
TEXT_VRS = frozenset({"PN", "DA", "UI", "LO", "SH", "ST", "LT", "UT", "UC", "CS", "AE"})


class PhiCollector:
    """Turn identifying values into needles, counting what is skipped and why."""

    def __init__(self, *, min_length: int = 5, min_digits: int = 6):
        if min_length < SHORTEST or min_digits < SHORTEST:
            raise ValueError(
                f"`min_length` and `min_digits` must be at least {SHORTEST}, got {min_length} and {min_digits}"
            )
        self.min_length, self.min_digits = min_length, min_digits
        self.needles: dict[tuple[bytes, str], Needle] = {}
        self.stats: dict[str, Counter] = defaultdict(Counter)

    def add(self, value, kind: str, *, boundary: str = "") -> None:
        text = str(value).strip()
        if not text:
            return
        data = text.encode("utf-8").lower()  # ASCII letters folded, as scanned
        if data.isdigit():
            if len(data) < self.min_digits:
                self.stats[kind]["skipped_short"] += 1
                return
            boundary = "digits"
        elif len(data) < self.min_length:
            self.stats[kind]["skipped_short"] += 1
            return
        key = (data, boundary)
        if key not in self.needles:
            self.needles[key] = Needle(data, kind, boundary)
            self.stats[kind]["searched"] += 1

    def skip(self, kind: str, reason: str = "skipped_generic") -> None:
        self.stats[kind][reason] += 1

    def add_name(self, value, kind: str) -> None:
        """A DICOM person name: whole, in reading orders, and each component as a word."""
        parts = [p for p in re.split(r"[\^=,]+", str(value)) if p.strip()]
        self.add(value, kind)
        if len(parts) >= 2:
            self.add(" ".join(parts), kind)
            self.add(" ".join(reversed(parts[:2])), kind)
            self.add(", ".join(parts[:2]), kind)
        for word in {w for p in parts for w in re.split(r"[\s.]+", p)}:
            self.add(word, kind + " (part)", boundary="word")

    def table(self) -> pd.DataFrame:
        """Counts per kind: searched, skipped_short, skipped_generic (no values)."""
        rows = [
            {
                "kind": kind,
                "searched": c["searched"],
                "skipped_short": c["skipped_short"],
                "skipped_generic": c["skipped_generic"],
            }
            for kind, c in sorted(self.stats.items())
        ]
        return pd.DataFrame(rows, columns=["kind", "searched", "skipped_short", "skipped_generic"])


def collect_phi(
    cohorts: dict[str, dict[str, str]],
    *,
    key: bytes | None = None,
    extra_file: str | Path | None = None,
    min_length: int = 5,
    min_digits: int = 6,
) -> tuple[list[Needle], pd.DataFrame]:
    """Every identifying string of the study's inputs.

    Parameters
    ----------
    cohorts : cohort -> {"manifest": path, "images": folder} (config `cohorts`).
    key : the pseudonym key, searched for as well; None if there is none yet.
    extra_file : optional text file, one further identifying string per line
        (lines starting with # are comments).
    min_length, min_digits : shorter strings, and pure numbers with fewer
        digits, are not searched (they match by chance).

    Returns
    -------
    (needles, table): the strings to search for, and per kind the number of
    strings searched and skipped (never the strings themselves).

    Raises
    ------
    ValueError
        If a manifest cannot be read or `extra_file` does not exist.
    """
    collector = PhiCollector(min_length=min_length, min_digits=min_digits)
    paths: list[tuple[str, str]] = []  # (patient, image path)
    for cohort, where in cohorts.items():
        try:
            manifest = read_csv(where["manifest"], what=f"The {cohort} manifest")
        except InputError as error:
            raise ValueError(str(error)) from None
        for column, kind in (("patient_id", "manifest patient_id"), ("study_id", "manifest study_id")):
            if column in manifest.columns:
                for value in manifest[column]:
                    collector.add(value, kind)
        images = Path(where["images"])
        for patient, image in zip(manifest.get("patient_id", [""] * len(manifest)), manifest["image"]):
            paths.append((patient, image))
            source = images / image
            if source.is_file() and is_dicom(source):
                _collect_dicom(collector, source)
    _collect_paths(collector, paths)
    if key:
        collector.add(key.decode("utf-8", "replace"), "pseudonym key")
    if extra_file:
        extra = Path(extra_file)
        if not extra.is_file():
            raise ValueError(f"privacy.phi_audit.extra_strings: {extra} does not exist")
        for line in extra.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                collector.add(line, f"listed in {extra.name}")
    return list(collector.needles.values()), collector.table()


def _collect_dicom(collector: PhiCollector, path: Path) -> None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # an unreadable header has no PHI to collect; validate_inputs reports it
        return
    elements = list(ds.iterall())
    if hasattr(ds, "file_meta"):
        elements += list(ds.file_meta.iterall())
    for element in elements:
        if element.VR not in TEXT_VRS or element.value is None or element.value == "":
            continue
        values = element.value if element.VM > 1 else [element.value]
        kind = f"DICOM {element.keyword or element.tag}"
        for value in values:
            if element.VR == "PN":
                collector.add_name(value, kind)
            elif element.VR == "DA":
                text = str(value).strip()
                collector.add(text, kind)
                if re.fullmatch(r"\d{8}", text):
                    collector.add(f"{text[:4]}-{text[4:6]}-{text[6:]}", kind)
            elif element.VR == "UI":
                # Instance UIDs identify; registered UIDs (SOP classes, transfer
                # syntaxes) and the writing software's own UID are generic.
                generic = UID(str(value)).name != str(value) or element.keyword.endswith(GENERIC_UID_SUFFIXES)
                if not generic:
                    collector.add(value, kind)
            elif element.keyword in DICOM_PHI_KEYWORDS:
                collector.add(value, kind)


def _collect_paths(collector: PhiCollector, paths: list[tuple[str, str]]) -> None:
    """Source paths, their folder and file names, and the words in them; parts
    common to half the patients (and at least three) are generic."""
    candidates: list[tuple[str, str, str, str]] = []  # (patient, value, kind, boundary)
    for patient, image in paths:
        parts = PurePosixPath(image.replace("\\", "/")).parts
        candidates.append((patient, image, "source path", ""))
        names = [(p, "source folder name") for p in parts[:-1]] + [(parts[-1], "source file name")] if parts else []
        for name, kind in names:
            candidates.append((patient, name, kind, ""))
            stem = name.rsplit(".", 1)[0] if kind == "source file name" else name
            if stem != name:
                candidates.append((patient, stem, kind, ""))
            for word in re.findall(r"[A-Za-z]+|\d+", stem):
                if word != stem:
                    candidates.append((patient, word, kind + " (part)", "word"))
    patients_of: dict[str, set] = defaultdict(set)
    for patient, value, _, _ in candidates:
        patients_of[value.lower()].add(patient)
    n_patients = len({p for p, _ in paths})
    common = max(3, 0.5 * n_patients)
    seen = set()
    for _, value, kind, boundary in candidates:
        if (value, kind) in seen:
            continue
        seen.add((value, kind))
        sharing = len(patients_of[value.lower()])
        # A whole folder or file name under two patients is an export's own
        # naming ("US_0001.dcm"); a word in names must be common to be generic
        # (two patients may share a surname).
        generic = sharing >= common if kind.endswith("(part)") else sharing >= 2
        if value.lower() in GENERIC_WORDS or generic:
            collector.skip(kind)
        else:
            collector.add(value, kind, boundary=boundary)


def read_key(key_file: str | Path, *, env_var: str = KEY_ENV_VAR) -> bytes | None:
    """The pseudonym key (`alnus.pseudonym.load_key`, with its checks), or
    None where there is none yet: neither `env_var` set nor `key_file` there."""
    if os.environ.get(env_var) is None and not Path(key_file).is_file():
        return None
    return load_key(key_file, env_var=env_var)
