"""LAReQA-style retrieval evaluation: encode every text once, rank the whole pool once per query
language with faiss, and read every setting (multi / mono / cross) off that one ranking.

Restricting a ranking over the pooled candidates to one language's candidates gives exactly the
ranking over that language's pool, so mono and cross settings need no second search.
"""
from __future__ import annotations

import numpy as np

from hybrid_sweep.data.records import RetrievalSet
from hybrid_sweep.evaluation.metrics import ranking_metrics
from hybrid_sweep.evaluation.results import ResultRow


def search_full(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Exact inner-product ranking of all candidates for each query (faiss flat index)."""
    import faiss

    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(np.ascontiguousarray(candidates, dtype=np.float32))
    _, ranked = index.search(np.ascontiguousarray(queries, dtype=np.float32), candidates.shape[0])
    return ranked


def _check_inputs(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray) -> None:
    if len(q_emb) != len(rset.questions) or len(c_emb) != len(rset.candidates):
        raise ValueError(f"{rset.name}: {len(q_emb)} query / {len(c_emb)} candidate embeddings for "
                         f"{len(rset.questions)} questions / {len(rset.candidates)} candidates")
    if not (np.isfinite(q_emb).all() and np.isfinite(c_emb).all()):
        raise ValueError(f"{rset.name}: NaN or infinite embeddings; the model diverged")
    if len({c.cid for c in rset.candidates}) != len(rset.candidates):
        raise ValueError(f"{rset.name}: duplicate candidate ids")


def evaluate_embeddings(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray) -> list[ResultRow]:
    _check_inputs(rset, q_emb, c_emb)
    langs = rset.languages
    cand_index = {c.cid: i for i, c in enumerate(rset.candidates)}
    cand_lang = np.array([langs.index(c.lang) for c in rset.candidates])
    rows: list[ResultRow] = []
    per_pair: dict[tuple[str, str], dict[str, float]] = {}
    per_multi: dict[str, dict[str, float]] = {}
    for qa in langs:
        q_idx = [i for i, q in enumerate(rset.questions) if q.lang == qa]
        if not q_idx:
            continue
        relevant = np.zeros((len(q_idx), len(cand_index)), dtype=bool)
        for row, i in enumerate(q_idx):
            relevant[row, [cand_index[c] for c in rset.relevant(rset.questions[i].qid)]] = True
        ranked = search_full(q_emb[q_idx], c_emb)
        rel_sorted = np.take_along_axis(relevant, ranked, axis=1)
        per_multi[qa] = _summarise(ranking_metrics(rel_sorted, relevant.sum(1)))
        rows += _rows("multi", qa, "all", per_multi[qa], len(q_idx))
        ranked_lang = cand_lang[ranked]
        for li, db in enumerate(langs):
            in_lang = ranked_lang == li
            n_lang = int((cand_lang == li).sum())
            rel_b = rel_sorted[in_lang].reshape(len(q_idx), n_lang)
            n_rel_b = relevant[:, cand_lang == li].sum(1)
            has = n_rel_b > 0  # MLQA-R: not every id exists in every language
            if not has.any():
                continue
            metrics = _summarise(ranking_metrics(rel_b[has], n_rel_b[has]))
            per_pair[(qa, db)] = metrics
            rows += _rows("mono" if qa == db else "cross", qa, db, metrics, int(has.sum()))
    for setting, groups in (("multi", list(per_multi.values())),
                            ("mono", [m for (a, b), m in per_pair.items() if a == b]),
                            ("cross", [m for (a, b), m in per_pair.items() if a != b])):
        if groups:
            macro = {k: float(np.mean([g[k] for g in groups])) for k in groups[0]}
            rows += _rows(setting, "all", "all", macro, len(groups))
    return rows


def _summarise(per_query: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(v.mean()) for k, v in per_query.items()}


def _rows(setting: str, qa: str, db: str, metrics: dict[str, float], n: int) -> list[ResultRow]:
    return [ResultRow(setting, qa, db, k, v, n) for k, v in metrics.items()]


def evaluate_model(model, rset: RetrievalSet, batch_size: int = 64) -> list[ResultRow]:
    """Encode questions and candidates once each, then evaluate every setting."""
    q_emb = model.encode([q.text for q in rset.questions], "query", batch_size, progress=f"encode questions ({rset.name})")
    c_emb = model.encode([c.text for c in rset.candidates], "passage", batch_size, progress=f"encode candidates ({rset.name})")
    return evaluate_embeddings(rset, q_emb, c_emb)
