"""Tests of alnus.simulate.clinical: the simulated clinical columns."""

import numpy as np
import pandas as pd

from alnus import simulate as sim


def test_clinical_columns_are_per_patient_plausible_and_follow_the_label():
    rng = np.random.default_rng(3)
    patients = 400
    labels = rng.permutation(np.r_[np.ones(patients // 2, int), np.zeros(patients // 2, int)])
    manifest = pd.DataFrame(
        {
            "image": [f"p{i}/US_{v}.png" for i in range(patients) for v in (1, 2)],
            "patient_id": [f"P{i}" for i in range(patients) for _ in (1, 2)],
            "label": np.repeat(labels, 2),
        }
    )
    records = [
        {"image": image, "suspiciousness": (label - 0.5) * sim.LATENT_SEPARATION + rng.normal()}
        for image, label in zip(manifest["image"], manifest["label"])
    ]
    table = sim.simulate_clinical(np.random.default_rng(1), manifest, records)
    assert list(table.columns) == ["image", "patient_id", "label", *sim.CLINICAL_COLUMNS]
    assert (table.groupby("patient_id")[sim.CLINICAL_COLUMNS].nunique() == 1).all().all()
    assert table["age"].between(25, 95).all() and table["tumour_size_mm"].between(4, 80).all()
    assert set(table["birads"]) <= set(sim.BIRADS_LEVELS) and table["birads"].nunique() >= 4
    by_label = table.drop_duplicates("patient_id").groupby("label")
    assert by_label["age"].mean()[1] < by_label["age"].mean()[0] - 2
    assert by_label["tumour_size_mm"].median()[1] > by_label["tumour_size_mm"].median()[0] + 3
    rank = table["birads"].map({level: i for i, level in enumerate(sim.BIRADS_LEVELS)})
    assert rank[table["label"] == 1].mean() > rank[table["label"] == 0].mean() + 1
