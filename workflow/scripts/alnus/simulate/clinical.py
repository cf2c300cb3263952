"""Clinical columns of the simulated manifests: age, tumour size and BI-RADS.

config.yaml declares them under ``clinical: variables``. They are drawn per
patient from their own random stream, so that the images stay those of the
image-only demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CLINICAL_COLUMNS", "BIRADS_LEVELS", "BIRADS_CUTS", "simulate_clinical"]

CLINICAL_COLUMNS = ["age", "tumour_size_mm", "birads"]
BIRADS_LEVELS = ("3", "4a", "4b", "4c", "5")
BIRADS_CUTS = (-1.5, -0.3, 0.5, 1.3)  # on the radiologist's noisy view of the latent suspiciousness


def simulate_clinical(rng: np.random.Generator, manifest: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """Clinical columns of one simulated cohort, one draw per patient.

    Age (years) is younger with metastasis (mean 52 vs 57, SD 11; 25-95,
    so that a few exceed 89 and are top-coded in results/), tumour size (mm)
    larger (log-normal, median 22 vs 15 mm; 4-80 mm), and the BI-RADS
    category (3, 4a, 4b, 4c, 5) is a radiologist's reading of the lesion's
    latent suspiciousness with noise of SD 1, so it overlaps with what the
    images show, as a real BI-RADS reading does.

    Parameters
    ----------
    rng : numpy.random.Generator (its own stream, not the images').
    manifest : the cohort's manifest (image, patient_id, label, ...).
    records : per image, with "image" and "suspiciousness".

    Returns
    -------
    `manifest` with CLINICAL_COLUMNS appended (the same values for every
    image of a patient).
    """
    suspicious = dict(zip((r["image"] for r in records), (r["suspiciousness"] for r in records)))
    patients = manifest.drop_duplicates("patient_id")
    label = patients["label"].to_numpy()
    n = len(patients)
    age = np.clip(np.round(rng.normal(57 - 5 * label, 11)), 25, 95).astype(int)
    size = np.clip(np.round(np.exp(rng.normal(np.log(15) + 0.4 * label, 0.4)), 1), 4, 80)
    reading = patients["image"].map(suspicious).to_numpy(float) + rng.normal(0, 1.0, n)
    birads = np.array(BIRADS_LEVELS)[np.searchsorted(BIRADS_CUTS, reading)]
    values = pd.DataFrame(
        {"patient_id": patients["patient_id"].to_numpy(), "age": age, "tumour_size_mm": size, "birads": birads}
    )
    return manifest.merge(values, on="patient_id", how="left", validate="many_to_one")
