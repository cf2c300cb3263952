"""Reading and checking the user's manifests (one row per image) and readers' calls.

A hospital export meets the pipeline here first, so every check collects all
problems it finds and reports them together, each naming the file, the line
and the fix; nothing downstream runs on a manifest that has one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from alnus.clinical import clinical_variables, inspect_clinical
from alnus.crop import bbox_crop_box
from alnus.imageio import decode_problem

MANIFEST_REQUIRED = ("image", "patient_id", "label")
MANIFEST_OPTIONAL = ("study_id", "site", "bbox")
READERS_REQUIRED = ("image", "reader", "call")
READERS_SCORE = "score"  # optional column of the readers file
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".dcm", ".dicom", "")
MAX_LISTED = 50  # a 10,000-row manifest with one systematic error must stay readable


class InputError(ValueError):
    """One or more problems in a user's input file; the message lists them all."""


@dataclass
class Problems:
    """Collects problems found in one input file, each tied to a line of it.

    `what` names the file in messages ("The development manifest"); the
    problems are listed by line, those of the whole file first.
    """

    path: str
    what: str = "The file"
    found: list[tuple[int, int, str]] = field(default_factory=list)  # (line or 0, order found, message)
    unreadable: str | None = None  # read_csv's message when the file could not be read at all

    def add(self, message: str, *, line: int | None = None) -> None:
        self.found.append((line or 0, len(self.found), message))

    @property
    def items(self) -> list[str]:
        """The problems as text, sorted by line ("line 7: ...")."""
        return [f"line {line}: {message}" if line else message for line, _, message in sorted(self.found)]

    def __bool__(self) -> bool:
        return bool(self.found) or self.unreadable is not None

    def __len__(self) -> int:
        return len(self.found) + (self.unreadable is not None)

    def message(self) -> str:
        """Every collected problem (at most MAX_LISTED), under a line naming the file."""
        if self.unreadable is not None:
            return self.unreadable
        items = self.items
        shown = items[:MAX_LISTED]
        more = len(items) - len(shown)
        lines = [f"{self.what} {self.path} has {len(items)} problem(s):"]
        lines += [f"  - {item}" for item in shown]
        if more:
            lines.append(f"  ... and {more} more of the same kinds")
        return "\n".join(lines)

    def raise_if_any(self, what: str | None = None) -> None:
        """Raise InputError listing every collected problem (see `message`)."""
        if self:
            if what is not None:
                self.what = what
            raise InputError(self.message())


def raise_all(problems: list[Problems]) -> None:
    """Raise one InputError with the problems of every file that has some, in
    the order given (e.g. the study's cohorts, then the readers' file), each
    file's problems by line.

    Raises
    ------
    InputError
        If any of `problems` is non-empty.
    """
    message = all_problems(problems)
    if message:
        raise InputError(message)


def all_problems(problems: list[Problems]) -> str:
    """The message of `raise_all`, or "" when there is no problem."""
    found = [p for p in problems if p]
    if not found:
        return ""
    total = sum(len(p) for p in found)
    head = (
        f"{total} input problem(s) in {len(found)} file(s); fix them all, then run again.\n\n" if len(found) > 1 else ""
    )
    return head + "\n\n".join(p.message() for p in found)


def _line(row_index: int) -> int:
    """Line number in the CSV file of a 0-based data row (line 1 is the header)."""
    return row_index + 2


