"""Our metrics against ir_measures (pytrec_eval), exported as full-depth TREC runs (AP needs every relevant
item ranked) and compared per query, for the multilingual pool and for every language pair, on two sets:
a real evaluation (the tiny model on two XQuAD-R articles in all 11 languages: one relevant sentence per
language) and a synthetic one with graded qrels, several relevant candidates per language (20 in one)
and a query language without candidates of its own."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ir_measures = pytest.importorskip("ir_measures")

from hybrid_sweep.data.lareqa import read_lareqa_file  # noqa: E402
from hybrid_sweep.data.records import RetrievalSet  # noqa: E402
from hybrid_sweep.evaluation import encode, evaluate, write_trec_qrels, write_trec_run  # noqa: E402
from hybrid_sweep.evaluation.export import trec_query_id  # noqa: E402
from tests.test_evaluation import graded_pool  # noqa: E402

MEASURES = {"map": ir_measures.AP, "mrr@10": ir_measures.RR @ 10, "ndcg@10": ir_measures.nDCG @ 10,
            **{f"recall@{k}": ir_measures.R @ k for k in (1, 5, 10, 100)}}


def xquad_articles(data_root: Path, articles: set[str]) -> RetrievalSet:
    """Questions and candidate sentences of some XQuAD-R articles in every language, read directly."""
    files = [read_lareqa_file(path, path.stem) for path in sorted((data_root / "xquad-r").glob("*.json"))]
    questions = tuple(q for f in files for q in f.questions if q.article in articles)
    candidates = tuple(c for f in files for c in f.candidates if c.article in articles)
    qrels: dict[str, dict[str, int]] = {}
    for f in files:
        for q in f.questions:
            if q.article in articles:
                qrels.setdefault(q.qid, {})[f.answer_of[q.qid]] = 1
    return RetrievalSet("xquad-2", questions, candidates, qrels)


def tiny_model_embeddings(rset: RetrievalSet, cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from omegaconf import OmegaConf

    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.paths import CONFIG_DIR

    cfg = OmegaConf.load(CONFIG_DIR / "model" / "tiny.yaml")
    cfg.cache_dir = str(Path(cache_dir) / "models")
    return encode(build_biencoder(cfg), rset, batch_size=128)


@pytest.fixture(scope="module", params=["xquad_tiny_model", "graded_synthetic"])
def real_eval(request, tmp_path_factory):
    if request.param == "xquad_tiny_model":
        rset = xquad_articles(request.getfixturevalue("data_root"), {"000", "001"})
        q_emb, c_emb = tiny_model_embeddings(rset, request.getfixturevalue("cache_dir"))
    else:
        rset, q_emb, c_emb = graded_pool(np.random.default_rng(11), n_ids=40)
    out = tmp_path_factory.mktemp("trec")
    write_trec_run(out / "run.trec.gz", rset, q_emb, c_emb, depth=len(rset.candidates))
    write_trec_qrels(out / "qrels.trec", rset)
    run = list(ir_measures.read_trec_run(str(out / "run.trec.gz")))
    qrels = list(ir_measures.read_trec_qrels(str(out / "qrels.trec")))
    if request.param == "graded_synthetic":
        assert {q.relevance for q in qrels} == {1, 2, 3}  # the grades reach the qrels file
    return rset, evaluate(rset, q_emb, c_emb), run, qrels


def ours(ev, setting_of) -> dict[tuple[str, str], float]:
    """(TREC query id, metric) -> our per-query value, for the blocks ``setting_of`` names."""
    out = {}
    for b in ev.per_query:
        name = setting_of(b)
        if name is not None:
            for metric, values in b.values.items():
                out.update({(trec_query_id(b.query_lang, q) + name, metric): float(v) for q, v in zip(b.qids, values)})
    return out


def theirs(qrels, run) -> dict[tuple[str, str], float]:
    names = {str(m): k for k, m in MEASURES.items()}
    calc = ir_measures.iter_calc(list(MEASURES.values()), qrels, run)
    return {(m.query_id, names[str(m.measure)]): m.value for m in calc}


def assert_same(expected: dict, got: dict) -> None:
    assert got.keys() <= expected.keys() and len(got) > 0
    worst = max(got, key=lambda k: abs(got[k] - expected[k]))
    assert abs(got[worst] - expected[worst]) <= 1e-6, (worst, got[worst], expected[worst])


def test_multilingual_metrics_equal_ir_measures(real_eval):
    rset, ev, run, qrels = real_eval
    assert len(run) == len(rset.questions) * len(rset.candidates)  # the full ranking of every question
    got = ours(ev, lambda b: "" if b.setting == "multi" else None)
    expected = theirs(qrels, run)
    assert_same(expected, {k: v for k, v in got.items() if k[1] in MEASURES})
    assert len(got) == len(rset.questions) * (len(MEASURES) + 1)  # + lang_bias
    assert 0 < np.mean([v for (q, m), v in got.items() if m == "mrr@10"]) < 1  # not a degenerate ranking


def test_language_pair_metrics_equal_ir_measures_on_the_filtered_run(real_eval):
    """Restricting the pooled run to one candidate language is that language's ranking: mono and cross
    metrics must equal ir_measures on the run and qrels filtered by the docid's language prefix."""
    rset, ev, run, qrels = real_eval
    by_lang = lambda items: [i._replace(query_id=f"{i.query_id}|{i.doc_id.split('/')[0]}") for i in items]
    expected = theirs(by_lang(qrels), by_lang(run))
    got = ours(ev, lambda b: None if b.setting == "multi" else f"|{b.doc_lang}")
    assert_same(expected, got)
    assert {k[0].rsplit("|", 1)[1] for k in got} == set(rset.languages)
    assert len(got) == len(expected)  # every (query, candidate language) compared


def test_rows_are_means_of_the_per_query_values(real_eval):
    _, ev, _, _ = real_eval
    values = {(b.setting, b.query_lang, b.doc_lang, m): v for b in ev.per_query for m, v in b.values.items()}
    for r in ev.rows:
        if r.query_lang != "all":
            assert r.value == pytest.approx(float(np.mean(values[(r.setting, r.query_lang, r.doc_lang, r.metric)])))
