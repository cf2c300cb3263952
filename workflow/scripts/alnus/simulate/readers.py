"""The readers: simulated radiologists who call the external cohort's images.

Each reader thresholds the lesion's visible suspiciousness plus their own
perception noise, so that readers agree on obvious cases and differ on others;
noise and threshold are solved from the reader's target sensitivity and
specificity.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy.special import ndtr

from alnus.simulate.lesions import CUE_NOISE, CUES, LATENT_SEPARATION

__all__ = ["READERS", "simulate_readers"]

# Five radiologists: (sensitivity, specificity) each would reach on an endless
# cohort. Their calls threshold the lesion's visible suspiciousness plus their
# own perception noise, so they agree on obvious cases and differ on others.
READERS: dict[str, tuple[float, float]] = {
    "reader_1": (0.85, 0.58),
    "reader_2": (0.73, 0.63),
    "reader_3": (0.62, 0.80),
    "reader_4": (0.78, 0.70),
    "reader_5": (0.68, 0.75),
}


def simulate_readers(
    rng: np.random.Generator,
    images: pd.DataFrame,
    *,
    readers: dict[str, tuple[float, float]] = READERS,
    separation: float = LATENT_SEPARATION,
    cue_noise: float = CUE_NOISE,
) -> pd.DataFrame:
    """Simulate radiologists' calls on test images.

    Each reader sees the lesion's visible suspiciousness plus their own
    perception noise and calls it positive above their threshold. Noise and
    threshold are solved from the reader's target (sensitivity, specificity)
    for the cohort's class-conditional distribution of ``visible``
    (normal, means +-separation/2, variance 1 + cue_noise**2 / 6).

    Parameters
    ----------
    rng : numpy.random.Generator
    images : DataFrame with columns ``image`` and ``visible``
    readers : dict name -> (sensitivity, specificity)

    Returns
    -------
    DataFrame with columns ``image``, ``reader``, ``call``, ``score`` (long
    format). ``score`` is the reader's confidence on a 0-100 scale, the
    normal probability of what they saw relative to their own threshold
    (call 1 exactly where score > 50), as a reader rating probability of
    malignancy would give it.

    Raises
    ------
    ValueError
        If a target pair is not reachable with this class separation.
    """
    z = NormalDist().inv_cdf
    sd_visible = math.sqrt(1 + cue_noise**2 / len(CUES))
    rows = []
    for name, (sens, spec) in readers.items():
        total = z(sens) + z(spec)
        if total <= 0 or total > separation / sd_visible:
            raise ValueError(
                f"reader {name!r}: sensitivity {sens} with specificity {spec} is not reachable "
                f"with separation {separation}; lower one of them"
            )
        sd_total = separation / total
        noise = math.sqrt(max(0.0, sd_total**2 - sd_visible**2))
        threshold = separation / 2 - z(sens) * sd_total
        seen = images["visible"].to_numpy() + rng.normal(0, noise, size=len(images))
        scores = np.round(100 * ndtr((seen - threshold) / sd_total), 1)
        calls = (scores > 50).astype(int)  # from the rounded score, so that the two always agree
        rows.append(pd.DataFrame({"image": images["image"].to_numpy(), "reader": name, "call": calls, "score": scores}))
    return pd.concat(rows, ignore_index=True)
