"""Tests for alnus.mrmc: brute-force jackknife, a hand-computed example, the
published VanDyke values, the two-treatment ORH equivalence, invariances and
errors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from alnus.mrmc import model_vs_readers

# VanDyke et al. (1993) CINE vs spin-echo MRI for aortic dissection, the
# standard MRMC example: 5 readers x 2 modalities x 114 cases (69 negatives,
# then 45 positives), ratings 1-5. Transcribed from RJafroc's
# inst/extdata/datasets/VD.lrc (the same data as MRMCaov's `VanDyke`); key
# "<modality 0/1><reader 0-4>".
VAN_DYKE = {
    "00": "122151111111411111111131311214111113121211233131133111111221111332111555545554555434245555555154454553555115554451",
    "01": "232222222322522232222222422223222222222222222222222222222432232222222535555542555442225555555243354552425225555352",
    "02": "222235112242422232221232411322112224121412112222223211211221151421212545555555555542355555555252255552555225555552",
    "03": "111111311111111111112111211112111111111111111111331111111111111311111555555555555555155555555554544553555125555555",
    "04": "351211112221211122113221111211211231221113332111211111111341231212113525255551545452235555554144322151515115553552",
    "10": "333222223213122222211111421312214323123122233111333113412421241442111535555554555544335555555355355554455535555551",
    "11": "322222223222222122221222322222212212222231223222222222322322222222122535555552555344245455545252355532425525555552",
    "12": "242222322211132222121121411512112122212221132111233113221232341242121525555555555354145555555253355543555534555551",
    "13": "221111312111122111211111321212111122112111112121212211111212111323211545555554555455555555555455445555555535555555",
    "14": "223122221222111222122212322321212222112121132122332122221222231233111525455555455343335555555251332532545533555553",
}
VD_LABELS = np.r_[np.zeros(69, int), np.ones(45, int)]


def van_dyke(modality: int) -> np.ndarray:
    """Ratings of one modality, shape (5 readers, 114 cases)."""
    return np.array([[int(c) for c in VAN_DYKE[f"{modality}{r}"]] for r in range(5)])


# --------------------------------------------------------------------------
# Brute-force references: figures by explicit loops, jackknife by refitting
# --------------------------------------------------------------------------
def slow_figure(labels, values, figure):
    x, y = values[labels == 1], values[labels == 0]
    if figure == "auc":
        return float(np.mean([[1.0 if a > b else 0.5 if a == b else 0.0 for b in y] for a in x]))
    if figure == "sensitivity":
        return float(np.mean(x))
    return float(np.mean(1 - y))


def slow_jackknife(labels, raters, figure, units):
    """Leave-one-unit-out figures, shape (G, n_raters), over the units that
    change the figure (all for AUC, those with a case of the class otherwise)."""
    cls = {"auc": (0, 1), "sensitivity": (1,), "specificity": (0,)}[figure]
    rows = []
    for unit in dict.fromkeys(units):
        keep = units != unit
        if not np.isin(labels[~keep], cls).any():
            continue
        rows.append([slow_figure(labels[keep], r[keep], figure) for r in raters])
    return np.array(rows)


def slow_cov(jack):
    g = jack.shape[0]
    c = jack - jack.mean(axis=0)
    return np.array(
        [
            [(g - 1) / g * sum(c[k, a] * c[k, b] for k in range(g)) for b in range(jack.shape[1])]
            for a in range(jack.shape[1])
        ]
    )


def slow_one_treatment(labels, model_values, readers, figure, units, level=0.95):
    """The 1T-RRRC statistics written out from Hillis (2007) section 5.3."""
    raters = np.vstack([model_values, readers])
    theta = np.array([slow_figure(labels, r, figure) for r in raters])
    jack = slow_jackknife(labels, raters, figure, units)
    psi_jack = jack[:, :1] - jack[:, 1:]
    cov = slow_cov(psi_jack)
    j = readers.shape[0]
    psi = theta[0] - theta[1:]
    var = np.mean([cov[a, a] for a in range(j)])
    cov2 = np.mean([cov[a, b] for a in range(j) for b in range(j) if a != b])
    ms_r = sum((p - psi.mean()) ** 2 for p in psi) / (j - 1)
    den = ms_r + j * max(cov2, 0)
    ddf = den**2 / (ms_r**2 / (j - 1))
    t = psi.mean() / math.sqrt(den / j)
    half = sps.t.ppf(0.5 + level / 2, ddf) * math.sqrt(den / j)
    return dict(
        model=theta[0],
        mean_reader=theta[1:].mean(),
        difference=psi.mean(),
        var_error=var,
        cov2=cov2,
        ms_r=ms_r,
        ddf=ddf,
        t=t,
        p=2 * sps.t.sf(abs(t), ddf),
        low=psi.mean() - half,
        high=psi.mean() + half,
        n_units=jack.shape[0],
    )


def orh_two_treatments(labels, values, figure, units):
    """Two-treatment Obuchowski-Rockette-Hillis F test (Hillis 2007),
    values of shape (2 treatments, J readers, n cases), brute force."""
    t_, j = values.shape[:2]
    flat = values.reshape(t_ * j, -1)
    theta = np.array([slow_figure(labels, r, figure) for r in flat]).reshape(t_, j)
    cov = slow_cov(slow_jackknife(labels, flat, figure, units))
    at = lambda i, r: i * j + r  # noqa: E731
    var = np.mean([cov[at(i, r), at(i, r)] for i in range(2) for r in range(j)])
    cov1 = np.mean([cov[at(i, r), at(1 - i, r)] for i in range(2) for r in range(j)])
    cov2 = np.mean([cov[at(i, r), at(i, s)] for i in range(2) for r in range(j) for s in range(j) if r != s])
    cov3 = np.mean([cov[at(i, r), at(1 - i, s)] for i in range(2) for r in range(j) for s in range(j) if r != s])
    grand = theta.mean()
    ms_t = j * sum((theta[i].mean() - grand) ** 2 for i in range(2))
    ms_tr = sum(
        (theta[i, r] - theta[i].mean() - theta[:, r].mean() + grand) ** 2 for i in range(2) for r in range(j)
    ) / (j - 1)
    den = ms_tr + j * max(cov2 - cov3, 0)
    ddf = den**2 / (ms_tr**2 / (j - 1))
    f = ms_t / den
    return dict(
        var=var,
        cov1=cov1,
        cov2=cov2,
        cov3=cov3,
        ms_t=ms_t,
        ms_tr=ms_tr,
        f=f,
        ddf=ddf,
        p=sps.f.sf(f, 1, ddf),
        difference=theta[0].mean() - theta[1].mean(),
    )


def small_study(seed, n_pos=7, n_neg=6, n_readers=3, binary=False):
    """Correlated ordinal readings with ties; clusters of 1-3 cases that can mix classes."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)])
    case = rng.normal(size=labels.size) + labels
    model = np.round(case + 0.5 * rng.normal(size=labels.size), 1)
    readers = np.clip(np.round(2.5 + case + rng.normal(size=(n_readers, labels.size))), 1, 5)
    if binary:
        readers = (readers >= 3).astype(int)
    clusters = np.repeat(np.arange(labels.size), rng.integers(1, 4, size=labels.size))[: labels.size]
    return labels, model, readers, clusters


