"""Ranking metrics as pure functions of where the relevant items landed.

``ranks[i]`` holds the 1-based ranks of query ``i``'s relevant items in a full ranking, padded with 0
where a query has fewer relevant items than the widest row. Over a full ranking every relevant item has
a rank, so these ranks determine AP, recall, RR and nDCG exactly, and computing them needs neither the
ranking itself nor a relevance matrix the size of the pool. ``gains`` (aligned with ``ranks``) are the
items' relevance grades; only nDCG uses them: AP, recall and RR count any grade > 0 as relevant, as
trec_eval does for its binary measures.
"""
from __future__ import annotations

import numpy as np

RECALL_KS = (1, 5, 10, 100)
CUTOFF = 10


def sorted_ranks(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks sorted ascending with padding moved to the end as +inf, and the number of relevant items."""
    ranks = np.atleast_2d(np.asarray(ranks))
    n_rel = (ranks > 0).sum(axis=1)
    if (n_rel == 0).any():
        raise ValueError(f"{int((n_rel == 0).sum())} queries have no relevant item in the pool")
    return np.sort(np.where(ranks > 0, ranks, np.inf), axis=1), n_rel


def average_precision(ranks: np.ndarray) -> np.ndarray:
    """AP over the full ranking: the k-th relevant item at rank r contributes precision k / r."""
    r, n_rel = sorted_ranks(ranks)
    k = np.arange(1, r.shape[1] + 1)
    return (k / r).sum(axis=1) / n_rel


def recall_at(ranks: np.ndarray, k: int) -> np.ndarray:
    r, n_rel = sorted_ranks(ranks)
    return (r <= k).sum(axis=1) / n_rel


def reciprocal_rank_at(ranks: np.ndarray, k: int) -> np.ndarray:
    first = sorted_ranks(ranks)[0][:, 0]
    return np.where(first <= k, 1.0 / first, 0.0)


def ndcg_at(ranks: np.ndarray, k: int, gains: np.ndarray | None = None) -> np.ndarray:
    """nDCG@k with linear gains, grade / log2(rank + 1), against the ideal ranking that puts the highest
    grades first (trec_eval's ``ndcg_cut``); ``gains=None``: every relevant item has grade 1."""
    ranks = np.atleast_2d(np.asarray(ranks))
    relevant = ranks > 0
    g = relevant.astype(np.float64) if gains is None else np.where(relevant, np.atleast_2d(gains), 0.0)
    if (g[relevant] <= 0).any():
        raise ValueError("a relevant item has a grade <= 0")
    r, _ = sorted_ranks(ranks)
    g = np.take_along_axis(g, np.argsort(np.where(relevant, ranks, np.inf), axis=1, kind="stable"), axis=1)
    dcg = np.where(r <= k, g / np.log2(r + 1), 0.0).sum(axis=1)
    best = -np.sort(-g, axis=1)[:, :k]
    ideal = np.cumsum(best / np.log2(np.arange(2, best.shape[1] + 2)), axis=1)[:, -1]  # summed in rank order
    return dcg / ideal


def rank_gap(ranks: np.ndarray) -> np.ndarray:
    """Highest minus lowest rank among a query's relevant items (its parallel sentences in every language);
    at best ``n_rel - 1``, when they are ranked next to each other."""
    r, n_rel = sorted_ranks(ranks)
    return r[np.arange(len(r)), n_rel - 1] - r[:, 0]


def ranking_metrics(ranks: np.ndarray, gains: np.ndarray | None = None, recall_ks=RECALL_KS,
                    cutoff: int = CUTOFF) -> dict[str, np.ndarray]:
    """Per-query values of every reported retrieval metric (``gains``: grades for nDCG, None: binary)."""
    out = {"map": average_precision(ranks), f"mrr@{cutoff}": reciprocal_rank_at(ranks, cutoff),
           f"ndcg@{cutoff}": ndcg_at(ranks, cutoff, gains)}
    out.update({f"recall@{k}": recall_at(ranks, k) for k in recall_ks})
    return out
