"""The checks every statistics function shares: choices, levels, counts, labels and scores, clusters.

Messages name the argument, the value received and, where one is given, the
case set (`name`), as every function of `alnus.stats` prefixes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _check_level(level):
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie strictly between 0 and 1, got {level!r}")


def _check_count(k, n, k_name="k", n_name="n"):
    for name, value in ((k_name, k), (n_name, n)):
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"`{name}` must be a whole number, got {value!r}")
    if n <= 0:
        raise ValueError(f"`{n_name}` must be at least 1, got {n_name}={n!r}")
    if not 0 <= k <= n:
        raise ValueError(f"`{k_name}` must lie in [0, {n_name}], got {k_name}={k!r}, {n_name}={n!r}")
    return int(k), int(n)


def check_binary_scores(labels, scores, *, name=None):
    """Check labels and scores as every AUC function here does.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    name : str, optional
        Prefixed to error messages, e.g. "inception_v3 on external_test".

    Returns
    -------
    (positive, scores) : bool array and float array, each of shape (n_cases,)

    Raises
    ------
    ValueError
        If labels are not the numbers 0/1 (strings such as '1' are refused),
        scores are not finite or not 1-D, lengths differ, there are no cases,
        or only one class is present.
    """
    positive, stacked = _check_binary(labels, scores, name=name)
    return positive, stacked[0]


def _check_binary(labels, *score_arrays, name=None):
    """Validate labels (0/1) and scores (finite, same length, both classes).

    Returns labels as a bool array of shape (n_cases,) and the scores stacked
    into a float array of shape (len(score_arrays), n_cases).
    """
    prefix = f"{name}: " if name else ""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{prefix}labels must be 1-D, got shape {labels.shape}")
    # Strings ('0', '1') never count as numbers: numpy compares them unequal to 0
    # and 1, and the message must then say what was received, not just "got 1".
    numeric = labels.dtype.kind in "biuf"
    bad = ~np.isin(labels, (0, 1)) if numeric or labels.dtype.kind == "O" else np.ones(labels.shape, bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = labels[i].item() if isinstance(labels[i], np.generic) else labels[i]
        hint = "" if numeric else "; convert with astype(int)"
        raise ValueError(
            f"{prefix}labels must be the numbers 0 or 1, got {value!r} (dtype {labels.dtype}) "
            f"at index {i} ({int(bad.sum())} invalid value(s)){hint}"
        )
    stacked = []
    for scores in score_arrays:
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 1:
            raise ValueError(
                f"{prefix}scores must be 1-D with one score per label, got shape "
                f"{scores.shape} for {labels.shape[0]} labels"
            )
        if scores.shape != labels.shape:
            raise ValueError(
                f"{prefix}scores and labels must have the same length, got "
                f"{scores.shape[0]} scores for {labels.shape[0]} labels"
            )
        if not np.isfinite(scores).all():
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise ValueError(
                f"{prefix}scores must be finite, got {scores[i]} at index {i}; drop or impute missing predictions first"
            )
        stacked.append(scores)
    if labels.size == 0:
        raise ValueError(f"{prefix}no cases: labels and scores are empty")
    positive = labels == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"{prefix}labels contain only one class (n={n_pos} positives, {n_neg} negatives); an AUC needs both"
        )
    return positive, np.vstack(stacked)


def cluster_codes(clusters, n_cases, name=None, *, minimum=1):
    """Integer codes 0..n_clusters-1 of each case's cluster (patient), and n_clusters.

    The one check of a `clusters` argument that every clustered statistic
    (`alnus.stats`, `alnus.clustered`, `alnus.bootstrap`, `alnus.mrmc`) makes.
    Any hashable values name the clusters (strings, ints, tuples); missing
    values (None, NaN, pd.NA) are refused, and so are fewer than `minimum`
    distinct clusters. Hashing (pd.factorize) keeps this O(n) for a million
    string identifiers. Messages start with "`name`: " where a name is given.
    """
    prefix = f"{name}: " if name else ""
    if not isinstance(clusters, (np.ndarray, pd.Series, pd.Index)):
        clusters = pd.Series(list(clusters), dtype=object)  # a list of tuples stays 1-D
    if np.ndim(clusters) != 1:
        raise ValueError(f"{prefix}clusters must be 1-D with one patient per case, got shape {np.shape(clusters)}")
    if len(clusters) != n_cases:
        raise ValueError(
            f"{prefix}clusters must name the patient of every case: got {len(clusters)} clusters for {n_cases} cases"
        )
    if n_cases == 0:
        raise ValueError(f"{prefix}no cases: the arrays are empty")
    try:
        codes, uniques = pd.factorize(clusters)
    except TypeError as error:  # e.g. lists, which cannot be hashed
        raise ValueError(
            f"{prefix}clusters must be hashable patient ids (strings, numbers, tuples), got {error}"
        ) from None
    missing = codes < 0
    if missing.any():
        raise ValueError(
            f"{prefix}clusters must name every case's patient, got a missing value at index "
            f"{int(np.flatnonzero(missing)[0])} ({int(missing.sum())} missing)"
        )
    if len(uniques) < minimum:
        raise ValueError(
            f"{prefix}a clustered interval or test needs at least {minimum} patients (clusters), "
            f"got {len(uniques)}; with one patient there is no between-patient variance to estimate"
        )
    return codes.astype(np.intp, copy=False), len(uniques)
