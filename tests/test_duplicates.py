"""Near-duplicate images: found by perceptual hash, kept in one set by the
split on request, and refused across sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from near_duplicates import re_export

from alnus.duplicates import (
    PAIR_COLUMNS,
    check_duplicates,
    close_pairs,
    duplicates_job,
    find_duplicates,
    perceptual_hash,
    read_pairs,
)
from alnus.imageio import write_png
from alnus.simulate import render_bmode, sample_lesion
from alnus.split import split_cohorts, split_groups


def bmode(seed: int) -> np.ndarray:
    """A simulated B-mode image, 200 x 160, different for every seed."""
    rng = np.random.default_rng(seed)
    return render_bmode(rng, sample_lesion(rng, seed % 2), (200, 160)).pixels


def write_cohort(folder: Path, images: dict[str, tuple[str, np.ndarray]]) -> pd.DataFrame:
    """PNGs named by id; returns the public manifest (id, patient)."""
    for image_id, (_, pixels) in images.items():
        write_png(folder / f"{image_id}.png", pixels)
    return pd.DataFrame({"id": list(images), "patient": [p for p, _ in images.values()]})


def test_re_export_is_near_and_other_images_are_far(tmp_path):
    frames = [bmode(seed) for seed in range(12)]
    hashes = []
    for k, pixels in enumerate(frames + [re_export(frames[0]), re_export(frames[5])]):
        write_png(tmp_path / f"{k}.png", pixels)
        hashes.append(perceptual_hash(tmp_path / f"{k}.png"))
    i, j, distance = close_pairs(np.array(hashes, dtype=np.uint64), 50)
    assert list(zip(i, j)) == [(0, 12), (5, 13)], distance
    # The unrelated images are far apart: the threshold has room.
    _, _, all_distances = close_pairs(np.array(hashes[:12], dtype=np.uint64), 256)
    assert len(all_distances) == 66 and all_distances.min() > 70


def test_close_pairs_blocks_agree_with_brute_force():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, 300, dtype=np.uint64)
    hashes[200] = hashes[10] ^ np.uint64(0b1011)  # 3 bits from 10
    hashes[299] = hashes[200]
    brute = {(a, b) for a in range(300) for b in range(a + 1, 300) if bin(int(hashes[a] ^ hashes[b])).count("1") <= 3}
    i, j, d = close_pairs(hashes, 3, block=64)
    assert set(zip(i, j)) == brute == {(10, 200), (10, 299), (200, 299)}
    assert list(d) == [3, 3, 0]


def test_find_duplicates_table(tmp_path):
    a, b, c = bmode(1), bmode(2), bmode(3)
    cohorts = {
        "development": (
            write_cohort(tmp_path / "d", {"d1": ("p1", a), "d2": ("p2", b), "d3": ("p3", a)}),
            tmp_path / "d",
        ),
        "external": (write_cohort(tmp_path / "e", {"e1": ("q1", re_export(b)), "e2": ("q2", c)}), tmp_path / "e"),
    }
    pairs = find_duplicates(cohorts, max_distance=50)
    assert list(pairs.columns) == PAIR_COLUMNS
    found = {(r.id_a, r.id_b): (r.distance, r.identical) for r in pairs.itertuples()}
    assert set(found) == {("d1", "d3"), ("d2", "e1")}
    assert found[("d1", "d3")] == (0, True) and found[("d2", "e1")][1] is False
    assert find_duplicates(cohorts, max_distance=0)[["id_a", "id_b"]].values.tolist() == [["d1", "d3"]]


def test_duplicates_job_writes_the_pairs_that_read_pairs_reads_back(tmp_path):
    a = bmode(1)
    manifest = write_cohort(tmp_path / "d", {"0012": ("0034", a), "0056": ("0078", a)})
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    external = write_cohort(tmp_path / "e", {"e1": ("q1", bmode(2))})
    external.to_csv(tmp_path / "external.csv", index=False)
    cohorts = {
        "development": (tmp_path / "manifest.csv", tmp_path / "d"),
        "external": (tmp_path / "external.csv", tmp_path / "e"),
    }
    duplicates_job(cohorts, tmp_path / "pairs.tsv", max_distance=50)
    pairs = read_pairs(tmp_path / "pairs.tsv")
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs[["id_a", "patient_a", "id_b", "patient_b"]].values.tolist() == [["0012", "0034", "0056", "0078"]]


def test_find_duplicates_needs_every_png(tmp_path):
    manifest = write_cohort(tmp_path / "d", {"d1": ("p1", bmode(1))})
    (tmp_path / "d" / "d1.png").unlink()
    with pytest.raises(ValueError, match=r"development image d1 is in its manifest but not in"):
        find_duplicates({"development": (manifest, tmp_path / "d")})


def pair(a, b, *, patients=("p1", "p2"), cohorts=("development", "development"), identical=True):
    return pd.DataFrame([(cohorts[0], a, patients[0], cohorts[1], b, patients[1], 0, identical)], columns=PAIR_COLUMNS)


SPLITS = pd.DataFrame(
    {
        "id": ["d1", "d2", "d3", "e1"],
        "cohort": ["development"] * 3 + ["external"],
        "set": ["train", "train", "internal_test", "external_test"],
    }
)


def test_pair_across_sets_is_refused_unless_warn():
    pairs = pair("d1", "d3")
    message = r"(?s)1 near-duplicate pair\(s\) lie in two different sets.*development/d1 \(train\) and development/d3 \(internal_test\), identical.*across_sets: group"
    with pytest.raises(ValueError, match=message):
        check_duplicates(pairs, SPLITS)
    with pytest.raises(ValueError, match=message):
        check_duplicates(pairs, SPLITS, across_sets="group")
    assert len(check_duplicates(pairs, SPLITS, across_sets="warn")) == 1
    with pytest.raises(ValueError, match=r"`across_sets` must be one of error, warn, group, got 'ignore'"):
        check_duplicates(pairs, SPLITS, across_sets="ignore")


def test_pair_across_cohorts_is_refused():
    pairs = pair("d2", "e1", cohorts=("development", "external"), identical=False)
    with pytest.raises(ValueError, match=r"development/d2 \(train\) and external/e1 \(external_test\), 0 bits apart"):
        check_duplicates(pairs, SPLITS)


@pytest.mark.parametrize("patients, warnings", [(("p1", "p1"), 0), (("p1", "p2"), 1)])
def test_pair_within_one_set(patients, warnings):
    assert len(check_duplicates(pair("d1", "d2", patients=patients), SPLITS)) == warnings


def test_split_keeps_pairs_together():
    """40 patients, one image each; with pairs joining patients 2k and 2k+1,
    every pair lands in one set, whatever the seed."""
    n = 40
    development = pd.DataFrame(
        {
            "id": [f"i{k}" for k in range(n)],
            "patient": [f"p{k}" for k in range(n)],
            "label": [k % 4 == 0 or k % 4 == 1 for k in range(n)],
        }
    ).astype({"label": int})
    external = pd.DataFrame({"id": ["x1", "x2"], "patient": ["q1", "q2"], "label": [0, 1]})
    together = [(f"i{2 * k}", f"i{2 * k + 1}") for k in range(n // 2)]
    for seed in range(5):
        sets = split_cohorts(
            development, external, seed=seed, together=together, internal_test_fraction=0.2, validation_fraction=0.2
        ).set_index("id")["set"]
        assert all(sets[a] == sets[b] for a, b in together)
    apart = split_cohorts(development, external, seed=0, internal_test_fraction=0.2, validation_fraction=0.2)
    apart = apart.set_index("id")["set"]
    assert any(apart[a] != apart[b] for a, b in together)  # without the pairs, some would be split


def test_split_groups_are_transitive():
    groups = split_groups(
        ["p1", "p2", "p3", "p4", "p1"], ["a", "b", "c", "d", "e"], [("b", "c"), ("c", "e"), ("x", "a")]
    )
    assert groups[0] == groups[1] == groups[2] == groups[4] != groups[3]
    assert list(split_groups(["p9", "p1", "p9"], ["a", "b", "c"])) == [0, 1, 0]  # by first appearance
