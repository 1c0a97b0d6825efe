"""Ranking metrics as pure functions of a relevance matrix in rank order.

``rel[i, r]`` is True when the item at rank ``r + 1`` of query ``i`` is relevant; ``n_rel[i]`` is the
number of relevant items query ``i`` has in the pool (so recall and AP see items ranked nowhere).
"""
from __future__ import annotations

import numpy as np


def average_precision(rel: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    """AP over the full ranking: mean precision at each relevant item's rank."""
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    return (np.where(rel, hits / ranks, 0.0)).sum(axis=1) / n_rel


def recall_at(rel: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    return rel[:, :k].sum(axis=1) / n_rel


def reciprocal_rank_at(rel: np.ndarray, k: int) -> np.ndarray:
    top = rel[:, :k]
    first = top.argmax(axis=1)
    return np.where(top.any(axis=1), 1.0 / (first + 1), 0.0)


def ndcg_at(rel: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    """Binary-gain nDCG@k; the ideal ranking puts all ``n_rel`` relevant items first."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (rel[:, :k] * discounts[: rel[:, :k].shape[1]]).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_rel, k) - 1]
    return dcg / ideal


def ranking_metrics(rel: np.ndarray, n_rel: np.ndarray, recall_ks=(1, 5, 10, 100), cutoff: int = 10) -> dict[str, np.ndarray]:
    """Per-query values of every reported metric."""
    if (n_rel <= 0).any():
        raise ValueError(f"{int((n_rel <= 0).sum())} queries have no relevant item in the pool")
    out = {"map": average_precision(rel, n_rel), f"mrr@{cutoff}": reciprocal_rank_at(rel, cutoff),
           f"ndcg@{cutoff}": ndcg_at(rel, n_rel, cutoff)}
    out.update({f"recall@{k}": recall_at(rel, n_rel, k) for k in recall_ks})
    return out
