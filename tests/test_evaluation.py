"""Metrics on hand-computed rankings, and the LAReQA settings on a small hand-made pool."""
from __future__ import annotations

import numpy as np
import pytest

from hybrid_sweep.data.records import Candidate, Question, RetrievalSet
from hybrid_sweep.evaluation import evaluate_embeddings
from hybrid_sweep.evaluation.metrics import average_precision, ndcg_at, ranking_metrics, recall_at, reciprocal_rank_at


def test_average_precision_by_hand():
    # relevant at ranks 1 and 3 of 4 -> (1/1 + 2/3) / 2
    rel = np.array([[True, False, True, False], [False, False, False, True]])
    ap = average_precision(rel, np.array([2, 1]))
    assert ap == pytest.approx([(1 + 2 / 3) / 2, 1 / 4])
    # a relevant item missing from the ranking still counts in the denominator
    assert average_precision(rel[:1], np.array([3]))[0] == pytest.approx((1 + 2 / 3) / 3)


def test_recall_mrr_ndcg_by_hand():
    rel = np.array([[False, True, False, True, False]])
    n = np.array([2])
    assert recall_at(rel, n, 1)[0] == 0 and recall_at(rel, n, 2)[0] == 0.5 and recall_at(rel, n, 5)[0] == 1
    assert reciprocal_rank_at(rel, 10)[0] == 0.5 and reciprocal_rank_at(rel, 1)[0] == 0
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    assert ndcg_at(rel, n, 10)[0] == pytest.approx(dcg / (1 + 1 / np.log2(3)))


def test_query_without_relevant_item_is_an_error():
    with pytest.raises(ValueError, match="no relevant item"):
        ranking_metrics(np.array([[False, False]]), np.array([0]))


def tiny_pool() -> RetrievalSet:
    """Two parallel questions (q1, q2) in en and de; each language has its two answer sentences."""
    questions = tuple(Question(qid, lang, f"{qid}-{lang}", "a") for lang in ("de", "en") for qid in ("q1", "q2"))
    candidates = tuple(Candidate(f"{lang}/{i}", lang, f"s{i}-{lang}", f"{lang}/p", "a")
                       for lang in ("de", "en") for i in (1, 2))
    gold = {(qid, lang): f"{lang}/{qid[1]}" for qid in ("q1", "q2") for lang in ("de", "en")}
    return RetrievalSet("tiny", questions, candidates, gold)


def test_settings_read_off_one_ranking():
    rset = tiny_pool()
    # candidate order: de/1, de/2, en/1, en/2. Scores chosen so that:
    #  en queries rank their own en answer first, then the de answer of the other question
    #  de queries rank everything perfectly
    q_emb = np.eye(4, dtype=np.float32)  # one axis per question: de-q1, de-q2, en-q1, en-q2
    c_emb = np.array([[1, 0, 0.5, 0.9], [0, 1, 0.9, 0.5], [0.8, 0, 1, 0], [0, 0.8, 0, 1]], dtype=np.float32)
    rows = {(r.setting, r.query_lang, r.doc_lang, r.metric): r.value for r in evaluate_embeddings(rset, q_emb, c_emb)}
    assert rows[("mono", "de", "de", "map")] == 1.0
    assert rows[("mono", "en", "en", "map")] == 1.0
    assert rows[("cross", "de", "en", "map")] == 1.0
    # en-q1 over the de pool: de/2 (0.9) before de/1 (0.5) -> AP 1/2
    assert rows[("cross", "en", "de", "map")] == pytest.approx(0.5)
    # en-q1 over all: en/1 (1.0), de/2 (0.9), de/1 (0.5) -> AP (1 + 2/3)/2
    assert rows[("multi", "en", "all", "map")] == pytest.approx((1 + 2 / 3) / 2)
    assert rows[("cross", "all", "all", "map")] == pytest.approx(0.75)
    assert rows[("multi", "all", "all", "map")] == pytest.approx((1 + (1 + 2 / 3) / 2) / 2)


def test_nan_embeddings_are_refused():
    rset = tiny_pool()
    q_emb = np.full((4, 4), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_embeddings(rset, q_emb, np.eye(4, dtype=np.float32))