# --------------------------------------------------------------------------
# Against brute force and by hand
# --------------------------------------------------------------------------
@pytest.mark.parametrize("figure", ["auc", "sensitivity", "specificity"])
@pytest.mark.parametrize("clustered", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_matches_brute_force(figure, clustered, seed):
    labels, model, readers, clusters = small_study(seed, binary=figure != "auc")
    threshold = None if figure == "auc" else 0.5
    units = clusters if clustered else np.arange(labels.size)
    res = model_vs_readers(
        labels, model, readers, figure=figure, threshold=threshold, clusters=clusters if clustered else None, level=0.9
    )
    model_values = model if figure == "auc" else (model >= threshold).astype(float)
    ref = slow_one_treatment(labels, model_values, readers, figure, units, level=0.9)
    for key, value in ref.items():
        assert getattr(res, key) == pytest.approx(value, rel=1e-10, abs=1e-13), key
    assert res.resampling == ("cluster jackknife" if clustered else "case jackknife")


def test_hand_computed_sensitivity_example():
    # 4 positives, 2 negatives; the model calls every positive positive
    # (sensitivity 1 in every jackknife sample, so it adds no variance).
    # Reader 1 calls positives 1,1,1,0 (0.75), reader 2 1,1,0,0 (0.5).
    # psi = (1/4, 1/2); MS(R) = 1/32. Leaving out positive k: reader 1
    # (2/3, 2/3, 2/3, 1), reader 2 (1/3, 1/3, 2/3, 2/3); the jackknife (3/4 of
    # the centred cross-products) gives Var = (1/16 + 1/12) / 2 = 7/96 and
    # Cov2 = 1/24. MS_den = 1/32 + 2/24 = 11/96, ddf = (11/96)^2 / (1/32)^2
    # = 121/9, se = sqrt(11/192).
    labels = np.array([1, 1, 1, 1, 0, 0])
    model = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.2])
    readers = np.array([[1, 1, 1, 0, 0, 1], [1, 1, 0, 0, 0, 0]])
    res = model_vs_readers(labels, model, readers, figure="sensitivity", threshold=0.5)
    assert (res.model, res.mean_reader, res.difference) == (1.0, 0.625, 0.375)
    assert res.ms_r == pytest.approx(float(Fraction(1, 32)))
    assert res.var_error == pytest.approx(float(Fraction(7, 96)))
    assert res.cov2 == pytest.approx(float(Fraction(1, 24)))
    assert res.var_reader == pytest.approx(float(Fraction(1, 32) - Fraction(7, 96) + Fraction(1, 24)))
    assert res.ddf == pytest.approx(121 / 9)
    assert res.se == pytest.approx(math.sqrt(11 / 192))
    assert res.t == pytest.approx(0.375 / math.sqrt(11 / 192))
    assert res.model_var == 0 and res.model_reader_cov == 0
    assert (res.n_units, res.n_positives, res.n_negatives) == (4, 4, 2)


