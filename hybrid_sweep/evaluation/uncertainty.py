"""Uncertainty over queries: bootstrap confidence intervals and a paired test between two runs.

Values come as a ``(groups, units)`` matrix: a group is one language or language pair of a setting, a
unit is a parallel question id, NaN where a group lacks that id (MLQA-R). The statistic is the macro
average the results report (mean over groups of each group's mean over its queries). Resampling
*parallel ids* rather than single queries keeps the translations of one question together: they are
not independent draws, and treating them so would make the intervals too narrow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_BOOT = 1000
DEFAULT_PERM = 10000


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    level: float


@dataclass(frozen=True)
class PairedTest:
    """``a - b`` on the same queries: the difference, its bootstrap interval and a randomisation p-value."""

    diff: float
    low: float
    high: float
    p_value: float  # two-sided: how often swapping a and b per unit gives a difference at least this large
    n_units: int


def _matrix(values: np.ndarray) -> np.ndarray:
    m = np.asarray(values, dtype=np.float64)
    m = m[None, :] if m.ndim == 1 else m
    if m.ndim != 2 or m.shape[1] == 0:
        raise ValueError(f"expected per-query values as (units,) or (groups, units), got shape {np.shape(values)}")
    if (~np.isnan(m)).sum(axis=1).min() == 0:
        raise ValueError("a group has no query values")
    return m


def macro_mean(values: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Mean over groups of per-group means; ``counts`` (resamples, units) weights units, one row per resample."""
    m = _matrix(values)
    present = ~np.isnan(m)
    filled = np.where(present, m, 0.0)
    counts = np.ones((1, m.shape[1])) if counts is None else np.atleast_2d(counts).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # a group may draw none of its units in a resample
        group_means = (counts @ filled.T) / (counts @ present.T)
    return np.nanmean(group_means, axis=1)


def _resample_counts(n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each unit is drawn in each of ``n_boot`` resamples of ``n_units`` with replacement."""
    draws = np.random.default_rng(seed).integers(0, n_units, size=(n_boot, n_units))
    flat = (draws + n_units * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_units).reshape(n_boot, n_units)


def bootstrap_ci(values: np.ndarray, n_boot: int = DEFAULT_BOOT, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile bootstrap interval of the macro mean, resampling units with replacement (seeded)."""
    m = _matrix(values)
    boots = macro_mean(m, _resample_counts(m.shape[1], n_boot, seed))
    low, high = np.nanquantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(macro_mean(m)[0]), float(low), float(high), level)


def paired_test(a: np.ndarray, b: np.ndarray, n_boot: int = DEFAULT_BOOT, n_perm: int = DEFAULT_PERM,
                seed: int = 0, level: float = 0.95) -> PairedTest:
    """Paired bootstrap interval and sign-flip randomisation test of ``macro(a) - macro(b)``.

    Under the null hypothesis the two runs are exchangeable on each unit, so swapping a unit's values
    between them (flipping the sign of its contribution to the difference) is as likely as not.
    """
    ma, mb = _matrix(a), _matrix(b)
    if ma.shape != mb.shape or not np.array_equal(np.isnan(ma), np.isnan(mb)):
        raise ValueError(f"paired test needs the same queries in both runs: shapes {ma.shape} vs {mb.shape} "
                         "or different missing values; align them with aligned_matrices()")
    d = ma - mb
    present = ~np.isnan(d)
    # the macro difference is linear in the units: sum over units of w_u, w_u = mean_g d_gu / n_g
    weights = (np.where(present, d, 0.0) / present.sum(axis=1, keepdims=True)).sum(axis=0) / d.shape[0]
    observed = float(weights.sum())
    signs = np.random.default_rng(seed + 1).choice((-1.0, 1.0), size=(n_perm, d.shape[1]))
    flipped = np.abs(signs @ weights)
    p_value = (1 + int((flipped >= abs(observed) - 1e-12).sum())) / (1 + n_perm)
    boots = macro_mean(d, _resample_counts(d.shape[1], n_boot, seed))
    low, high = np.nanquantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return PairedTest(observed, float(low), float(high), float(p_value), d.shape[1])


def query_matrix(per_query: pd.DataFrame, setting: str, metric: str, query_lang: str = "all",
                 doc_lang: str = "all", stage: str | None = None) -> pd.DataFrame:
    """Per-query values of one setting and metric as a (group, qid) table; ``all`` keeps every group.

    ``per_query`` has the columns of ``export.PER_QUERY_COLUMNS``; give ``stage`` when it holds several.
    """
    if stage is None and "stage" in per_query and per_query["stage"].nunique() > 1:
        raise ValueError(f"per-query values of stages {sorted(per_query['stage'].unique())}: pass stage=")
    sel = per_query if stage is None else per_query[per_query.stage == stage]
    sel = sel[(sel.setting == setting) & (sel.metric == metric)]
    if query_lang != "all":
        sel = sel[sel.query_lang == query_lang]
    if doc_lang != "all" and setting != "multi":
        sel = sel[sel.doc_lang == doc_lang]
    if sel.empty:
        raise ValueError(f"no per-query values for setting={setting} metric={metric} query_lang={query_lang} "
                         f"doc_lang={doc_lang}")
    return sel.pivot_table(index=["query_lang", "doc_lang"], columns="qid", values="value", aggfunc="first",
                           observed=True)


def aligned_matrices(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Two :func:`query_matrix` tables of different runs on the same groups and queries, as arrays."""
    if not (a.index.equals(b.index) and set(a.columns) == set(b.columns)):
        raise ValueError(f"runs differ in their queries: {len(a.index)}x{len(a.columns)} vs "
                         f"{len(b.index)}x{len(b.columns)} (group x qid); compare runs on the same evaluation set")
    return a.to_numpy(dtype=np.float64), b[a.columns].to_numpy(dtype=np.float64)
