"""Exact and near-duplicate images, within and across cohorts.

Public and hospital ultrasound sets hold the same frame exported twice, or
two frames a second apart, sometimes under two patient ids. Such a pair split
between train and a test set inflates the test. Near-duplicates are found by
a 256-bit perceptual hash (imagehash's DCT hash with hash_size 16, on the
cropped, preprocessed image) and compared by Hamming distance; identical
files by SHA-256. The 256-bit hash, not the usual 64: on real breast
ultrasound (BUS-BRA), two different images come within 8 of 64 bits while
re-exports of one frame drift up to 6-8, too close to call; with 256 bits,
re-exports stay within 30 and different images 68 or more apart
(docs/benchmarks.md, benchmarks/bench_duplicates.py).

`find_duplicates` lists the pairs; `split.split_cohorts` can keep a
development pair in one set; `check_duplicates` judges the pairs once the
sets are known.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import imagehash
import numpy as np
import pandas as pd
from PIL import Image

from alnus.checks import check_choice

log = logging.getLogger(__name__)

HASH_SIZE = 16  # imagehash's hash_size: a 16 x 16 = 256-bit hash
PAIR_COLUMNS = ["cohort_a", "id_a", "patient_a", "cohort_b", "id_b", "patient_b", "distance", "identical"]
POLICIES = ("error", "warn", "group")


def perceptual_hash(path: str | Path) -> np.ndarray:
    """256-bit DCT perceptual hash of an image file, as 4 uint64 words."""
    with Image.open(path) as image:
        return hash_pixels(image)


def hash_pixels(image: Image.Image | np.ndarray, hash_size: int = HASH_SIZE) -> np.ndarray:
    """DCT perceptual hash of a PIL image or (H, W) uint8 array, as
    hash_size**2 / 64 uint64 words."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    bits = imagehash.phash(image, hash_size=hash_size).hash.flatten()
    return np.packbits(bits).view(">u8").astype(np.uint64)


def close_pairs(
    hashes: np.ndarray, max_distance: int, *, block: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) of `hashes` within `max_distance` bits.

    Parameters
    ----------
    hashes : uint64 array of shape (n, words) (or (n,) for one word each).
    max_distance : largest Hamming distance of a pair to report.
    block : rows compared at once, so that memory stays at block x n x words.

    Returns
    -------
    i, j, distance : int arrays of equal length, sorted by i then j.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    hashes = hashes.reshape(len(hashes), -1)
    found_i, found_j, found_d = [], [], []
    for start in range(0, len(hashes), block):
        rows = hashes[start : start + block]
        distance = np.bitwise_count(rows[:, None, :] ^ hashes[None, :, :]).sum(axis=2, dtype=np.int64)
        i, j = np.nonzero(distance <= max_distance)
        keep = start + i < j
        found_i.append(start + i[keep])
        found_j.append(j[keep])
        found_d.append(distance[i[keep], j[keep]])
    if not found_i:
        return (np.empty(0, dtype=int),) * 3
    return tuple(np.concatenate(parts).astype(int) for parts in (found_i, found_j, found_d))


def find_duplicates(cohorts: dict[str, tuple[pd.DataFrame, str | Path]], *, max_distance: int = 50) -> pd.DataFrame:
    """Pairs of preprocessed images that are identical or nearly so.

    Parameters
    ----------
    cohorts : cohort -> (public manifest with `id` and `patient`, its images folder
        of `{id}.png`).
    max_distance : largest Hamming distance (of 256 bits) that counts as a
        near-duplicate; 0 finds only images with the same hash.

    Returns
    -------
    DataFrame with PAIR_COLUMNS, one row per pair; `identical` is True when
    the two PNGs are byte-identical (one encoder writes them all, so same
    bytes means same pixels).

    Raises
    ------
    ValueError
        If an image of a manifest is missing from its folder.
    """
    images = []
    for cohort, (manifest, folder) in cohorts.items():
        for image_id, patient in zip(manifest["id"], manifest["patient"]):
            path = Path(folder) / f"{image_id}.png"
            if not path.is_file():
                raise ValueError(
                    f"{cohort} image {image_id} is in its manifest but not in {folder}; rerun the preprocess rule"
                )
            images.append((cohort, str(image_id), str(patient), path))
    hashes = np.array([perceptual_hash(path) for *_, path in images], dtype=np.uint64).reshape(len(images), -1)
    # Byte-identical files always have the same hash; so exact duplicates are
    # a subset of the pairs at distance 0.
    first, second, distance = close_pairs(hashes, max_distance)
    rows = []
    for i, j, d in zip(first, second, distance):
        (ca, ia, pa, path_a), (cb, ib, pb, path_b) = images[i], images[j]
        identical = d == 0 and _digest(path_a) == _digest(path_b)
        rows.append((ca, ia, pa, cb, ib, pb, int(d), bool(identical)))
    pairs = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    log.info(
        "%d images hashed; %d pairs within %d bits (%d byte-identical)",
        len(images),
        len(pairs),
        max_distance,
        int(pairs["identical"].sum()),
    )
    return pairs