def test_components_of_figures_add_up():
    labels, model, readers, clusters = small_study(5, n_pos=12, n_neg=10, n_readers=4)
    res = model_vs_readers(labels, model, readers, clusters=clusters)
    assert res.var_error == pytest.approx(res.model_var - 2 * res.model_reader_cov + res.reader_var)
    assert res.cov2 == pytest.approx(res.model_var - 2 * res.model_reader_cov + res.reader_reader_cov)
    assert res.ms_r == pytest.approx(np.var(res.readers, ddof=1))


# --------------------------------------------------------------------------
# Published values (VanDyke) and the two-treatment equivalence
# --------------------------------------------------------------------------
def test_van_dyke_reader_aucs_as_published():
    # MRMCaov docs/jss (Smith & Hillis), "Single reader 95% CIs", empirical AUC.
    published = [
        [0.9196457, 0.8587762, 0.9038647, 0.9731079, 0.8297907],
        [0.9478261, 0.9053140, 0.9217391, 0.9993559, 0.9299517],
    ]
    for modality in (0, 1):
        res = model_vs_readers(VD_LABELS, VD_LABELS, van_dyke(modality))
        np.testing.assert_allclose(res.readers, published[modality], atol=5e-8)


@pytest.mark.parametrize("modality, var, cov2", [(0, 0.0010141028, 0.0004839618), (1, 0.0005904738, 0.0002041879)])
def test_van_dyke_single_modality_jackknife_as_published(modality, var, cov2):
    # A perfect model (AUC 1 in every jackknife sample) makes psi_j = 1 -
    # theta_j, so Var and Cov2 are the readers' own: MRMCaov's jackknife
    # Var(Error) and Cov2 for each treatment (fixed-reader summary).
    res = model_vs_readers(VD_LABELS, VD_LABELS, van_dyke(modality))
    assert res.var_error == pytest.approx(var, abs=5e-11)
    assert res.cov2 == pytest.approx(cov2, abs=5e-11)


@pytest.mark.parametrize(
    "modality, ms_r, cov2, se, ddf, low, high",
    [
        (0, 0.009135802, 0.001646465, 0.05893747, 14.456811, 0.6961876, 0.9482568),
        (1, 0.005086420, 0.000382716, 0.03741657, 7.575855, 0.8328691, 1.0071309),
    ],
)
def test_van_dyke_single_modality_sensitivity_as_published(modality, ms_r, cov2, se, ddf, low, high):
    # MRMCaov's per-treatment RRRC interval for binary sensitivity (rating >= 3),
    # Hillis (2007) section 5.3: with a perfect model the interval of the
    # difference is 1 minus that of the average reader. (MRMCaov prints the
    # upper limit of modality 2 clipped to 1; unclipped it is 0.92 + 0.0871309.)
    res = model_vs_readers(
        VD_LABELS, VD_LABELS, (van_dyke(modality) >= 3).astype(int), figure="sensitivity", threshold=0.5
    )
    assert (res.ms_r, res.cov2, res.se) == pytest.approx((ms_r, cov2, se), abs=5e-9)
    assert res.ddf == pytest.approx(ddf, abs=5e-6)
    assert (1 - res.high, 1 - res.low) == pytest.approx((low, high), abs=5e-7)


