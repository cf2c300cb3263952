"""Tests for alnus.study: what the train and predict jobs read."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from alnus.data import build_image_cache
from alnus.study import cached_images


def test_cached_images_follow_the_rows_across_cohorts(tmp_path):
    """study.cached_images finds each row's image in its cohort's cache by
    the manifest order, and refuses a cache of another length."""
    manifests, caches = {}, {}
    for cohort, ids in {"development": ["a", "b", "c"], "external": ["x", "y"]}.items():
        paths = []
        for k, image_id in enumerate(ids):
            paths.append(tmp_path / f"{image_id}.png")
            cv2.imwrite(str(paths[-1]), np.full((8, 8), 10 * k + (100 if cohort == "external" else 0), dtype=np.uint8))
        manifests[cohort] = tmp_path / f"{cohort}.csv"
        pd.DataFrame({"id": ids, "label": [0, 1, 0][: len(ids)]}).to_csv(manifests[cohort], index=False)
        caches[cohort] = tmp_path / f"{cohort}_8px.npy"
        build_image_cache(paths, 8, caches[cohort])
    rows = pd.DataFrame({"cohort": ["external", "development", "development", "external"], "id": ["y", "c", "a", "x"]})
    images = cached_images(rows, manifests, caches)
    assert images.dtype == torch.uint8 and [int(v) for v in images[:, 0, 4, 4]] == [110, 20, 0, 100]
    pd.DataFrame({"id": ["x"], "label": [0]}).to_csv(manifests["external"], index=False)
    with pytest.raises(ValueError, match="external_8px.npy holds 2 images but .*external.csv lists 1"):
        cached_images(rows, manifests, caches)
