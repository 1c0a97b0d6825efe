"""Training corpora: a ``data.train`` config in, parallel QA items out. One reader per format, registered by name.

A config names a catalog dataset (``dataset: xquad-r``) or data of your own (``path: <file or folder>``),
a ``format``, and format options. Built-in formats:

* ``lareqa``: a folder of ``<lang>.json`` LAReQA files (languages discovered); ``articles: train|held_out|all``
  takes one side of the seeded article split (``data.split_seed``, ``data.eval_articles``).
* ``pairs``: a table with one row per (parallel id, language): ``id, lang, question, answer`` (rename with
  ``columns``), from a JSONL / Parquet / CSV file, a ``save_to_disk`` folder, or ``hub`` (needs network).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_sweep.data.catalog import DatasetMeta, dataset
from hybrid_sweep.data.codes import config_languages, language_codes
from hybrid_sweep.data.lareqa import LareqaLanguage, read_folder
from hybrid_sweep.data.records import QAItem
from hybrid_sweep.data.split import article_split
from hybrid_sweep.data.tables import read_hub_table, read_table
from hybrid_sweep.registry import Registry


@dataclass(frozen=True)
class TrainCorpus:
    name: str
    items: tuple[QAItem, ...]
    languages: tuple[str, ...]  # languages with both questions and answers, sorted
    source: str  # identity of the underlying data, for the leakage check
    meta: DatasetMeta
    info: dict = field(hash=False)  # provenance recorded with every result


CORPUS_FORMATS: Registry[Callable[..., TrainCorpus]] = Registry("data.train.format")


def resolve_path(data_root: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(data_root) / p


def describe(cfg: Mapping, data_root: Path, key: str, default_format: str) -> tuple[DatasetMeta, Path | None]:
    """The catalog entry (or one made from the config for data of your own) and the resolved location."""
    if cfg.get("dataset"):
        meta = dataset(cfg["dataset"])
        return meta, resolve_path(data_root, cfg.get("path") or meta.path)
    if cfg.get("path"):
        path = resolve_path(data_root, cfg["path"]).resolve()
        return DatasetMeta(str(cfg.get("name") or path.stem), cfg.get("format", default_format), str(path),
                           cfg.get("license") or "unknown", cfg.get("reference") or str(path)), path
    if cfg.get("hub", {}).get("name"):
        hub = cfg["hub"]["name"]
        return DatasetMeta(str(cfg.get("name") or hub), "qa_pairs", f"hub:{hub}", cfg.get("license") or "see the hub",
                           f"hub dataset {hub}"), None
    raise ValueError(f"{key} names no data: set {key}.dataset=<name>, {key}.path=<file or folder>, or {key}.hub.name")


def qa_items(files: dict[str, LareqaLanguage], articles: set[str] | None = None) -> tuple[QAItem, ...]:
    """Group questions and answer sentences by parallel id across languages."""
    candidate = {c.cid: c for f in files.values() for c in f.candidates}
    paragraph: dict[str, list[str]] = {}
    for c in candidate.values():
        paragraph.setdefault(c.paragraph, []).append(c.cid)
    questions: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str]] = {}
    context: dict[str, dict[str, tuple[str, ...]]] = {}
    for f in files.values():
        for q in f.questions:
            if articles is None or q.article in articles:
                gold = candidate[f.answer_of[q.qid]]
                questions.setdefault(q.qid, {})[q.lang] = q.text
                answers.setdefault(q.qid, {})[q.lang] = gold.text
                context.setdefault(q.qid, {})[q.lang] = tuple(candidate[c].text for c in paragraph[gold.paragraph]
                                                              if c != gold.cid)
    return tuple(QAItem(qid, questions[qid], answers[qid], context[qid]) for qid in sorted(questions))


def load_corpus(cfg: Mapping, data_root: Path, split: Mapping) -> TrainCorpus:
    """The training corpus a ``data.train`` config describes; ``split`` holds the article split settings."""
    fmt = cfg.get("format") or "pairs"
    return CORPUS_FORMATS.get(fmt)(cfg, Path(data_root), split)


@CORPUS_FORMATS.register("lareqa")
def lareqa_corpus(cfg: Mapping, data_root: Path, split: Mapping) -> TrainCorpus:
    meta, folder = describe(cfg, data_root, "data.train", "lareqa")
    files = read_folder(folder, config_languages(cfg.get("languages"), "data.train.languages"), "data.train.languages")
    take = cfg.get("articles", "all")
    info = {"train_data": meta.name}
    articles = None
    if take != "all":
        train, held_out = article_split(files, split, "data.train")
        articles = {"train": train, "held_out": held_out}.get(take)
        if articles is None:
            raise ValueError(f"data.train.articles={take!r}: use train, held_out or all")
        info.update(split_seed=split["seed"], train_articles=len(train))
    items = qa_items(files, articles)
    langs = tuple(sorted({l for item in items for l in item.languages}))
    return TrainCorpus(str(cfg.get("name") or meta.name), items, langs, str(folder.resolve()), meta, info)


PAIR_ROLES = ("id", "lang", "question", "answer")


@CORPUS_FORMATS.register("pairs")
def pairs_corpus(cfg: Mapping, data_root: Path, split: Mapping) -> TrainCorpus:
    meta, path = describe(cfg, data_root, "data.train", "pairs")
    columns = {role: str(cfg.get("columns", {}).get(role, role)) for role in PAIR_ROLES}
    table = read_table(path, columns, "data.train") if path is not None else \
        read_hub_table(cfg["hub"], columns, "data.train")
    where = str(path or meta.reference)
    if table.empty:
        raise ValueError(f"{where} has no rows")
    blank = table[["question", "answer"]].astype(str).apply(lambda c: c.str.strip() == "").any(axis=1)
    if blank.any():
        raise ValueError(f"{where}: {int(blank.sum())} row(s) with an empty question or answer, e.g. id "
                         f"{table.id[blank].iloc[0]!r}")
    codes = language_codes(table.lang, f"the lang column of {where}")
    table = table.assign(id=table.id.astype(str), lang=table.lang.astype(str).map(codes))
    dup = table.duplicated(["id", "lang"])
    if dup.any():
        raise ValueError(f"{where}: id {table.id[dup].iloc[0]!r} has two rows in language {table.lang[dup].iloc[0]!r}; "
                         f"one row per (id, language)")
    questions: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str]] = {}
    for qid, lang, q, a in zip(table.id, table.lang, table.question, table.answer):
        questions.setdefault(qid, {})[lang] = str(q)
        answers.setdefault(qid, {})[lang] = str(a)
    items = tuple(QAItem(qid, questions[qid], answers[qid]) for qid in sorted(questions))
    langs = tuple(sorted(set(table.lang)))
    return TrainCorpus(str(cfg.get("name") or meta.name), items, langs, str(path.resolve()) if path else meta.path, meta,
                       {"train_data": meta.name, "train_rows": len(table)})
