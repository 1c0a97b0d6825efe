"""Data of your own, any language codes: training pairs tables, BEIR folders, parallel tables, built from real
files of ../shared/data (NusaX-MT, AfriQA, Tatoeba-112), and the errors bad input gets before any model loads."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from hybrid_sweep.data.protocols import load_data
from hybrid_sweep.paths import CONFIG_DIR

NUSAX_CODES = {"indonesian": "id", "acehnese": "ace", "banjarese": "bjn", "english": "en", "madurese": "mad",
               "ngaju": "nij", "sundanese": "su", "balinese": "ban", "buginese": "bug", "javanese": "jv",
               "minangkabau": "min", "toba_batak": "bbc"}


def data_cfg(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg.data, resolve=True)


def nusax_pairs(data_root, path, rows: int = 120, codes=None):
    """NusaX-MT train rows as a long JSONL of translation pairs with the user's own column names and
    ISO 639-3 codes for some languages (jav, sun): question = the sentence, answer = the same sentence, so a
    cross pair (query language != passage language) is a translation pair."""
    table = pd.read_csv(data_root / "nusax-mt" / "train.csv", nrows=rows)
    codes = codes or {**NUSAX_CODES, "javanese": "jav", "sundanese": "sun"}
    with path.open("w", encoding="utf-8") as fh:
        for i, row in table.iterrows():
            for column, code in codes.items():
                fh.write(json.dumps({"row": f"nusax-{i}", "language": code, "src": row[column], "tgt": row[column]},
                                    ensure_ascii=False) + "\n")
    return path


PAIRS = ["data.train.columns.id=row", "data.train.columns.lang=language", "data.train.columns.question=src",
         "data.train.columns.answer=tgt"]


def test_pairs_table_with_own_columns_and_codes(data_root, tmp_path):
    path = nusax_pairs(data_root, tmp_path / "pairs.jsonl")
    data = load_data(data_cfg("data/train=pairs", f"data.train.path={path}", *PAIRS, "data/eval=[nusax_mt]"),
                     data_root)
    assert data.train.languages == tuple(sorted(NUSAX_CODES.values()))  # jav -> jv, sun -> su
    assert len(data.train.items) == 120 and all(len(i.languages) == 12 for i in data.train.items)
    rset = data.eval_set
    assert rset.task == "translation" and rset.languages == ("en", "id")
    assert len(rset.questions) == 400 * 10 and len(rset.candidates) == 800
    assert {len(rset.relevant(q.qid)) for q in rset.questions} == {2}
    q = rset.questions[0]
    assert all(c.split("/", 1)[1] == q.qid for c in rset.relevant(q.qid))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_pairs_table_other_file_types(data_root, tmp_path, suffix):
    frame = pd.read_json(nusax_pairs(data_root, tmp_path / "pairs.jsonl", rows=5), lines=True)
    path = tmp_path / f"pairs{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    data = load_data(data_cfg("data/train=pairs", f"data.train.path={path}", *PAIRS), data_root)
    assert len(data.train.items) == 5 and len(data.train.languages) == 12


def test_a_missing_column_is_named_before_the_table_loads(data_root, tmp_path):
    path = nusax_pairs(data_root, tmp_path / "pairs.jsonl", rows=3)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['answer', 'id', 'lang', 'question'\].*"
                                         r"it has \['row', 'language', 'src', 'tgt'\].*data.train.columns"):
        load_data(data_cfg("data/train=pairs", f"data.train.path={path}"), data_root)


@pytest.mark.parametrize("overrides, error, message", [
    (["data/train=pairs", "data.train.path=/nonexistent/pairs.jsonl"], FileNotFoundError,
     r"data.train.path=/nonexistent/pairs.jsonl does not exist"),
    (["data.train.dataset=xquad-rr"], ValueError, r"dataset='xquad-rr' is unknown; known datasets"),
    (["data/train=xquad_r"], ValueError, r"data.train \(xquad_r\) and data.eval.xquad_heldout read the same data"),
    (["data=mlqa_to_xquad", "data/train=xquad_articles"], ValueError,
     r"data.train \(xquad_articles\) and data.eval.xquad_r read the same data"),
    (["data.eval.xquad_heldout.languages=[en,xx]"], ValueError,
     r"data.eval.xquad_heldout.languages: unknown language code\(s\) 'xx'"),
    (["data.eval.xquad_heldout.languages=[en,ja]"], ValueError, r"the data has no language \['ja'\]; it has 11"),
    (["data.eval.xquad_heldout.format=trec"], ValueError, r"data.eval.<name>.format='trec' is unknown"),
    (["data/eval=[]"], ValueError, r"data.eval is empty"),
])
def test_bad_data_configs_fail_with_one_clear_error(data_root, overrides, error, message):
    with pytest.raises(error, match=message):
        load_data(data_cfg(*overrides), data_root)


def test_an_unknown_language_code_in_a_file_names_the_file(data_root, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"id": "1", "lang": "qqq", "question": "a", "answer": "b"}) + "\n")
    with pytest.raises(ValueError, match=r"the lang column of .*pairs.jsonl.*'qqq'"):
        load_data(data_cfg("data/train=pairs", f"data.train.path={path}"), data_root)


def afriqa_beir(data_root, folder, langs=("hau", "yor", "zul"), per_lang: int = 25):
    """AfriQA test questions (native and English translation, one parallel id) with their gold English
    passages as a BEIR folder; passages shared by several questions become one document."""
    corpus, queries, qrels, doc_of = [], [], [], {}
    for lang in langs:
        path = data_root / "afriqa" / "data" / "gold_passages" / lang / f"gold_span_passages.afriqa.{lang}.en.test.json"
        for line in path.read_text(encoding="utf-8").splitlines()[:per_lang]:
            rec = json.loads(line)
            pid = f"{lang}-{rec['id']}"
            if rec["context"] not in doc_of:
                doc_of[rec["context"]] = f"d{len(doc_of)}"
                corpus.append({"_id": doc_of[rec["context"]], "title": rec["title"], "text": rec["context"], "lang": "en"})
            queries += [{"_id": f"{pid}/native", "text": rec["question_lang"], "lang": lang, "pid": pid},
                        {"_id": f"{pid}/en", "text": rec["question_translated"], "lang": "en", "pid": pid}]
            qrels += [(f"{pid}/native", doc_of[rec["context"]], 1), (f"{pid}/en", doc_of[rec["context"]], 1)]
    return write_beir(folder, corpus, queries, qrels)


def write_beir(folder, corpus, queries, qrels):
    """A BEIR folder: corpus.jsonl, queries.jsonl and qrels/test.tsv from row lists."""
    (folder / "qrels").mkdir(parents=True)
    for name, rows in (("corpus", corpus), ("queries", queries)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    pd.DataFrame(qrels, columns=["query-id", "corpus-id", "score"]).to_csv(folder / "qrels" / "test.tsv", sep="\t",
                                                                           index=False)
    return folder


def test_beir_folder_with_a_language_field_and_parallel_ids(data_root, tmp_path):
    folder = afriqa_beir(data_root, tmp_path / "afriqa")
    data = load_data(data_cfg("data/eval=[beir_dir]", f"data.eval.beir_dir.path={folder}",
                              "data.eval.beir_dir.parallel_id_field=pid"), data_root)
    rset = data.eval_set
    assert rset.query_languages == ("en", "ha", "yo", "zu") and rset.languages == ("en",)
    assert len(rset.questions) == 2 * 75 and len({q.qid for q in rset.questions}) == 75
    assert all(len(rset.relevant(q.qid)) == 1 for q in rset.questions)
    assert data.train.name == "xquad_articles"  # evaluation sets are chosen apart from the corpus


def test_several_evaluation_sets_in_one_run(data_root):
    data = load_data(data_cfg("data/eval=[xquad_heldout,mlqa_r]", "data.eval_articles=2"), data_root)
    assert list(data.evals) == ["xquad_heldout", "mlqa_r"]
    assert data.info["eval_data"] == "xquad-r" and data.info["eval_sets"] == "xquad_heldout,mlqa_r"
    assert set(data.eval_languages) == set(data.train.languages)


def test_a_quick_look_keeps_some_question_ids_and_the_whole_pool(data_root):
    full = load_data(data_cfg("data.eval_articles=2"), data_root).eval_set
    quick = load_data(data_cfg("data.eval_articles=2"), data_root, max_questions=10).eval_set
    assert len({q.qid for q in quick.questions}) == 10 and len(quick.questions) == 10 * 11
    assert quick.candidates == full.candidates
    assert {q.qid for q in quick.questions} == {q.qid for q in load_data(
        data_cfg("data.eval_articles=2"), data_root, max_questions=10).eval_set.questions}  # seeded
    with pytest.raises(ValueError, match="eval.max_questions must be a positive number"):
        load_data(data_cfg("data.eval_articles=2"), data_root, max_questions=0)
