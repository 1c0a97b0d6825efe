"""The many-language evaluation sets on the real files: SIB-200, Belebele x SIB-200, Tatoeba-112, AfriQA;
a question never retrieving its own text; per-pair pools; language subsets; the leakage guard."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from hybrid_sweep.data.codes import pick_languages
from hybrid_sweep.data.evalsets import load_eval_set
from hybrid_sweep.data.manylang import SIB_SPLITS, sib_sentences, sib_varieties
from hybrid_sweep.data.protocols import load_data
from hybrid_sweep.data.records import Candidate, Question, RetrievalSet
from hybrid_sweep.evaluation import read_results
from hybrid_sweep.evaluation import retrieval
from hybrid_sweep.evaluation.retrieval import evaluate, set_ranks
from hybrid_sweep.languages import get_language, stratified
from hybrid_sweep.paths import PROJECT_ROOT

SIB = {"dataset": "sib-200", "format": "sib200"}


def test_sib200_has_205_varieties_of_1004_sentences_with_the_same_index_ids(data_root):
    varieties = sib_varieties(data_root / "sib200" / "annotated")
    assert len(varieties) == 205 and len(set(varieties.values())) == 205
    assert varieties["zh"] == "zho_Hans" and varieties["zh-Hant"] == "zho_Hant" and varieties["ar-Latn"] == "arb_Latn"
    reference = None
    for flores in varieties.values():
        ids = [i for split in SIB_SPLITS for i, _ in sib_sentences(data_root / "sib200" / "annotated", flores, split)]
        assert len(ids) == 1004 == len(set(ids))
        reference = reference or ids
        assert ids == reference, flores
    assert [len(sib_sentences(data_root / "sib200" / "annotated", "zul_Latn", s)) for s in SIB_SPLITS] == [701, 99, 204]


def test_sib200_sentences_retrieve_their_translations_never_themselves(data_root):
    ev = load_eval_set("sib", {**SIB, "languages": ["en", "zu", "zh-Hant"]}, data_root, {})
    rset = ev.rset
    assert ev.rset.task == "translation" and len(rset.questions) == len(rset.candidates) == 3 * 204
    q = rset.questions[0]
    assert q.own == f"{q.lang}/{q.qid}" and sorted(rset.qrels[q.qid]) == sorted(f"{l}/{q.qid}" for l in ("en", "zu", "zh-Hant"))
    # a model that maps each text to an embedding of its index_id, plus noise that ranks the text itself
    # first: every translation ranks right after it, so with the text left out every translation is rank 1-2
    ids = sorted({q.qid for q in rset.questions})
    base = np.eye(len(ids), dtype=np.float32)
    emb = {c.cid: base[ids.index(c.cid.split("/")[1])] for c in rset.candidates}
    c_emb = np.stack([emb[c.cid] for c in rset.candidates])
    q_emb = np.stack([emb[q.own] * 2 for q in rset.questions])
    result = evaluate(rset, q_emb, c_emb, n_boot=10)
    macro = {(r.setting, r.metric): r.value for r in result.rows if r.query_lang == "all"}
    assert macro[("multi", "map")] == 1.0 and macro[("cross", "recall@1")] == 1.0
    assert macro[("multi", "lang_bias")] == 1.0  # two translations, next to each other
    assert ("mono", "map") not in macro  # a sentence has nothing to retrieve in its own language
    pairs = {(r.query_lang, r.doc_lang) for r in result.rows if r.setting == "cross"} - {("all", "all")}
    assert pairs == {("zu", "en"), ("zh-Hant", "en"), ("en", "zu"), ("en", "zh-Hant")}  # pairs: pivot


def test_leaving_out_the_own_text_changes_ranks_exactly_as_counted_by_hand():
    """Pool en/0, en/1, de/0, de/1. Scores of the de/0 query: itself 1.0, en/1 0.9, en/0 0.8, de/1 0.7.
    Left out itself, its translation en/0 is 2nd of 3 in the pool and 2nd of 2 in English: AP 1/2."""
    cands = tuple(Candidate(c, c[:2], c) for c in ("en/0", "en/1", "de/0", "de/1"))
    rset = RetrievalSet("hand", (Question("0", "de", "de/0", own="de/0"),), cands,
                        {"0": {"en/0": 1, "de/0": 1}, "1": {"en/1": 1, "de/1": 1}}, task="translation")
    angle = np.deg2rad([0.0, 25.0, 37.0, 45.0])  # cosines 1.0, 0.906, 0.799, 0.707 with the query
    c_emb = np.stack([np.cos(angle), np.sin(angle)], axis=1).astype(np.float32)[[2, 1, 0, 3]]  # en/0 en/1 de/0 de/1
    ranks = set_ranks(rset, c_emb[[2]], c_emb)
    assert ranks.in_pool.tolist() == [[2]] and ranks.in_lang.tolist() == [[2]]
    rows = {(r.setting, r.doc_lang, r.metric): r.value for r in evaluate(rset, c_emb[[2]], c_emb, n_boot=10).rows}
    assert rows[("cross", "en", "map")] == 0.5 and rows[("multi", "all", "map")] == 0.5


def test_wide_questions_are_ranked_by_sorting_with_the_same_numbers_and_ties(monkeypatch):
    rng = np.random.default_rng(0)
    langs, n = [f"l{i:02d}" for i in range(30)], 40
    cands = tuple(Candidate(f"{l}/{i}", l, f"{l}{i}") for l in langs for i in range(n))
    questions = tuple(Question(str(i), l, f"{l}{i}", own=f"{l}/{i}") for l in langs for i in range(n))
    rset = RetrievalSet("ties", questions, cands, {str(i): {f"{l}/{i}": 1 for l in langs} for i in range(n)})
    emb = np.round(rng.normal(size=(len(cands), 4)), 1).astype(np.float32)  # coarse values: many exact ties
    wide = set_ranks(rset, emb, emb)
    monkeypatch.setattr(retrieval, "WIDE", 1000)  # the per-item counting path
    narrow = set_ranks(rset, emb, emb)
    assert wide.in_pool.shape == (1200, 29)
    assert np.array_equal(wide.in_pool, narrow.in_pool) and np.array_equal(wide.in_lang, narrow.in_lang)


def test_belebele_passages_rebuilt_from_sib200_equal_the_english_text_and_link_their_questions(data_root):
    import json

    ev = load_eval_set("bb", {"dataset": "belebele-sib200", "format": "belebele_sib200",
                              "languages": ["en", "zu", "ja"]}, data_root, {})
    rset = ev.rset
    english = [json.loads(l) for l in (data_root / "train/belebele/eng_Latn.jsonl").read_text().splitlines()]
    passages = {c.cid: c.text for c in rset.candidates}
    assert len(passages) == 3 * 137
    lines = {int(cid.split("/")[1]) for cid in passages}
    assert all(passages[f"en/{line}"] == english[line]["text"] for line in lines)
    assert len([q for q in rset.questions if q.lang == "en"]) == 250 == len([q for q in rset.questions if q.lang == "de"])
    q = next(q for q in rset.questions if q.lang == "en")
    line, number = map(int, q.qid.split("/"))
    assert q.text == english[line]["items"][number]["question"]
    assert set(rset.qrels[q.qid]) == {f"{l}/{line}" for l in ("en", "ja", "zu")}
    assert rset.query_languages == ("de", "en") and rset.languages == ("en", "ja", "zu")


def test_training_on_sib200_cannot_meet_the_belebele_set_it_is_made_of(data_root):
    evals = {"bb": {"dataset": "belebele-sib200", "format": "belebele_sib200"}}
    for train in ({"dataset": "sib-200", "format": "pairs"}, {"path": "sib200/annotated/zul_Latn/train.tsv", "format": "pairs"}):
        with pytest.raises(ValueError, match="built from sib-200, which data.train trains on"):
            load_data({"train": train, "eval": evals}, data_root)


def test_a_sets_max_ids_shrinks_a_translation_pool_with_its_ids_and_keeps_a_qa_pool_whole(data_root):
    xquad = {"dataset": "xquad-r", "format": "lareqa", "languages": ["en", "de", "zh"], "articles": "held_out"}
    evals = {"sib": {**SIB, "languages": ["en", "zu", "th"], "max_ids": 20}, "xq": {**xquad, "max_ids": 20}}
    train = {"dataset": "xquad-r", "format": "lareqa", "languages": ["en"], "articles": "train"}
    plan = load_data({"train": train, "eval": evals, "eval_articles": 16}, data_root)
    full = {n: load_eval_set(n, {k: v for k, v in e.items() if k != "max_ids"}, data_root,
                             {"seed": 0, "held_out": 16}).rset for n, e in evals.items()}
    sib, xq = plan.evals["sib"].rset, plan.evals["xq"].rset
    assert len({q.qid for q in sib.questions}) == 20 and len(sib.questions) == len(sib.candidates) == 3 * 20
    assert {c.cid for c in sib.candidates} == {q.own for q in sib.questions} and set(sib.qrels) == {q.qid for q in sib.questions}
    assert len({q.qid for q in xq.questions}) == 20 and xq.candidates == full["xq"].candidates
    assert len(full["sib"].candidates) == 3 * 204 and plan.evals["sib"].info["max_ids"] == 20
    again = load_data({"train": train, "eval": evals, "eval_articles": 16}, data_root)
    assert again.evals["sib"].rset.questions == sib.questions  # seeded: every job evaluates the same ids
    with pytest.raises(ValueError, match=r"data.eval.sib.max_ids must be a positive number"):
        load_data({"train": train, "eval": {"sib": {**evals["sib"], "max_ids": 0}}}, data_root)


def test_max_ids_shrinks_belebeles_pool_of_parallel_passages_with_its_question_ids(data_root):
    """Belebele's pool is the 137 passages in every language, each some question's relevant passage, so a cap
    keeps the passages of the kept questions in every language (the en and de question share an id)."""
    bb = {"dataset": "belebele-sib200", "format": "belebele_sib200", "languages": ["en", "zu", "ja"]}
    train = {"dataset": "xquad-r", "format": "lareqa", "languages": ["en"], "articles": "train"}
    rset = load_data({"train": train, "eval": {"bb": {**bb, "max_ids": 30}}}, data_root).evals["bb"].rset
    lines = {q.qid.split("/")[0] for q in rset.questions}
    assert len({q.qid for q in rset.questions}) == 30 and len(rset.questions) == 60  # asked in en and de
    assert {c.cid for c in rset.candidates} == {f"{l}/{line}" for l in ("en", "zu", "ja") for line in lines}
    assert len(lines) < 30 and all(set(rset.qrels[q.qid]) <= {c.cid for c in rset.candidates} for q in rset.questions)


def test_tatoeba_pairs_are_separate_pools_and_accuracy_is_recall_at_1(data_root):
    ev = load_eval_set("tat", {"dataset": "tatoeba-112", "format": "tatoeba", "languages": ["de", "am"]}, data_root, {})
    rset = ev.rset
    assert {q.pool for q in rset.questions} == {"de", "am"}
    assert len(rset.questions) == 2 * (1000 + 168)
    # identical embeddings for a pair's two sides: every pair scores 1.0 with its translation only
    emb = np.zeros((len(rset.candidates), len(rset.candidates) // 2), dtype=np.float32)
    for row, c in enumerate(rset.candidates):
        emb[row, row // 2] = 1.0
    # the am/0 pair also matches de/0's English side exactly: only a shared pool would let it compete
    emb[[c.cid for c in rset.candidates].index("am/0/en")] = emb[[c.cid for c in rset.candidates].index("de/0/en")]
    rows = {(r.setting, r.query_lang, r.doc_lang, r.metric): r.value for r in evaluate(rset, emb, emb, n_boot=10).rows}
    assert rows[("cross", "am", "en", "recall@1")] == 1.0 and rows[("cross", "de", "en", "recall@1")] == 1.0
    assert rows[("cross", "en", "am", "map")] == 1.0


def test_all_112_tatoeba_languages_load_with_unique_codes(data_root):
    ev = load_eval_set("tat", {"dataset": "tatoeba-112", "format": "tatoeba", "languages": "all"}, data_root, {})
    assert ev.info["eval_langs"] == 112 and len(ev.rset.questions) == 2 * 88_877
    assert {"kzj", "dtp", "sw", "zh", "yue", "wuu"} <= set(ev.rset.query_languages)


def test_afriqa_native_questions_and_their_translations_share_the_gold_passage(data_root):
    import json

    ev = load_eval_set("af", {"dataset": "afriqa", "format": "afriqa", "languages": ["ha", "fon"]}, data_root, {})
    rset = ev.rset
    assert rset.query_languages == ("en", "fon", "fr", "ha")  # native questions, and their translations
    assert set(rset.languages) == {"en", "fr"}
    raw = [json.loads(l) for l in (data_root / "afriqa/data/gold_passages/hau/gold_span_passages.afriqa.hau.en.test.json").read_text().splitlines()]
    r = raw[0]
    native = next(q for q in rset.questions if q.qid == f"hau/{r['id']}" and q.lang == "ha")
    translated = next(q for q in rset.questions if q.qid == native.qid and q.lang == "en")
    assert native.text == r["question_lang"] and translated.text == r["question_translated"]
    (gold,) = rset.qrels[native.qid]
    assert next(c for c in rset.candidates if c.cid == gold).text == r["context"]
    n_ha = sum(1 for q in rset.questions if q.lang == "ha")
    n_fon = sum(1 for q in rset.questions if q.lang == "fon")
    assert n_ha == len(raw) and n_fon == sum(1 for q in rset.questions if q.lang == "fr") == 386


def test_stratified_subsets_cover_families_and_scripts_deterministically(data_root):
    labels = list(sib_varieties(data_root / "sib200" / "annotated"))
    chosen = stratified(12, labels, keep=["en", "zh"])
    assert chosen[:2] == ("en", "zh") and len(set(chosen)) == 12 and stratified(12, labels, keep=["en", "zh"]) == chosen
    families = {get_language(c).family for c in chosen} - {None}
    scripts = {get_language(c).script for c in chosen}
    assert len(families) >= 9 and len(scripts) >= 9  # nearly one new family or script per language
    assert pick_languages("stratified:12", labels, "k", keep=["en", "zh"]) == chosen
    assert pick_languages(["zho_Hant", "cmn", "zul_Latn"], labels, "k") == ("zh-Hant", "zh", "zu")
    with pytest.raises(ValueError, match="the data has no language"):
        pick_languages(["en", "sco"], labels, "data.eval.sib200.languages")
    with pytest.raises(ValueError, match="stratified:<N>"):
        pick_languages("stratified:some", labels, "data.eval.sib200.languages")


def test_evaluate_writes_per_language_results_for_every_many_language_set(tmp_path):
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(tmp_path), "HYBRID_SWEEP_CACHE": str(tmp_path / "cache")}  # own cache: test_run counts model states in the shared one
    cmd = [sys.executable, "-m", "hybrid_sweep.evaluate", "model=tiny", "data=many_languages", "eval.langs=stratified:3",
           "eval.batch_size=128"]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    job = tmp_path / "evaluate" / "data=many_languages,eval.langs=stratified:3,model=tiny"
    rows = read_results(job / "results.json")
    by_set = {}
    for r in rows:
        by_set.setdefault(r["eval_set"], set()).add(r["query_lang"])
    assert set(by_set) == {"sib200", "belebele_sib200", "tatoeba112", "afriqa"}
    assert len(by_set["sib200"] - {"all"}) == 3 and {"de", "en"} <= by_set["belebele_sib200"]
    assert len(by_set["afriqa"] - {"all", "en", "fr"}) == 3
    assert {r["task"] for r in rows if r["eval_set"] == "sib200"} == {"translation"}
    assert {r["precision"] for r in rows} == {"fp32"}

    from hybrid_sweep.analysis.languages import main as languages_main

    languages_main([str(job)])
    import pandas as pd

    table = pd.read_csv(job / "languages.csv")
    assert len(table[table.eval_set == "sib200"]) == 3 and len(table[table.eval_set == "belebele_sib200"]) == 3
    assert table.family.notna().all() and set(pd.read_csv(job / "scripts.csv").eval_set) == set(by_set)


@pytest.mark.slow  # a trained sweep on three evaluation sets (~50 s); the fast suite's sweeps run the same aggregation on XQuAD-R
def test_a_trained_sweep_relates_each_languages_gain_to_its_distance_from_training(tmp_path):
    """A tiny sweep evaluated on XQuAD-R held out and six SIB-200 languages: the aggregate writes the
    transfer analysis, with every SIB-200 language placed by URIEL and by what of it was trained on."""
    import pandas as pd

    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(tmp_path), "HYBRID_SWEEP_CACHE": str(tmp_path / "cache")}  # own cache: test_run counts model states in the shared one
    cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "langs=2,4", "sweep_name=far", "model=tiny", "logger=none",
           "trainer.max_steps=3", "optimizer.warmup_steps=1", "batching.batch_size=4", "data.eval_articles=1", "data/eval=[xquad_heldout,sib200]",
           "data.eval.sib200.languages=stratified:6", "data.eval.sib200.keep=[en,zh,ar]"]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    sweep = tmp_path / "far"
    assert len(list(sweep.glob("*/eval/sib200/per_query.parquet"))) == 2  # folders one level deep
    table = pd.read_csv(sweep / "transfer_distance.csv")
    sib = table[table.eval_set == "sib200"]
    assert len(sib) == 2 * 6 and sib.syntactic_nearest.notna().all()
    trained = sib[sib.seen_group == "trained language"]
    assert set(trained.lang) <= {"en", "zh", "ar", "hi"} and (trained.syntactic_nearest == 0).all()
    assert (sib.gain == sib.trained - sib.zero_shot).all()
    corr = pd.read_csv(sweep / "transfer_correlation.csv")
    assert {"sib200", "xquad_heldout"} <= set(corr.eval_set) and "spearman" in corr
    assert (sweep / "transfer_sib200.png").stat().st_size > 10_000 and (sweep / "transfer_bins.csv").exists()


def test_the_gain_distance_interval_resamples_languages_with_their_own_gains():
    """A gain that falls strictly with distance: rho is -1 and so is every resample (a bootstrap that drew the
    two columns apart would centre its interval on 0). Two seeds of one language count as one language."""
    import pandas as pd

    from hybrid_sweep.analysis.typology_analysis import DISTANCE_KINDS, gain_correlation

    langs = [f"l{i}" for i in range(8)]
    rows = [{"eval_set": "s", "lang": lang, "seed": seed, "gain": 0.5 - 0.05 * i + 0.001 * seed,
             "seen_group": "unseen family and script", **{f"{k}_nearest": 0.1 * i for k in DISTANCE_KINDS}}
            for i, lang in enumerate(langs) for seed in (1, 2)]
    corr = gain_correlation(pd.DataFrame(rows), n_boot=200)
    overall = corr[(corr.seen_group == "all") & (corr.distance == "syntactic")].iloc[0]
    assert overall.n == 8 and overall.spearman == pytest.approx(-1)
    assert overall.ci_low == pytest.approx(-1) and overall.ci_high == pytest.approx(-1)


def test_the_pair_distance_interval_resamples_languages_not_pairs():
    """A value that rises strictly with a pair's distance gives rho 1 in every resample of languages. Where each
    language shifts every pair it is in, the pairs are not independent: the bootstrap over languages gives a
    wider interval than one that resamples the pairs as if they were."""
    import pandas as pd
    from scipy import stats

    from hybrid_sweep.analysis.typology_analysis import pair_correlation

    langs = [f"l{i}" for i in range(10)]
    rng = np.random.default_rng(3)
    shift, place = rng.normal(size=10), rng.normal(size=10)
    rows = [{"query_lang": a, "doc_lang": b, "distance": abs(place[i] - place[j]) + 0.01 * i * j,
             "value": shift[i] + shift[j] + 0.3 * rng.normal()}
            for i, a in enumerate(langs) for j, b in enumerate(langs) if a != b]
    pairs = pd.DataFrame(rows)
    monotone = pair_correlation(pairs.assign(value=pairs.distance * 2), n_boot=200)
    assert (monotone["pairs"], monotone["languages"]) == (90, 10)
    assert monotone["spearman"] == pytest.approx(1) and monotone["ci_low"] == pytest.approx(1)
    by_language = pair_correlation(pairs, n_boot=500)
    assert by_language["spearman"] == pytest.approx(stats.spearmanr(pairs.distance, pairs.value)[0])
    draws = rng.integers(0, len(pairs), (500, len(pairs)))
    naive = [stats.spearmanr(pairs.distance.to_numpy()[d], pairs.value.to_numpy()[d])[0] for d in draws]
    assert (by_language["ci_high"] - by_language["ci_low"]) > 1.3 * (np.percentile(naive, 97.5) - np.percentile(naive, 2.5))


def test_int8_inference_is_a_cached_separately_close_copy(data_root, tmp_path):
    from omegaconf import OmegaConf

    from hybrid_sweep.evaluation.retrieval import encode
    from hybrid_sweep.model import build_biencoder

    cfg = OmegaConf.load(PROJECT_ROOT / "conf/model/tiny.yaml")
    cfg.cache_dir = str(tmp_path / "models")
    model = build_biencoder(cfg)
    rset = load_eval_set("sib", {**SIB, "languages": ["en", "de"]}, data_root, {}).rset
    fp32 = encode(model, rset, 64, tmp_path / "emb")
    int8 = encode(model, rset, 64, tmp_path / "emb", precision="int8")
    cos = (fp32[0] * int8[0]).sum(axis=1)
    assert cos.min() > 0.95 and not np.array_equal(fp32[0], int8[0])
    assert len(list((tmp_path / "emb").iterdir())) == 2  # fp32 and int8 under their own fingerprints
    from torch import nn

    assert all(type(m) is not nn.Linear or m.weight.dtype.is_floating_point for m in model.modules())
    assert any(type(m) is nn.Linear for m in model.modules())  # the model itself stays float, unquantised
