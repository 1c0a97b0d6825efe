"""Ranking metrics as pure functions of where the relevant items landed.

``ranks[i]`` holds the 1-based ranks of query ``i``'s relevant items in a full ranking, padded with 0
where a query has fewer relevant items than the widest row. Over a full ranking every relevant item has
a rank, so these ranks determine AP, recall, RR and nDCG exactly, and computing them needs neither the
ranking itself nor a relevance matrix the size of the pool.
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


def ndcg_at(ranks: np.ndarray, k: int) -> np.ndarray:
    """Binary-gain nDCG@k; the ideal ranking puts all relevant items first."""
    r, n_rel = sorted_ranks(ranks)
    dcg = np.where(r <= k, 1.0 / np.log2(r + 1), 0.0).sum(axis=1)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.minimum(n_rel, k) - 1]
    return dcg / ideal


def rank_gap(ranks: np.ndarray) -> np.ndarray:
    """Highest minus lowest rank among a query's relevant items (its parallel sentences in every language);
    at best ``n_rel - 1``, when they are ranked next to each other."""
    r, n_rel = sorted_ranks(ranks)
    return r[np.arange(len(r)), n_rel - 1] - r[:, 0]


def ranking_metrics(ranks: np.ndarray, recall_ks=RECALL_KS, cutoff: int = CUTOFF) -> dict[str, np.ndarray]:
    """Per-query values of every reported retrieval metric."""
    out = {"map": average_precision(ranks), f"mrr@{cutoff}": reciprocal_rank_at(ranks, cutoff),
           f"ndcg@{cutoff}": ndcg_at(ranks, cutoff)}
    out.update({f"recall@{k}": recall_at(ranks, k) for k in recall_ks})
    return out
