"""Our metrics against ir_measures (pytrec_eval) on a real evaluation: the tiny model on two held-out
XQuAD-R articles in all 11 languages, exported as a full-depth TREC run (AP needs every relevant item
ranked) and compared per query, for the multilingual pool and for every language pair."""
from __future__ import annotations

import numpy as np
import pytest

ir_measures = pytest.importorskip("ir_measures")

from hybrid_sweep.data.protocols import load_protocol  # noqa: E402
from hybrid_sweep.evaluation import encode, evaluate, write_trec_qrels, write_trec_run  # noqa: E402
from hybrid_sweep.evaluation.export import trec_query_id  # noqa: E402
from tests.test_run import compose_cfg  # noqa: E402

MEASURES = {"map": ir_measures.AP, "mrr@10": ir_measures.RR @ 10, "ndcg@10": ir_measures.nDCG @ 10,
            **{f"recall@{k}": ir_measures.R @ k for k in (1, 5, 10, 100)}}


@pytest.fixture(scope="module")
def real_eval(data_root, cache_dir, tmp_path_factory):
    from hybrid_sweep.model import build_biencoder

    rset = load_protocol("xquad_split", data_root, split_seed=0, eval_articles=2).eval_set
    model = build_biencoder(compose_cfg("model=tiny", f"paths.cache_dir={cache_dir}").model)
    q_emb, c_emb = encode(model, rset, batch_size=128)
    out = tmp_path_factory.mktemp("trec")
    write_trec_run(out / "run.trec.gz", rset, q_emb, c_emb, depth=len(rset.candidates))
    write_trec_qrels(out / "qrels.trec", rset)
    run = list(ir_measures.read_trec_run(str(out / "run.trec.gz")))
    qrels = list(ir_measures.read_trec_qrels(str(out / "qrels.trec")))
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
