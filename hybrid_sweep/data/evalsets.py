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
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_sweep.data.catalog import DatasetMeta
from hybrid_sweep.data.codes import config_languages, language_codes, language_of
from hybrid_sweep.data.corpora import describe
from hybrid_sweep.data.lareqa import read_folder
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
    files = read_folder(folder, config_languages(cfg.get("languages"), f"{key}.languages"), f"{key}.languages")
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
