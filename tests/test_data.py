"""The data room on the real files: LAReQA loaders, the preset compositions, data of your own (pairs tables,
BEIR folders, parallel tables) and the checks that fail before any model loads."""
from __future__ import annotations

import json

import pytest

from hybrid_sweep.data.lareqa import read_lareqa_file
from hybrid_sweep.data.catalog import CATALOG
from hybrid_sweep.data.lareqa import read_folder
from hybrid_sweep.data.protocols import load_preset, restrict_items


XQUAD_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                    "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}


@pytest.fixture(scope="module")
def xquad_files(data_root):
    return read_folder(data_root / "xquad-r")


def test_xquad_counts_match_the_dataset_readme(xquad_files):
    for lang, f in xquad_files.items():
        assert len(f.questions) == 1190, lang
        assert len(f.candidates) == XQUAD_CANDIDATES[lang], lang
        assert len({q.article for q in f.questions}) == 48
    assert sum(len(f.candidates) for f in xquad_files.values()) == 13014


def test_xquad_is_11_way_parallel_and_gold_sentences_hold_the_answer(xquad_files, data_root):
    ids = {lang: {q.qid for q in f.questions} for lang, f in xquad_files.items()}
    assert all(ids[lang] == ids["en"] for lang in CATALOG["xquad-r"].languages)
    raw = json.loads((data_root / "xquad-r" / "en.json").read_text())
    qa = raw["data"][0]["paragraphs"][0]["qas"][0]
    sentence = {c.cid: c.text for c in xquad_files["en"].candidates}[xquad_files["en"].answer_of[qa["id"]]]
    assert qa["answers"][0]["text"] in sentence


def test_full_xquad_eval_set_has_11_relevant_items_per_question(data_root):
    data = load_preset("mlqa_to_xquad", data_root)
    rset = data.eval_set
    assert len(rset.questions) == 11 * 1190 and len(rset.candidates) == 13014
    assert {len(rset.relevant(q.qid)) for q in rset.questions[:50]} == {11}


def test_mlqa_counts_and_variable_parallelism(data_root):
    files = read_folder(data_root / "mlqa-r-dev-lareqa")
    assert {l: len(f.questions) for l, f in files.items()} == {
        "en": 1148, "ar": 517, "de": 512, "es": 500, "hi": 507, "vi": 511, "zh": 504}
    data = load_preset("mlqa_to_xquad", data_root)
    sizes = [len(item.languages) for item in data.train.items]
    assert (min(sizes), max(sizes)) == (2, 4)
    assert sizes.count(4) == 820 and sizes.count(3) == 263 and sizes.count(2) == 65


def test_article_split_is_disjoint(xquad_split):
    train_ids = {item.qid for item in xquad_split.train.items}
    eval_ids = {q.qid for q in xquad_split.eval_set.questions}
    assert train_ids and eval_ids and not train_ids & eval_ids
    train_texts = {t for item in xquad_split.train.items for t in (*item.questions.values(), *item.answers.values())}
    eval_sentences = {c.text for c in xquad_split.eval_set.candidates}
    eval_questions = {q.text for q in xquad_split.eval_set.questions}
    assert not train_texts & eval_sentences
    assert not train_texts & eval_questions
    eval_paragraph_texts = {c.paragraph for c in xquad_split.eval_set.candidates}
    held_out = set(xquad_split.info["eval_articles"])
    assert {p.split("/")[1] for p in eval_paragraph_texts} == held_out
    assert len(held_out) == 16 and xquad_split.info["train_articles"] == 32


def test_split_is_seeded(data_root, xquad_split):
    again = load_preset("xquad_split", data_root, split_seed=0, eval_articles=16)
    other = load_preset("xquad_split", data_root, split_seed=1, eval_articles=16)
    assert again.info["eval_articles"] == xquad_split.info["eval_articles"]
    assert other.info["eval_articles"] != xquad_split.info["eval_articles"]


def test_restrict_items_keeps_only_chosen_languages(xquad_split):
    items = restrict_items(xquad_split.train.items, ["en", "th"])
    assert len(items) == len(xquad_split.train.items)
    assert all(item.languages == {"en", "th"} for item in items)


def test_missing_and_malformed_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_lareqa_file(tmp_path / "nope.json", "en")
    bad = tmp_path / "en.json"
    bad.write_text('{"data": [')
    with pytest.raises(ValueError, match=r"Malformed JSON in .*en\.json"):
        read_lareqa_file(bad, "en")
    bad.write_text('{"data": [{"paragraphs": [{"context": "x", "qas": []}]}]}')
    with pytest.raises(ValueError, match="not in LAReQA format"):
        read_lareqa_file(bad, "en")
    far = {"data": [{"paragraphs": [{"context": "A b.", "sentences": ["A b."], "sentence_breaks": [[0, 4]],
                                     "qas": [{"id": "q1", "question": "?", "answers": [{"answer_start": 10000000}]}]}]}]}
    (tmp_path / "de.json").write_text(json.dumps(far))
    with pytest.raises(ValueError, match=r"de\.json: question q1 in paragraph de/000/0: answer_start 10000000 lies"):
        read_lareqa_file(tmp_path / "de.json", "de")


def test_missing_data_root_says_where_data_is_expected(tmp_path):
    from hybrid_sweep.paths import data_root

    with pytest.raises(FileNotFoundError, match="HYBRID_SWEEP_DATA"):
        data_root(tmp_path)


def test_mlqa_dev_evaluation_set_has_2_to_4_relevant_items(data_root):
    data = load_preset("xquad_to_mlqa", data_root)
    rset = data.eval_set
    assert len(rset.candidates) == 20534 and len(rset.questions) == 4199
    assert {len(rset.relevant(q.qid)) for q in rset.questions} == {2, 3, 4}
    assert data.info["eval_data"] == "mlqa-r-dev" and list(data.evals) == ["mlqa_r"]
    assert len(data.train.items) == 1190 and all(len(i.languages) == 11 for i in data.train.items)