def read_pairs(path: str | Path) -> pd.DataFrame:
    """The pairs table that `duplicates_job` wrote (PAIR_COLUMNS), ids and patients as text."""
    return pd.read_csv(path, sep="\t", dtype={"id_a": str, "id_b": str, "patient_a": str, "patient_b": str})


def duplicates_job(cohorts: dict[str, tuple[str | Path, str | Path]], out: str | Path, *, max_distance: int) -> None:
    """Rule duplicates: `find_duplicates` over the preprocessed cohorts, written to `out` (TSV).

    Parameters
    ----------
    cohorts : cohort -> (results/preprocessed/{cohort}/manifest.csv, its images folder).
    out : results/qc/duplicates.tsv.
    max_distance : see `find_duplicates`.
    """
    manifests = {c: (pd.read_csv(manifest, dtype=str), images) for c, (manifest, images) in cohorts.items()}
    find_duplicates(manifests, max_distance=max_distance).to_csv(out, sep="\t", index=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_duplicates(pairs: pd.DataFrame, splits: pd.DataFrame, *, across_sets: str = "error") -> list[str]:
    """Judge the pairs of `find_duplicates` once every image has its set.

    A pair in two different sets (train and a test set, say, or the
    development and the external cohort) means the evaluation scores an image
    the model was developed on: an error, unless `across_sets` is "warn".
    ("group" is the split's business: it keeps development pairs in one set,
    so what remains across sets here are pairs across cohorts, still errors.)
    A pair under two patients within one set is a warning (a duplicate export
    filed under a second patient?); one patient's pairs are only counted.

    Parameters
    ----------
    pairs : from `find_duplicates`.
    splits : `id`, `cohort` and `set` of every image.
    across_sets : "error", "warn" or "group".

    Returns
    -------
    list of str
        Warnings (already logged).

    Raises
    ------
    ValueError
        Listing the pairs across sets, with the fix, unless `across_sets` is "warn".
    """
    check_choice(across_sets, POLICIES, "`across_sets`")
    set_of = dict(zip(zip(splits["cohort"].astype(str), splits["id"].astype(str)), splits["set"]))
    crossing, other_patient = [], []
    for row in pairs.itertuples(index=False):
        set_a, set_b = set_of[(row.cohort_a, row.id_a)], set_of[(row.cohort_b, row.id_b)]
        what = (
            f"{row.cohort_a}/{row.id_a} ({set_a}) and {row.cohort_b}/{row.id_b} ({set_b}), "
            f"{'identical' if row.identical else f'{row.distance} bits apart'}"
        )
        if set_a != set_b:
            crossing.append(what)
        elif row.patient_a != row.patient_b:
            other_patient.append(what)
    warnings = []
    if other_patient:
        warnings.append(
            f"{len(other_patient)} near-duplicate pair(s) under two different patients of one set "
            "(a duplicate export?):\n  " + "\n  ".join(other_patient)
        )
    if crossing:
        message = (
            f"{len(crossing)} near-duplicate pair(s) lie in two different sets, so a test would score "
            "an image the model was developed on:\n  "
            + "\n  ".join(crossing)
            + "\nRemove one image of each pair from its manifest (private/{cohort}/linkage.csv maps the "
            "pseudonyms to your files); or set preprocess.duplicates.across_sets: group to keep "
            "development pairs in one set (pairs across cohorts remain), or warn to accept them."
        )
        if across_sets != "warn":
            raise ValueError(message)
        warnings.append(message)
    for text in warnings:
        log.warning(text)
    log.info(
        "duplicates: %d pair(s), %d across sets, %d under two patients of one set",
        len(pairs),
        len(crossing),
        len(other_patient),
    )
    return warnings