def read_csv(path: str | Path, *, what: str) -> pd.DataFrame:
    """Read a CSV with every column as text, so that '007' stays '007'.

    Raises
    ------
    InputError
        If the file is missing, empty or not parseable as CSV.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist; check the path in config.yaml.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} {path} is empty; it needs a header line and one row per image.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{what} {path} is not a readable CSV file ({error}).") from None
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _check_columns(table: pd.DataFrame, required, problems: Problems) -> bool:
    missing = [c for c in required if c not in table.columns]
    if missing:
        problems.add(
            f"missing column(s) {', '.join(missing)}; the header has {', '.join(table.columns) or 'nothing'}"
            f" and needs {', '.join(required)}"
        )
    return not missing


def _check_binary(table: pd.DataFrame, column: str, problems: Problems) -> None:
    for i, value in table[column].items():
        if value.strip() not in ("0", "1"):
            problems.add(f"`{column}` must be 0 or 1, got {value!r}", line=_line(i))


def _check_image_path(value: str, images_dir: Path, problems: Problems, line: int) -> Path | None:
    """Check that one manifest `image` value names a file inside images_dir."""
    if not value.strip():
        problems.add("`image` is empty", line=line)
        return None
    relative = PurePosixPath(value.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts:
        problems.add(
            f"`image` {value!r} must be a path relative to the images folder {images_dir}, without '..'",
            line=line,
        )
        return None
    suffix = relative.suffix.lower()
    if suffix not in IMAGE_SUFFIXES and not suffix[1:].isdigit():  # digits: a DICOM named by its UID
        problems.add(
            f"`image` {value!r} has an unsupported extension; use .png, .jpg, .bmp or DICOM (.dcm or none)",
            line=line,
        )
        return None
    full = images_dir / relative
    if not full.is_file():
        problems.add(
            f"image file {full} does not exist; correct the `image` value (relative to the images folder) "
            "or remove the row",
            line=line,
        )
        return None
    return full


@dataclass
class ManifestCheck:
    """What `inspect_manifest` found in one manifest.

    table : the manifest as text (read_csv), or None if it could not be read.
    problems : every problem found so far.
    images : (line, file) of each row whose `image` names an existing file:
        the files whose pixels `decode_images` decodes.
    missing : clinical column -> its missing values (declared columns only).
    """

    table: pd.DataFrame | None
    problems: Problems
    images: list[tuple[int, Path]] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)  # clinical column -> missing values

    @property
    def complete(self) -> bool:
        """True if the table has every required column (its rows were checked)."""
        return self.table is not None and all(c in self.table.columns for c in MANIFEST_REQUIRED)


def inspect_manifest(
    path: str | Path, images_dir: str | Path, *, cohort: str, clinical: dict | None = None
) -> ManifestCheck:
    """Check one cohort's manifest without opening any image, raising nothing.

    Every problem goes to the result's `problems`: an unreadable file or
    missing columns (then the rows are not checked), labels other than 0/1,
    empty patient ids, duplicate image rows, paths outside the images folder
    or with unsupported extensions, missing image files, malformed bbox, and
    the declared clinical columns' problems (`clinical`, the config's
    `clinical` section: alnus.clinical.inspect_clinical; constant columns are
    looked for in the development cohort). The result's `missing` counts
    each clinical column's missing values.
    """
    images_dir = Path(images_dir)
    problems = Problems(str(path), f"The {cohort} manifest")
    try:
        table = read_csv(path, what=problems.what)
    except InputError as error:
        problems.unreadable = str(error)
        return ManifestCheck(None, problems)
    result = ManifestCheck(table, problems)
    if not images_dir.is_dir():
        problems.add(f"the images folder {images_dir} does not exist; check `cohorts: {cohort}: images` in config.yaml")
    if not _check_columns(table, MANIFEST_REQUIRED, problems):
        return result
    if table.empty:
        problems.add("has a header but no rows; add one row per image")
        return result

    _check_binary(table, "label", problems)
    if clinical and clinical["variables"]:
        result.missing = inspect_clinical(
            table,
            clinical_variables(clinical["variables"]),
            problems,
            missing=clinical["missing"],
            constant=cohort == "development",
        )
    for i, value in table["patient_id"].items():
        if not value.strip():
            problems.add("`patient_id` is empty; every image needs its patient's id", line=_line(i))
    duplicated = table["image"].duplicated(keep="first")
    for i in table.index[duplicated]:
        first = table.index[(table["image"] == table.at[i, "image"])][0]
        problems.add(
            f"image {table.at[i, 'image']!r} is listed again (first on line {_line(first)}); keep one row per image",
            line=_line(i),
        )
    if "bbox" in table.columns:
        for i, value in table["bbox"].items():
            if value.strip():
                try:
                    bbox_crop_box(value, (10**9, 10**9), margin=0.0)
                except ValueError as error:
                    problems.add(str(error), line=_line(i))
    if images_dir.is_dir():
        for i, value in table["image"].items():
            full = _check_image_path(value, images_dir, problems, _line(i))
            if full is not None and not duplicated[i]:
                result.images.append((_line(i), full))
    return result


def decode_images(checks: list[ManifestCheck], *, threads: int = 1) -> None:
    """Decode every image of `checks` fully (alnus.imageio.decode_problem), in
    `threads` threads at once, adding each image that cannot be used to its
    manifest's problems."""
    jobs = [(check.problems, line, full) for check in checks for line, full in check.images]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        found = pool.map(decode_problem, [full for _, _, full in jobs])
        for (problems, line, full), problem in zip(jobs, found):
            if problem:
                problems.add(f"image {full} cannot be used: {problem}", line=line)


