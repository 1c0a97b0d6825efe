"""Metrics on hand-computed rankings (graded nDCG included), the LAReQA settings on small hand-made pools,
the rank counting against a brute-force sort (ties, MLQA-style 2-4 relevant items, several graded relevant
items per language, a query language without candidates), language bias, per-query files, bootstrap and
paired tests with known answers, the results file, and the embedding cache."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hybrid_sweep.data.records import Candidate, Question, RetrievalSet
from hybrid_sweep.evaluation import (aligned_matrices, bootstrap_ci, evaluate, evaluate_embeddings, paired_test,
                                     query_matrix, read_per_query, write_per_query)
from hybrid_sweep.evaluation.cache import encode_texts, model_fingerprint
from hybrid_sweep.evaluation.metrics import (average_precision, ndcg_at, rank_gap, ranking_metrics, recall_at,
                                             reciprocal_rank_at)
from hybrid_sweep.evaluation.results import (SCHEMA_VERSION, UnreadableResults, compact_results, read_results,
                                             rewrite_results)
from hybrid_sweep.paths import PROJECT_ROOT


def test_average_precision_by_hand():
    # relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2; a single relevant item at rank 4 -> 1/4 (0 pads the row)
    ap = average_precision(np.array([[3, 1], [4, 0]]))
    assert ap == pytest.approx([(1 + 2 / 3) / 2, 1 / 4])


def test_recall_mrr_ndcg_by_hand():
    ranks = np.array([[2, 4]])
    assert recall_at(ranks, 1)[0] == 0 and recall_at(ranks, 2)[0] == 0.5 and recall_at(ranks, 5)[0] == 1
    assert reciprocal_rank_at(ranks, 10)[0] == 0.5 and reciprocal_rank_at(ranks, 1)[0] == 0
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    assert ndcg_at(ranks, 10)[0] == pytest.approx(dcg / (1 + 1 / np.log2(3)))
    assert rank_gap(np.array([[7, 2, 40], [5, 0, 0]])).tolist() == [38, 0]


def test_graded_ndcg_by_hand():
    # grades 1, 2, 1 at ranks 1, 3, 4: DCG = 1/log2(2) + 2/log2(4) + 1/log2(5); the ideal ranking puts
    # the grade-2 item first: 2/log2(2) + 1/log2(3) + 1/log2(4)
    ranks, gains = np.array([[3, 1, 4, 0]]), np.array([[2, 1, 1, 0]])
    dcg, ideal = 1 + 1 + 1 / np.log2(5), 2 + 1 / np.log2(3) + 1 / 2
    assert ndcg_at(ranks, 10, gains)[0] == pytest.approx(dcg / ideal)
    assert ndcg_at(ranks, 3, gains)[0] == pytest.approx(2 / ideal)  # only ranks 1 and 3 count; ideal@3 the same
    # no gains and all-ones gains are the binary case; AP, recall and RR ignore the grades
    assert ndcg_at(ranks, 10).tolist() == ndcg_at(ranks, 10, (ranks > 0).astype(int)).tolist()
    assert ranking_metrics(ranks, gains)["map"] == ranking_metrics(ranks)["map"]
    with pytest.raises(ValueError, match="grade <= 0"):
        ndcg_at(ranks, 10, np.array([[2, 0, 1, 0]]))


def test_query_without_relevant_item_is_an_error():
    with pytest.raises(ValueError, match="no relevant item"):
        ranking_metrics(np.array([[0, 0]]))


def tiny_pool() -> RetrievalSet:
    """Two parallel questions (q1, q2) in en and de; each language has its two answer sentences."""
    questions = tuple(Question(qid, lang, f"{qid}-{lang}", "a") for lang in ("de", "en") for qid in ("q1", "q2"))
    candidates = tuple(Candidate(f"{lang}/{i}", lang, f"s{i}-{lang}", f"{lang}/p", "a")
                       for lang in ("de", "en") for i in (1, 2))
    qrels = {qid: {f"{lang}/{qid[1]}": 1 for lang in ("de", "en")} for qid in ("q1", "q2")}
    return RetrievalSet("tiny", questions, candidates, qrels)


# candidate order: de/1, de/2, en/1, en/2. en queries rank their own en answer first, then the de answer
# of the other question; de queries rank everything perfectly
TINY_Q = np.eye(4, dtype=np.float32)  # one axis per question: de-q1, de-q2, en-q1, en-q2
TINY_C = np.array([[1, 0, 0.5, 0.9], [0, 1, 0.9, 0.5], [0.8, 0, 1, 0], [0, 0.8, 0, 1]], dtype=np.float32)


def test_settings_read_off_one_ranking():
    rows = {(r.setting, r.query_lang, r.doc_lang, r.metric): r.value
            for r in evaluate_embeddings(tiny_pool(), TINY_Q, TINY_C)}
    assert rows[("mono", "de", "de", "map")] == 1.0
    assert rows[("mono", "en", "en", "map")] == 1.0
    assert rows[("cross", "de", "en", "map")] == 1.0
    # en-q1 over the de pool: de/2 (0.9) before de/1 (0.5) -> AP 1/2
    assert rows[("cross", "en", "de", "map")] == pytest.approx(0.5)
    # en-q1 over all: en/1 (1.0), de/2 (0.9), de/1 (0.5) -> AP (1 + 2/3)/2
    assert rows[("multi", "en", "all", "map")] == pytest.approx((1 + 2 / 3) / 2)
    assert rows[("cross", "all", "all", "map")] == pytest.approx(0.75)
    assert rows[("multi", "all", "all", "map")] == pytest.approx((1 + (1 + 2 / 3) / 2) / 2)


def test_language_bias_is_the_rank_gap_of_parallel_answers():
    ev = evaluate(tiny_pool(), TINY_Q, TINY_C)
    bias = {(b.query_lang, q): v for b in ev.per_query if b.setting == "multi"
            for q, v in zip(b.qids, b.values["lang_bias"])}
    # de queries: answers at ranks 1 and 2 (gap 1); en-q1: en/1 at 1, de/1 at 3 (gap 2); pool of 4
    assert bias == pytest.approx({("de", "q1"): 1, ("de", "q2"): 1, ("en", "q1"): 2, ("en", "q2"): 2})
    row = next(r for r in ev.rows if r.setting == "multi" and r.query_lang == "all" and r.metric == "lang_bias")
    assert row.value == pytest.approx(1.5) and row.ci_low <= row.value <= row.ci_high


def graded_pool_by_hand() -> RetrievalSet:
    """One question, asked in en, with two relevant en sentences of grades 2 and 1 and one de sentence."""
    candidates = tuple(Candidate(cid, cid[:2], cid) for cid in ("de/1", "de/2", "en/1", "en/2", "en/3", "en/4"))
    return RetrievalSet("graded", (Question("q1", "en", "q1-en"),), candidates,
                        {"q1": {"en/1": 2, "en/3": 1, "de/2": 1}})


# 1-d embeddings: the query scores each candidate by its single coordinate
GRADED_C = np.array([[0.8], [0.6], [0.7], [0.5], [0.9], [0.4]], dtype=np.float32)


def test_two_graded_relevant_items_in_one_language_by_hand():
    ev = evaluate(graded_pool_by_hand(), np.ones((1, 1), dtype=np.float32), GRADED_C)
    got = {(b.setting, b.doc_lang, m): float(v[0]) for b in ev.per_query for m, v in b.values.items()}
    # pooled ranking: en/3 (grade 1), de/1, en/1 (grade 2), de/2 (grade 1), en/2, en/4 -> relevant at 1, 3, 4
    # AP = (1/1 + 2/3 + 3/4) / 3 = 29/36
    # nDCG@10 = (1/log2(2) + 2/log2(4) + 1/log2(5)) / (2/log2(2) + 1/log2(3) + 1/log2(4))
    assert got[("multi", "all", "map")] == pytest.approx(29 / 36)
    assert got[("multi", "all", "ndcg@10")] == pytest.approx((2 + 1 / np.log2(5)) / (2.5 + 1 / np.log2(3)))
    assert got[("multi", "all", "recall@1")] == pytest.approx(1 / 3) and got[("multi", "all", "mrr@10")] == 1
    assert got[("multi", "all", "lang_bias")] == 3  # ranks 4 - 1
    # en pool: en/3 (grade 1), en/1 (grade 2), en/2, en/4 -> AP = (1/1 + 2/2) / 2 = 1, but nDCG < 1 as the
    # grade-2 item is second: (1/log2(2) + 2/log2(3)) / (2/log2(2) + 1/log2(3))
    assert got[("mono", "en", "map")] == 1 and got[("mono", "en", "recall@1")] == 0.5
    assert got[("mono", "en", "ndcg@10")] == pytest.approx((1 + 2 / np.log2(3)) / (2 + 1 / np.log2(3)))
    # de pool: de/1, de/2 (grade 1) -> AP = RR = 1/2, nDCG@10 = (1/log2(3)) / 1
    assert got[("cross", "de", "map")] == 0.5 and got[("cross", "de", "mrr@10")] == 0.5
    assert got[("cross", "de", "ndcg@10")] == pytest.approx(1 / np.log2(3))


def test_grade_zero_in_qrels_is_refused():
    rset = graded_pool_by_hand()
    bad = RetrievalSet(rset.name, rset.questions, rset.candidates, {"q1": {"en/1": 2, "en/2": 0}})
    with pytest.raises(ValueError, match="grade <= 0"):
        evaluate(bad, np.ones((1, 1), dtype=np.float32), GRADED_C)


def test_nan_embeddings_are_refused():
    q_emb = np.full((4, 4), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_embeddings(tiny_pool(), q_emb, np.eye(4, dtype=np.float32))


def quarters(x: np.ndarray) -> np.ndarray:
    """Round to multiples of 1/4: every inner product is then exact in float32, so the matrix product the
    evaluation scores with and the vector products of the reference agree to the bit (BLAS kernels order
    their sums differently), and equal scores are exact ties."""
    return (np.round(x * 4) / 4).astype(np.float32)


def mlqa_like_pool(rng, n_ids=30, langs=("ar", "de", "en", "zh"), per_lang=12):
    """Every id in en plus 1-3 other languages (2-4 relevant items, as in MLQA-R), candidates interleaved
    across languages in file order, and a few exact duplicate candidate embeddings to force score ties."""
    present = {f"id{i}": ["en", *rng.choice([l for l in langs if l != "en"], rng.integers(1, 4), replace=False)]
               for i in range(n_ids)}
    questions, candidates, qrels = [], [], {}
    for lang in langs:
        ids = [i for i, ls in present.items() if lang in ls]
        cands = [Candidate(f"{lang}/{k}", lang, f"{lang} sentence {k}", f"{lang}/p", "a")
                 for k in range(len(ids) + per_lang)]
        candidates += cands
        for k, qid in enumerate(ids):
            questions.append(Question(qid, lang, f"{lang} question {qid}", "a"))
            qrels.setdefault(qid, {})[cands[k].cid] = 1
    order = rng.permutation(len(candidates))  # languages interleaved: the pool regroups them
    rset = RetrievalSet("mlqa-like", tuple(questions), tuple(candidates[i] for i in order), qrels)
    q_emb = quarters(rng.standard_normal((len(questions), 8)))
    c_emb = quarters(rng.standard_normal((len(candidates), 8)))[order]
    c_emb[1::7] = c_emb[0]  # exact ties
    return rset, q_emb, c_emb


def graded_pool(rng, n_ids=24, langs=("de", "en", "zh"), per_lang=30):
    """Each id is asked in 1-4 of ``langs`` and Hausa (which, as in AfriQA, has no candidates) and has 1-4
    relevant candidates, graded 1-3, in each of 1-3 languages; id0 has 20 relevant en candidates.
    Candidates are interleaved across languages, and duplicate embeddings force score ties."""
    candidates = [Candidate(f"{lang}/{k}", lang, f"{lang} sentence {k}") for lang in langs for k in range(per_lang)]
    questions, qrels = [], {}
    for i in range(n_ids):
        qid = f"id{i}"
        asked = rng.choice([*langs, "ha"], rng.integers(1, 5), replace=False)
        questions += [Question(qid, str(lang), f"{lang} question {qid}") for lang in asked]
        for lang in ["en"] if i == 0 else rng.choice(langs, rng.integers(1, 4), replace=False):
            for k in rng.choice(per_lang, 20 if i == 0 else rng.integers(1, 5), replace=False):
                qrels.setdefault(qid, {})[f"{lang}/{k}"] = int(rng.integers(1, 4))
    order = rng.permutation(len(candidates))
    rset = RetrievalSet("graded", tuple(questions), tuple(candidates[i] for i in order), qrels)
    q_emb = quarters(rng.standard_normal((len(questions), 8)))
    c_emb = quarters(rng.standard_normal((len(candidates), 8)))
    c_emb[1::5] = c_emb[0]  # exact ties, among relevant items too
    return rset, q_emb, c_emb


def brute_force_rows(rset, q_emb, c_emb):
    """Reference: sort the whole pool per query (ties to the earlier candidate in language order), then
    compute each metric from the grade vector in rank order, the textbook way (relevant: grade > 0)."""
    lang_order = sorted(range(len(rset.candidates)), key=lambda i: rset.languages.index(rset.candidates[i].lang))
    out = {}
    for qi, q in enumerate(rset.questions):
        scores = c_emb[lang_order] @ q_emb[qi]
        ranked = [rset.candidates[lang_order[i]] for i in np.argsort(-scores, kind="stable")]
        grades = rset.qrels[q.qid]
        for setting_lang in ["all", *rset.languages]:
            pool = [c for c in ranked if setting_lang in ("all", c.lang)]
            gain = np.array([grades.get(c.cid, 0) for c in pool], dtype=float)
            rel = gain > 0
            if not rel.any():
                continue
            hits = np.cumsum(rel)
            ranks = np.flatnonzero(rel) + 1
            disc = 1 / np.log2(np.arange(2, 12))
            ideal = np.sort(gain)[::-1][:10]
            out[(q.lang, setting_lang, q.qid)] = {
                "map": float((hits[rel] / ranks).mean()),
                "mrr@10": 1 / ranks[0] if ranks[0] <= 10 else 0.0,
                "ndcg@10": float((gain[:10] * disc[: len(gain[:10])]).sum() / (ideal * disc[: len(ideal)]).sum()),
                **{f"recall@{k}": float(rel[:k].sum() / rel.sum()) for k in (1, 5, 10, 100)},
            }
            if setting_lang == "all":
                out[(q.lang, "all", q.qid)]["lang_bias"] = ranks[-1] - ranks[0]
    return out


def evaluate_like_a_full_sort(rset, q_emb, c_emb):
    """The evaluation, checked per query and metric against a brute-force full sort; returned for more checks."""
    expected = brute_force_rows(rset, q_emb, c_emb)
    ev = evaluate(rset, q_emb, c_emb)
    got = {(b.query_lang, b.doc_lang, qid): {m: v[i] for m, v in b.values.items()}
           for b in ev.per_query for i, qid in enumerate(b.qids)}
    assert got.keys() == expected.keys()
    for key, metrics in expected.items():
        assert got[key] == pytest.approx(metrics, abs=1e-12), key
    return ev


def test_rank_counting_matches_a_full_sort_with_ties_and_2_to_4_relevant_items():
    rng = np.random.default_rng(3)
    rset, q_emb, c_emb = mlqa_like_pool(rng)
    assert {len(rset.relevant(q.qid)) for q in rset.questions} == {2, 3, 4}
    ev = evaluate_like_a_full_sort(rset, q_emb, c_emb)
    # a language pair only counts the queries whose id exists in the candidate language
    de_ids = {q.qid for q in rset.questions if q.lang == "de"}
    ar_en = next(r for r in ev.rows if (r.setting, r.query_lang, r.doc_lang, r.metric) == ("cross", "ar", "de", "map"))
    assert ar_en.n_queries == len(de_ids & {q.qid for q in rset.questions if q.lang == "ar"})


def test_rank_counting_matches_a_full_sort_with_graded_relevant_items_and_a_language_without_candidates():
    rset, q_emb, c_emb = graded_pool(np.random.default_rng(5))
    per_lang = [sum(c.startswith(f"{lang}/") for c in rset.qrels[q.qid])
                for q in rset.questions for lang in rset.languages]
    assert max(per_lang) == 20 and {2, 3, 4} <= set(per_lang)
    assert set(rset.query_languages) - set(rset.languages) == {"ha"}
    ev = evaluate_like_a_full_sort(rset, q_emb, c_emb)
    # Hausa questions: every one in the multilingual pool, and cross blocks into every language, no mono
    ha = {(b.setting, b.doc_lang): len(b.qids) for b in ev.per_query if b.query_lang == "ha"}
    assert ha[("multi", "all")] == sum(q.lang == "ha" for q in rset.questions)
    assert {s for s, _ in ha} == {"multi", "cross"} and {d for _, d in ha} == {"all", *rset.languages}
    assert any(r.setting == "multi" and r.query_lang == "ha" for r in ev.rows)


def test_per_query_file_round_trip_and_query_matrix(tmp_path):
    rng = np.random.default_rng(0)
    rset, q_emb, c_emb = mlqa_like_pool(rng)
    ev = evaluate(rset, q_emb, c_emb)
    write_per_query(tmp_path / "pq.parquet", {"zero_shot": ev.per_query, "trained": ev.per_query})
    frame = read_per_query(tmp_path / "pq.parquet")
    assert set(frame.stage) == {"zero_shot", "trained"}
    with pytest.raises(ValueError, match="pass stage="):
        query_matrix(frame, "cross", "map")
    table = query_matrix(frame, "cross", "map", stage="trained")
    macro = next(r for r in ev.rows if (r.setting, r.query_lang, r.metric) == ("cross", "all", "map"))
    assert bootstrap_ci(table.to_numpy()).value == pytest.approx(macro.value)
    assert (macro.ci_low, macro.ci_high) == pytest.approx(
        (bootstrap_ci(table.to_numpy()).low, bootstrap_ci(table.to_numpy()).high))
    frame.drop(columns="qid").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="per-query columns"):
        read_per_query(tmp_path / "bad.parquet")


def opening(path, n: int = 12) -> str:
    with open(path) as f:
        return f.read(n)


def test_results_file_stores_run_and_set_keys_once_and_reads_back_the_same_tidy_rows(tmp_path):
    """A committed schema-2 rebuild job (every key on every row) compacts to the current schema with the same
    rows; one more evaluation set appended to it keeps the old rows and carries its own set columns."""
    job = next(p for p in sorted((PROJECT_ROOT / "experiments/rebuild/runs").glob("*/results.json"))
               if opening(p) == '{"schema":2,')  # the early jobs stay schema 2 until a rerun rewrites them
    assert json.loads(job.read_text())["schema"] == 2
    old = read_results(job)
    compact_results(job, tmp_path / "results.json")
    new = read_results(tmp_path / "results.json")
    assert [{k: v for k, v in r.items() if k != "schema"} for r in new] == \
        [{k: v for k, v in r.items() if k != "schema"} for r in old]
    assert {r["schema"] for r in new} == {SCHEMA_VERSION}
    assert (tmp_path / "results.json").stat().st_size * 10 < job.stat().st_size
    rng = np.random.default_rng(0)
    rset, q_emb, c_emb = mlqa_like_pool(rng)
    rows = evaluate(rset, q_emb, c_emb).rows
    rewrite_results(tmp_path / "results.json", {("trained", "mlqa_like"): rows}, {"task": "qa", "query_texts": 7})
    after = read_results(tmp_path / "results.json")
    assert after[:len(new)] == new
    added = after[len(new):]
    assert [r["value"] for r in added] == [r.value for r in rows]
    assert all(r["eval_set"] == "mlqa_like" and r["query_texts"] == 7 and r["seed"] == 1 for r in added)
    assert {r["query_texts"] for r in after if r["eval_set"] == "sib200"} == {r["query_texts"] for r in old
                                                                              if r["eval_set"] == "sib200"}
    (tmp_path / "torn.json").write_text((tmp_path / "results.json").read_text()[:-40])
    with pytest.raises(UnreadableResults):
        read_results(tmp_path / "torn.json")


def test_bootstrap_interval_covers_the_mean_and_is_seeded():
    values = np.random.default_rng(1).random(400)
    ci = bootstrap_ci(values, seed=5)
    assert ci.low < values.mean() < ci.high and ci.value == pytest.approx(values.mean())
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * values.std() / np.sqrt(400), rel=0.15)
    assert bootstrap_ci(values, seed=5) == ci


def test_paired_test_known_answers():
    rng = np.random.default_rng(2)
    a = rng.random((3, 200))
    same = paired_test(a, a.copy())
    assert same.diff == 0 and same.p_value == 1.0 and same.low == same.high == 0
    better = paired_test(np.clip(a + 0.05 + 0.02 * rng.standard_normal(a.shape), 0, 1), a)
    assert better.p_value < 0.001 and 0 < better.low < better.diff < better.high
    noise = paired_test(a + 0.01 * rng.standard_normal(a.shape), a)
    assert noise.p_value > 0.05 and noise.low < 0 < noise.high
    with pytest.raises(ValueError, match="same queries"):
        paired_test(a, a[:, :100])


def test_aligned_matrices_refuse_different_queries():
    rng = np.random.default_rng(0)
    rset, q_emb, c_emb = mlqa_like_pool(rng)
    ev = evaluate(rset, q_emb, c_emb)
    from hybrid_sweep.evaluation.export import per_query_frame

    frame = per_query_frame(ev.per_query, "s")
    a = query_matrix(frame, "multi", "map")
    ma, mb = aligned_matrices(a, a[a.columns[::-1]])
    assert np.array_equal(ma, mb, equal_nan=True)
    with pytest.raises(ValueError, match="differ in their queries"):
        aligned_matrices(a, a.iloc[:, :-1])


class CountingModel:
    """The BiEncoder surface the cache needs; counts the texts it is asked to encode."""

    def __init__(self, scale: float = 1.0):
        import torch

        self.weight = torch.nn.Parameter(torch.full((2, 3), scale))
        self.encoded: list[str] = []
        self.pooling, self.max_length, self.prefixes = "mean", 8, {"query": "q: ", "passage": "p: "}
        self.tokenizer, self.encoder = [0] * 5, self

    def state_dict(self):
        return {"weight": self.weight}

    def encode(self, texts, role, batch_size, progress=None, max_length=None):
        self.encoded += list(texts)
        return np.array([[len(t), self.weight.sum().item(), role == "query"] for t in texts], dtype=np.float32)


def test_embedding_cache_encodes_each_text_once_per_model_state(tmp_path):
    texts = ["a", "bb", "a", "ccc"]
    model = CountingModel()
    first = encode_texts(model, texts, "query", cache_dir=tmp_path)
    assert model.encoded == ["a", "bb", "ccc"]  # duplicates once
    again = encode_texts(model, texts, "query", cache_dir=tmp_path)
    assert np.array_equal(first, again) and model.encoded == ["a", "bb", "ccc"]  # read back, not re-encoded
    encode_texts(model, texts, "passage", cache_dir=tmp_path)
    assert len(model.encoded) == 6  # another role is another key
    changed = CountingModel(scale=2.0)
    assert model_fingerprint(changed) != model_fingerprint(model)
    encode_texts(changed, texts, "query", cache_dir=tmp_path)
    assert changed.encoded == ["a", "bb", "ccc"]  # changed weights never read a stale file
    encode_texts(changed, texts, "query", cache_dir=tmp_path, max_length=512)
    assert len(changed.encoded) == 6  # another evaluation length is another key


def test_a_translation_set_encodes_its_sentences_once_for_both_sides():
    """Questions and candidates of a parallel set are the same sentences, read as queries on both sides: one
    encode of the distinct texts serves both, also without a cache (a trained stage has none)."""
    from hybrid_sweep.evaluation import encode

    model = CountingModel()
    model.readable_length = 512
    sentences = {"en": "Hello there", "de": "Hallo zusammen", "zu": "Sawubona"}
    rset = RetrievalSet("bitext", tuple(Question("s1", l, t, own=f"{l}/s1") for l, t in sentences.items()),
                        tuple(Candidate(f"{l}/s1", l, t) for l, t in sentences.items()),
                        {"s1": {f"{l}/s1": 1 for l in sentences}}, task="translation")
    q_emb, c_emb = encode(model, rset)
    assert sorted(model.encoded) == sorted(sentences.values())
    assert np.array_equal(q_emb, c_emb) and (q_emb[:, 2] == 1).all()  # both sides as queries
    qa = RetrievalSet("qa", rset.questions, rset.candidates, rset.qrels)
    model.encoded.clear()
    q_emb, c_emb = encode(model, qa)
    assert len(model.encoded) == 6 and (q_emb[:, 2] == 1).all() and (c_emb[:, 2] == 0).all()


def test_faiss_top_k_equals_the_exact_ranking():
    from hybrid_sweep.evaluation.export import faiss_top_k

    rng = np.random.default_rng(0)
    q, c = rng.normal(size=(20, 16)).astype(np.float32), rng.normal(size=(500, 16)).astype(np.float32)
    full = np.argsort(-(q @ c.T), axis=1, kind="stable")
    assert np.array_equal(faiss_top_k(q, c, 25), full[:, :25])

