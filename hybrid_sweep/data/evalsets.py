"""Evaluation sets: a ``data.eval.<name>`` config in, a ``RetrievalSet`` (questions, pooled candidates of every
language, graded relevance) out. One reader per format, registered by name.

* ``lareqa``: a folder of ``<lang>.json`` LAReQA files (languages discovered; ``languages`` picks some);
  ``articles: held_out|all`` (held_out: the articles the seeded split keeps out of training). Relevant: the
  answer sentence in every language, grade 1.
* ``beir``: a BEIR/MTEB-style folder: ``corpus.jsonl`` (``_id``, ``text``, optional ``title``, a language
  field), ``queries.jsonl`` (``_id``, ``text``, a language field, optional parallel id), ``qrels/<split>.tsv``
  (``query-id``, ``corpus-id``, ``score``; score > 0 is relevant, its value the grade). Queries that share a
  parallel id (translations of one question) share their relevance.
* ``parallel``: a table of translations, one column per language (e.g. NusaX-MT): each sentence of a
  ``queries`` language retrieves its translations among the pooled sentences of the ``documents`` languages.
  Translation retrieval, not QA (``task`` says so in the results).
* ``sib200``, ``belebele_sib200``, ``tatoeba``, ``afriqa``: the many-language sets (``manylang`` reads
  them); ``languages: all | [list] | stratified:N`` picks their languages (``codes.pick_languages``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_sweep.data.catalog import DatasetMeta, dataset
from hybrid_sweep.data.codes import config_languages, language_codes, language_of, pick_languages
from hybrid_sweep.data.corpora import describe, resolve_path
from hybrid_sweep.data.lareqa import discover_languages, read_folder
from hybrid_sweep.data.manylang import (SIB_SPLITS, afriqa_languages, afriqa_pairs, belebele_index, belebele_lines,
                                        belebele_questions, rebuild_passage, sib_sentences, sib_varieties,
                                        tatoeba_languages, tatoeba_pairs)
from hybrid_sweep.data.records import Candidate, Question, RetrievalSet
from hybrid_sweep.data.split import article_split
from hybrid_sweep.data.tables import read_table
from hybrid_sweep.registry import Registry


@dataclass(frozen=True)
class EvalSet:
    rset: RetrievalSet
    source: str  # identity of the underlying data, for the leakage check
    meta: DatasetMeta
    info: dict = field(hash=False)


EVAL_FORMATS: Registry[Callable[..., EvalSet]] = Registry("data.eval.<name>.format")


def load_eval_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    fmt = cfg.get("format") or "lareqa"
    return EVAL_FORMATS.get(fmt)(name, cfg, Path(data_root), split)


@EVAL_FORMATS.register("lareqa")
def lareqa_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "lareqa")
    files = read_folder(folder, _languages(cfg, key, discover_languages(folder)), f"{key}.languages")
    take = cfg.get("articles", "all")
    info = {"eval_data": meta.name}
    if take == "held_out":
        _, articles = article_split(files, split, key)
        info.update(split_seed=split["seed"], eval_articles=sorted(articles))
    elif take == "all":
        articles = None
    else:
        raise ValueError(f"{key}.articles={take!r}: use held_out or all")
    keep = (lambda a: a in articles) if articles is not None else (lambda a: True)
    questions = tuple(q for f in files.values() for q in f.questions if keep(q.article))
    candidates = tuple(c for f in files.values() for c in f.candidates if keep(c.article))
    qrels: dict[str, dict[str, int]] = {}
    for q in questions:
        qrels.setdefault(q.qid, {})[files[q.lang].answer_of[q.qid]] = 1
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task="qa"), str(folder.resolve()), meta, info)


@EVAL_FORMATS.register("beir")
def beir_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "beir")
    lang_field, pid_field = cfg.get("lang_field", "lang"), cfg.get("parallel_id_field")
    corpus = read_table(folder / "corpus.jsonl", {"id": "_id", "text": "text", "lang": lang_field}, key)
    qmap = {"id": "_id", "text": "text", "lang": lang_field} | ({"pid": pid_field} if pid_field else {})
    queries = read_table(folder / "queries.jsonl", qmap, key)
    qrels_file = folder / "qrels" / f"{cfg.get('split', 'test')}.tsv"
    qrels_table = read_table(qrels_file, {"qid": "query-id", "cid": "corpus-id", "score": "score"}, key)
    c_lang = language_codes(corpus.lang, f"the {lang_field} field of {folder / 'corpus.jsonl'}")
    q_lang = language_codes(queries.lang, f"the {lang_field} field of {folder / 'queries.jsonl'}")
    candidates = tuple(Candidate(str(i), c_lang[str(l)], str(t)) for i, l, t in zip(corpus.id, corpus.lang, corpus.text))
    pids = queries.pid.astype(str) if pid_field else queries.id.astype(str)
    parallel_of = dict(zip(queries.id.astype(str), pids))
    questions = tuple(Question(pid, q_lang[str(l)], str(t)) for pid, l, t in zip(pids, queries.lang, queries.text))
    known = {c.cid for c in candidates}
    qrels: dict[str, dict[str, int]] = {}
    for qid, cid, score in zip(qrels_table.qid.astype(str), qrels_table.cid.astype(str), qrels_table.score):
        grade = int(float(score))
        if grade <= 0:
            continue
        if qid not in parallel_of or cid not in known:
            raise ValueError(f"{qrels_file}: qrels row ({qid}, {cid}) names a query or document that "
                             f"queries.jsonl / corpus.jsonl lack")
        qrels.setdefault(parallel_of[qid], {})[cid] = max(grade, qrels.get(parallel_of[qid], {}).get(cid, 0))
    questions = tuple(q for q in questions if q.qid in qrels)  # BEIR: queries without qrels are not scored
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task=cfg.get("task", "retrieval")),
                   str(folder.resolve()), meta, {"eval_data": meta.name})


@EVAL_FORMATS.register("parallel")
def parallel_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    import pandas as pd

    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "parallel")
    part = cfg.get("split", "test")
    path = folder / f"{part}.csv" if folder.is_dir() else folder
    header = pd.read_csv(path, nrows=0).columns
    mapping = dict(cfg.get("columns") or {})
    lang_of = {c: language_of(mapping.get(c) or c, f"the columns of {path}") for c in header
               if not c.startswith("Unnamed")}
    have = sorted(set(lang_of.values()))
    query_langs = config_languages(cfg.get("queries"), f"{key}.queries")
    doc_langs = config_languages(cfg.get("documents"), f"{key}.documents")
    if not query_langs or not doc_langs:
        raise ValueError(f"{key} needs queries=[...] and documents=[...] (languages of {path}: {have})")
    missing = sorted(set(query_langs + doc_langs) - set(have))
    if missing:
        raise ValueError(f"{key}: {path} has no column for language(s) {missing}; it has {have}")
    if set(query_langs) & set(doc_langs):
        raise ValueError(f"{key}: {sorted(set(query_langs) & set(doc_langs))} are both query and document "
                         f"languages; a sentence would retrieve itself. Keep the two lists disjoint")
    column_of = {l: c for c, l in lang_of.items()}
    table = pd.read_csv(path, usecols=[column_of[l] for l in query_langs + doc_langs], dtype=str,
                        keep_default_na=False)
    ids = [f"{part}/{i}" for i in range(len(table))]
    questions = tuple(Question(i, l, t) for l in query_langs for i, t in zip(ids, table[column_of[l]]) if t.strip())
    candidates = tuple(Candidate(f"{l}/{i}", l, t) for l in doc_langs for i, t in zip(ids, table[column_of[l]])
                       if t.strip())
    qrels: dict[str, dict[str, int]] = {}
    for c in candidates:
        qrels.setdefault(c.cid.split("/", 1)[1], {})[c.cid] = 1
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task="translation"), str(Path(path).resolve()),
                   meta, {"eval_data": meta.name, "eval_split": part})


def _languages(cfg: Mapping, key: str, labels) -> tuple[str, ...]:
    return pick_languages(cfg.get("languages"), list(labels), f"{key}.languages", cfg.get("keep") or ())


@EVAL_FORMATS.register("sib200")
def sib200_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    """SIB-200 sentences retrieve their translations (LAReQA-style): every sentence of every chosen
    language is a query and a candidate; relevant: the same ``index_id`` in every other language; a
    sentence never retrieves itself. ``pairs: pivot`` reports language pairs with the ``pivot`` (X -> en,
    en -> X) beside the pooled setting; ``all`` every pair (N^2 blocks)."""
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "sib200")
    part = cfg.get("split", "test")
    varieties = sib_varieties(folder)
    langs = _languages(cfg, key, varieties)
    texts = {l: sib_sentences(folder, varieties[l], part) for l in langs}
    ids = [i for i, _ in texts[langs[0]]]
    for l in langs:
        if [i for i, _ in texts[l]] != ids:
            raise ValueError(f"{key}: {varieties[l]}/{part}.tsv lists other index_ids than {varieties[langs[0]]}")
    questions = tuple(Question(str(i), l, t, own=f"{l}/{i}") for l in langs for i, t in texts[l])
    candidates = tuple(Candidate(f"{l}/{i}", l, t) for l in langs for i, t in texts[l])
    qrels = {str(i): {f"{l}/{i}": 1 for l in langs} for i in ids}
    pivots = _pivots(cfg, key, langs)
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task="translation", pivots=pivots),
                   str(folder.resolve()), meta, {"eval_data": meta.name, "eval_split": part, "eval_langs": len(langs)})


def _pivots(cfg: Mapping, key: str, langs: tuple[str, ...]) -> tuple[str, ...]:
    pairs = cfg.get("pairs", "pivot")
    if pairs == "all":
        return ()
    if pairs != "pivot":
        raise ValueError(f"{key}.pairs={pairs!r}: use pivot (pairs with {key}.pivot) or all")
    return pick_languages([cfg.get("pivot", "en")], langs, f"{key}.pivot")


@EVAL_FORMATS.register("belebele_sib200")
def belebele_sib200_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    """Belebele questions (``query_languages``: en, de) retrieve their passage among the 137 passages
    rebuilt in every chosen SIB-200 language (relevant: that passage in every language). The English
    rebuild must equal the English Belebele text, or the index is wrong and loading fails."""
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "belebele_sib200")
    sib_folder = resolve_path(data_root, cfg.get("sib_path") or dataset("sib-200").path)
    belebele = resolve_path(data_root, cfg.get("belebele_path", "train/belebele"))
    varieties = sib_varieties(sib_folder)
    langs = _languages(cfg, key, varieties)
    passages = belebele_index(folder / "belebele_passage_to_sib_index_ids.json")
    english = belebele_lines(belebele / "eng_Latn.jsonl")
    all_splits = {l: dict(s for part in SIB_SPLITS for s in sib_sentences(sib_folder, varieties[l], part))
                  for l in {*langs, "en"}}
    for p in passages:
        if rebuild_passage(p, all_splits["en"]) != english[p.line]["text"]:
            raise ValueError(f"{key}: the English SIB-200 sentences {p.sib_index_ids} do not give Belebele "
                             f"line {p.line} of {belebele / 'eng_Latn.jsonl'}")
    lines = tuple(p.line for p in passages)
    query_langs = config_languages(cfg.get("query_languages") or ["en", "de"], f"{key}.query_languages")
    files = {"en": "eng_Latn", "de": "deu_Latn"}
    unknown = [l for l in query_langs if l not in files]
    if unknown:
        raise ValueError(f"{key}.query_languages: Belebele questions exist in en and de only, not {unknown}")
    questions = tuple(Question(f"{q.line}/{q.number}", q.lang, q.text) for l in query_langs
                      for q in belebele_questions(belebele / f"{files[l]}.jsonl", l, lines))
    candidates = tuple(Candidate(f"{l}/{p.line}", l, rebuild_passage(p, all_splits[l])) for l in langs for p in passages)
    qrels = {q.qid: {f"{l}/{q.qid.split('/')[0]}": 1 for l in langs} for q in questions}
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task="qa", pivots=_pivots(cfg, key, langs)),
                   str(folder.resolve()), meta, {"eval_data": meta.name, "eval_langs": len(langs)})


@EVAL_FORMATS.register("tatoeba")
def tatoeba_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    """Tatoeba bitext retrieval as the benchmark defines it: within each language pair, each X sentence
    retrieves its English translation among that pair's English sentences (X -> en) and the reverse
    (en -> X). Each pair is its own pool (``Question.pool``); accuracy@1 is ``recall@1``."""
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "tatoeba")
    codes = tatoeba_languages(folder)
    langs = _languages(cfg, key, codes)
    questions, candidates, qrels = [], [], {}
    for l in langs:
        for i, (x, en) in enumerate(tatoeba_pairs(folder, codes[l])):
            qid = f"{l}/{i}"
            questions += [Question(qid, l, x, own=f"{qid}/{l}", pool=l), Question(qid, "en", en, own=f"{qid}/en", pool=l)]
            candidates += [Candidate(f"{qid}/{l}", l, x, pool=l), Candidate(f"{qid}/en", "en", en, pool=l)]
            qrels[qid] = {f"{qid}/{l}": 1, f"{qid}/en": 1}
    return EvalSet(RetrievalSet(name, tuple(questions), tuple(candidates), qrels, task="translation", pivots=("en",)),
                   str(folder.resolve()), meta, {"eval_data": meta.name, "eval_langs": len(langs)})


@EVAL_FORMATS.register("afriqa")
def afriqa_set(name: str, cfg: Mapping, data_root: Path, split: Mapping) -> EvalSet:
    """AfriQA: each native question retrieves its gold passage (English; French for fon) among the gold
    passages of every chosen language (identical passages pooled once); its human translation, asked
    of the same pool, is the monolingual control (query language en / fr)."""
    key = f"data.eval.{name}"
    meta, folder = describe(cfg, data_root, key, "afriqa")
    part = cfg.get("split", "test")
    names = afriqa_languages(folder)
    langs = _languages(cfg, key, names)
    read = [afriqa_pairs(folder, names[l], part) for l in langs]
    pairs = [p for found, _ in read for p in found]
    if not pairs:
        raise ValueError(f"{key}: no AfriQA {part} pairs for {list(langs)} in {folder}")
    passage_id: dict[tuple[str, str], str] = {}
    for p in pairs:
        passage_id.setdefault((p.pivot, p.passage), f"{p.pivot}/{len(passage_id)}")
    questions = tuple(q for p in pairs for q in (Question(p.qid, p.lang, p.question), Question(p.qid, p.pivot, p.translated)))
    candidates = tuple(Candidate(cid, pivot, text) for (pivot, text), cid in passage_id.items())
    qrels = {p.qid: {passage_id[(p.pivot, p.passage)]: 1} for p in pairs}
    return EvalSet(RetrievalSet(name, questions, candidates, qrels, task="qa"), str(folder.resolve()), meta,
                   {"eval_data": meta.name, "eval_split": part, "eval_langs": len(langs),
                    "eval_skipped_empty": sum(n for _, n in read)})