def checked_table(table: pd.DataFrame) -> pd.DataFrame:
    """A manifest table without problems, typed: `label` int, `patient_id` stripped."""
    table = table.copy()
    table["label"] = table["label"].str.strip().astype(int)
    table["patient_id"] = table["patient_id"].str.strip()
    return table


def check_manifest(
    path: str | Path, images_dir: str | Path, *, cohort: str, check_pixels: bool = False, threads: int = 1
) -> pd.DataFrame:
    """Read and check one cohort's manifest.

    Parameters
    ----------
    path : path of the manifest CSV.
    images_dir : folder the `image` column is relative to.
    cohort : cohort name, used in messages.
    check_pixels : also decode every image fully (slower; done once, by rule
        validate_inputs, after its quick checks).
    threads : images decoded at once when `check_pixels`.

    Returns
    -------
    DataFrame with columns image, patient_id, label (int) and any optional
    columns present, in file order.

    Raises
    ------
    InputError
        Listing every problem (see `inspect_manifest`; with `check_pixels`,
        also every image that cannot be decoded or used).
    """
    check = inspect_manifest(path, images_dir, cohort=cohort)
    if check_pixels:
        decode_images([check], threads=threads)
    check.problems.raise_if_any()
    return checked_table(check.table)


def inspect_readers(path: str | Path, known_images: dict[str, str] | None) -> tuple[pd.DataFrame | None, Problems]:
    """Check the readers' calls, raising nothing (see `check_readers`).

    With `known_images` None (a manifest could not be read), calls on images
    in no manifest are not looked for.

    Returns
    -------
    (table as text or None if unreadable, problems)
    """
    problems = Problems(str(path), "The readers file")
    try:
        table = read_csv(path, what=problems.what)
    except InputError as error:
        problems.unreadable = str(error)
        return None, problems
    if not _check_columns(table, READERS_REQUIRED, problems):
        return table, problems
    if table.empty:
        problems.add("has a header but no rows")
    _check_binary(table, "call", problems)
    if READERS_SCORE in table.columns:
        scores = pd.to_numeric(table[READERS_SCORE].str.strip(), errors="coerce")
        for i in table.index[~np.isfinite(scores.to_numpy(dtype=float))]:
            problems.add(
                f"`{READERS_SCORE}` must be a number (the reader's confidence, higher = more likely "
                f"positive), got {table.at[i, READERS_SCORE]!r}; fill it in or drop the column",
                line=_line(i),
            )
    for i, value in table["reader"].items():
        if not value.strip():
            problems.add("`reader` is empty", line=_line(i))
    if known_images is not None:
        for i, value in table["image"].items():
            if value not in known_images:
                problems.add(
                    f"image {value!r} is in no cohort's manifest; use the manifest's `image` value", line=_line(i)
                )
    duplicated = table.duplicated(["reader", "image"], keep="first")
    for i in table.index[duplicated]:
        problems.add(f"reader {table.at[i, 'reader']!r} calls image {table.at[i, 'image']!r} twice", line=_line(i))
    return table, problems


def check_readers(path: str | Path, known_images: dict[str, str]) -> pd.DataFrame:
    """Read and check the readers' calls.

    Parameters
    ----------
    path : long-format CSV with columns image, reader, call, and optionally
        score (the reader's confidence that the image is positive, any
        numeric scale, higher = more likely positive; used for the readers'
        AUCs and the multi-reader analysis of AUC).
    known_images : maps every manifest `image` value to its cohort name.

    Returns
    -------
    DataFrame with columns image, reader, call (int), cohort, and score
    (float) when the file has it.

    Raises
    ------
    InputError
        Listing calls that are not 0/1, scores that are not finite numbers,
        images not in any manifest, a reader calling the same image twice,
        and readers with missing calls.
    """
    table, problems = inspect_readers(path, known_images)
    problems.raise_if_any()
    table = table.copy()
    table["call"] = table["call"].str.strip().astype(int)
    if READERS_SCORE in table.columns:
        table[READERS_SCORE] = table[READERS_SCORE].str.strip().astype(float)
    table["cohort"] = table["image"].map(known_images)
    return table