def test_two_treatment_reference_reproduces_published_van_dyke():
    # The brute-force ORH used below against MRMCaov's published VanDyke
    # analysis: jackknife, empirical AUC (Var, Cov1-3 from its fixed-reader
    # summary; MS(T), MS(T:R) from its random-reader one; F, ddf, p as they
    # follow from those) and binary sensitivity (F = 6.689493, df2 = 15.71732,
    # p = 0.02008822, printed).
    values = np.stack([van_dyke(0), van_dyke(1)])
    cases = np.arange(VD_LABELS.size)
    auc = orh_two_treatments(VD_LABELS, values, "auc", cases)
    expected = dict(
        var=0.0008022883, cov1=0.0003466137, cov2=0.0003440748, cov3=0.0002390284, ms_t=0.004796171, ms_tr=0.0005510306
    )
    for key, value in expected.items():
        assert auc[key] == pytest.approx(value, abs=5e-10), key
    assert (auc["f"], auc["ddf"], auc["p"]) == pytest.approx((4.456, 15.26, 0.0517), abs=5e-4)
    sens = orh_two_treatments(VD_LABELS, (values >= 3).astype(int), "sensitivity", cases)
    assert (sens["var"], sens["cov1"], sens["cov2"], sens["cov3"]) == pytest.approx(
        (0.0023681257, 0.0009943883, 0.0010145903, 0.0006604938), abs=5e-10
    )
    assert (sens["f"], sens["ddf"], sens["p"]) == pytest.approx((6.689493, 15.71732, 0.02008822), abs=5e-6)


@pytest.mark.parametrize("figure", ["auc", "sensitivity"])
def test_equals_two_treatment_orh_with_the_model_copied_for_each_reader(figure):
    # RJafroc's "2T-RRRC": the model's readings copied J times as a second
    # treatment; the standard ORH test then gives the same t^2 = F, ddf, p.
    # The "model" here is the consensus (mean rating) of modality 2's readers.
    readers = van_dyke(0)
    model = van_dyke(1).mean(axis=0)
    if figure == "sensitivity":
        readers = (readers >= 3).astype(int)
    threshold = 3.0 if figure == "sensitivity" else None
    res = model_vs_readers(VD_LABELS, model, readers, figure=figure, threshold=threshold)
    model_values = model if figure == "auc" else (model >= 3).astype(float)
    copied = np.stack([np.tile(model_values, (5, 1)), readers])
    ref = orh_two_treatments(VD_LABELS, copied, figure, np.arange(VD_LABELS.size))
    assert res.difference == pytest.approx(ref["difference"])
    assert res.t**2 == pytest.approx(ref["f"], rel=1e-10)
    assert res.ddf == pytest.approx(ref["ddf"], rel=1e-10)
    assert res.p == pytest.approx(ref["p"], rel=1e-8)
    assert res.cov2 == pytest.approx(2 * (ref["cov2"] - ref["cov3"]), rel=1e-10)


