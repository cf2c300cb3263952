"""Tests of alnus.simulate.readers: the simulated radiologists."""

import numpy as np
import pandas as pd
import pytest

from alnus import simulate as sim


def test_simulate_readers_hits_targets_on_a_large_cohort():
    rng = np.random.default_rng(8)
    labels = np.r_[np.ones(4000, int), np.zeros(4000, int)]
    visible = [sim.sample_lesion(rng, int(y)).visible for y in labels]
    images = pd.DataFrame({"image": [f"img{k}" for k in range(len(labels))], "visible": visible})
    calls = sim.simulate_readers(rng, images)
    calls["label"] = np.tile(labels, len(sim.READERS))
    for reader, (sens, spec) in sim.READERS.items():
        mine = calls[calls["reader"] == reader]
        assert mine.loc[mine["label"] == 1, "call"].mean() == pytest.approx(sens, abs=0.03)
        assert 1 - mine.loc[mine["label"] == 0, "call"].mean() == pytest.approx(spec, abs=0.03)
    # Readers agree more than independent coin flips would: calls are correlated.
    wide = calls.pivot(index="image", columns="reader", values="call")
    assert wide.corr().to_numpy()[np.triu_indices(5, 1)].min() > 0.2


def test_simulate_readers_rejects_unreachable_target():
    images = pd.DataFrame({"image": ["a"], "visible": [0.0]})
    with pytest.raises(ValueError, match="reader 'perfect': sensitivity 0.99 with specificity 0.99 is not reachable"):
        sim.simulate_readers(np.random.default_rng(0), images, readers={"perfect": (0.99, 0.99)})
