"""Tests of alnus.simulate.lesions: the lesion model."""

import numpy as np
import pytest

from alnus import simulate as sim


def test_sample_lesion_rejects_bad_label():
    with pytest.raises(ValueError, match="`label` must be 0 or 1, got 2"):
        sim.sample_lesion(np.random.default_rng(0), 2)


def test_lesion_cues_follow_the_label():
    rng = np.random.default_rng(0)
    pos = [sim.sample_lesion(rng, 1) for _ in range(300)]
    neg = [sim.sample_lesion(rng, 0) for _ in range(300)]

    def mean(lesions, field):
        return np.mean([getattr(lesion, field) for lesion in lesions])

    assert mean(pos, "suspiciousness") > mean(neg, "suspiciousness") + 1.5
    assert mean(pos, "width_frac") > mean(neg, "width_frac")
    assert mean(pos, "aspect") > mean(neg, "aspect")
    assert mean(pos, "echo") < mean(neg, "echo")
    assert mean(pos, "posterior") < 1 < mean(neg, "posterior")
    assert mean(pos, "spicules") > mean(neg, "spicules")
    # ...but the classes overlap: some negatives look worse than some positives.
    assert max(x.visible for x in neg) > min(x.visible for x in pos)
    for lesion in pos + neg:
        assert 0.15 <= lesion.width_frac <= 0.35


def test_second_view_keeps_the_tumour():
    rng = np.random.default_rng(1)
    lesion = sim.sample_lesion(rng, 1)
    other = sim.second_view(rng, lesion)
    assert other.suspiciousness == lesion.suspiciousness
    assert (other.echo, other.spicules, other.posterior) == (lesion.echo, lesion.spicules, lesion.posterior)
    assert 0.15 <= other.width_frac <= 0.35