def test_paired_t_test_when_cases_add_no_covariance():
    # Readers whose errors on the positives run against each other: Cov2 < 0,
    # so MS_den = MS(R) and the test is the one-sample t test of psi, J - 1 df.
    labels = np.r_[np.ones(8, int), np.zeros(4, int)]
    model = np.r_[np.ones(8), np.zeros(4)]
    readers = np.array(
        [
            [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        ]
    )
    res = model_vs_readers(labels, model, readers, figure="sensitivity", threshold=0.5)
    assert res.cov2 < 0
    psi = res.model - res.readers
    t_test = sps.ttest_1samp(psi, 0.0)
    assert (res.t, res.p, res.ddf) == pytest.approx((t_test.statistic, t_test.pvalue, 2))


def test_identical_readers_give_infinite_ddf():
    labels, model, readers, _ = small_study(3)
    res = model_vs_readers(labels, model, np.vstack([readers[0], readers[0]]))
    assert res.ms_r == 0 and res.ddf == math.inf
    assert res.p == pytest.approx(2 * sps.norm.sf(abs(res.t)))


# --------------------------------------------------------------------------
# Invariances
# --------------------------------------------------------------------------
def _fields(res):
    return res.as_dict()


def test_reader_order_does_not_matter():
    labels, model, readers, clusters = small_study(7, n_readers=4)
    a = model_vs_readers(labels, model, readers, clusters=clusters)
    b = model_vs_readers(labels, model, readers[[2, 0, 3, 1]], clusters=clusters)
    for key, value in _fields(a).items():
        if isinstance(value, float):
            assert getattr(b, key) == pytest.approx(value, rel=1e-12, abs=1e-15), key
    np.testing.assert_allclose(b.readers, a.readers[[2, 0, 3, 1]])


@pytest.mark.parametrize("figure", ["auc", "sensitivity", "specificity"])
def test_one_case_per_cluster_equals_no_clusters(figure):
    labels, model, readers, _ = small_study(11, binary=figure != "auc")
    threshold = None if figure == "auc" else 0.5
    plain = model_vs_readers(labels, model, readers, figure=figure, threshold=threshold)
    names = np.array([f"patient-{i}" for i in np.random.default_rng(0).permutation(labels.size)])
    clustered = model_vs_readers(labels, model, readers, figure=figure, threshold=threshold, clusters=names)
    for key, value in _fields(plain).items():
        if key != "resampling":
            assert getattr(clustered, key) == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_monotone_transform_of_scores_keeps_auc_results():
    labels, model, readers, clusters = small_study(13)
    a = model_vs_readers(labels, model, readers, clusters=clusters)
    b = model_vs_readers(labels, np.exp(model), 10 * readers - 3, clusters=clusters)
    for key, value in _fields(a).items():
        if isinstance(value, float):
            assert getattr(b, key) == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_as_dict_is_flat():
    labels, model, readers, _ = small_study(17)
    row = model_vs_readers(labels, model, readers).as_dict()
    assert "readers" not in row and row["figure"] == "auc" and row["n_readers"] == 3


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
LABELS = np.array([1, 1, 0, 0])
MODEL = np.array([0.9, 0.4, 0.5, 0.1])
READERS = np.array([[5, 3, 2, 1], [4, 4, 1, 2]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(reader_scores=READERS[:1]), "at least 2 readers"),
        (dict(reader_scores=READERS[0]), r"shape \(n_readers, 4\)"),
        (dict(reader_scores=READERS.T), "pass the transpose"),
        (dict(reader_scores=np.array([["a", "b", "c", "d"], ["1", "2", "3", "4"]])), "`reader_scores` must be numeric"),
        (dict(reader_scores=np.array([[5, np.nan, 2, 1], [4, 4, 1, 2]])), "`reader_scores` must be finite"),
        (dict(model_scores=["x", 1, 2, 3]), "`model_scores` must be numeric"),
        (dict(model_scores=MODEL[:3]), r"`model_scores` must have shape \(4,\)"),
        (dict(labels=np.ones(4, int)), "only one class"),
        (dict(labels=np.array([1, 2, 0, 0])), "must be 0 or 1, got 2 at index 1"),
        (dict(figure="accuracy"), "`figure` must be one of .*, got 'accuracy'"),
        (dict(figure="sensitivity", reader_scores=READERS >= 3), "needs `threshold`"),
        (dict(figure="specificity", threshold=0.5), "must be binary calls"),
        (dict(threshold=0.5), "applies to figure='sensitivity' or 'specificity' only"),
        (dict(level=1.0), "`level` must lie strictly between 0 and 1"),
        (dict(clusters=[1, 2, 3]), "got 3 clusters for 4 cases"),
        (dict(clusters=["a", None, "b", "c"]), "missing value at index 1"),
        (dict(clusters=["a", "a", "b", "c"]), "one unit holds all 2"),
    ],
)
def test_errors(kwargs, match):
    args = dict(labels=LABELS, model_scores=MODEL, reader_scores=READERS) | kwargs
    with pytest.raises(ValueError, match=match):
        model_vs_readers(args.pop("labels"), args.pop("model_scores"), args.pop("reader_scores"), **args)


# --------------------------------------------------------------------------
# A quick simulation: Roe-Metz readers, H0 "model = average reader" true
# --------------------------------------------------------------------------
def test_null_simulation_rejects_about_alpha_and_alternative_is_detected():
    rng = np.random.default_rng(2019)
    labels = np.r_[np.ones(30, int), np.zeros(30, int)]
    mu, var_r = 1.5, 0.05
    mu_model = mu / math.sqrt(1 + var_r)  # population mean reader AUC = model AUC
    p_null, p_alt = [], []
    for _ in range(300):
        case = rng.normal(0, math.sqrt(0.5), size=60)
        shift = mu + rng.normal(0, math.sqrt(var_r), size=(4, 2))  # reader effects per truth state
        readers = (
            labels * shift[:, :1]
            + (1 - labels) * (shift[:, 1:] - mu)
            + case
            + rng.normal(0, math.sqrt(0.5), size=(4, 60))
        )
        model = mu_model * labels + case + rng.normal(0, math.sqrt(0.5), size=60)
        p_null.append(model_vs_readers(labels, model, readers).p)
        p_alt.append(model_vs_readers(labels, model + 0.8 * labels, readers).p)
    assert 0.02 <= np.mean(np.array(p_null) < 0.05) <= 0.09
    assert np.mean(np.array(p_alt) < 0.05) > 0.5
