"""Training/evaluation protocols: which data trains, which evaluates, and the guarantee they never overlap.

No parallel translate-train corpus is reachable offline, so two honest local protocols exist:
``xquad_split`` (seeded article-level split of XQuAD-R) and ``mlqa_to_xquad`` (train on MLQA-R dev,
evaluate zero-shot on all of XQuAD-R). ``hub_pairs`` reads a hub dataset for users with network.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid_sweep.data.lareqa import LareqaLanguage, read_lareqa_file
from hybrid_sweep.data.records import QAItem, RetrievalSet
from hybrid_sweep.languages import MLQA_LANGS, XQUAD_LANGS


@dataclass(frozen=True)
class ProtocolData:
    name: str
    train_items: tuple[QAItem, ...]
    train_languages: tuple[str, ...]  # languages the training data offers
    eval_set: RetrievalSet
    info: dict  # provenance recorded with every result (split, articles, caveats)


PROTOCOLS: dict[str, Callable[..., ProtocolData]] = {}


def protocol(name: str):
    def register(fn):
        PROTOCOLS[name] = fn
        return fn
    return register


def load_protocol(name: str, data_root: Path, **options) -> ProtocolData:
    if name not in PROTOCOLS:
        raise ValueError(f"data.protocol={name!r} is unknown; choose one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[name](Path(data_root), **options)


def read_languages(folder: Path, langs: Sequence[str]) -> dict[str, LareqaLanguage]:
    if not folder.is_dir():
        raise FileNotFoundError(f"Evaluation data folder not found: {folder} (check paths.data_root / HYBRID_SWEEP_DATA)")
    return {lang: read_lareqa_file(folder / f"{lang}.json", lang) for lang in langs}


def build_retrieval_set(name: str, files: dict[str, LareqaLanguage], articles: set[str] | None = None) -> RetrievalSet:
    """Pool the candidates of every language (optionally only some articles) with their gold links."""
    keep = (lambda a: a in articles) if articles is not None else (lambda a: True)
    questions = tuple(q for f in files.values() for q in f.questions if keep(q.article))
    candidates = tuple(c for f in files.values() for c in f.candidates if keep(c.article))
    gold = {(q.qid, q.lang): files[q.lang].answer_of[q.qid] for q in questions}
    return RetrievalSet(name, questions, candidates, gold)


def qa_items(files: dict[str, LareqaLanguage], articles: set[str] | None = None) -> tuple[QAItem, ...]:
    """Group questions and answer sentences by parallel id across languages."""
    text_of = {c.cid: c.text for f in files.values() for c in f.candidates}
    questions: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str]] = {}
    for f in files.values():
        for q in f.questions:
            if articles is None or q.article in articles:
                questions.setdefault(q.qid, {})[q.lang] = q.text
                answers.setdefault(q.qid, {})[q.lang] = text_of[f.answer_of[q.qid]]
    return tuple(QAItem(qid, questions[qid], answers[qid]) for qid in sorted(questions))


@protocol("xquad_split")
def xquad_split(data_root: Path, split_seed: int = 0, eval_articles: int = 16, **_) -> ProtocolData:
    """Seeded article-level split of XQuAD-R: training pairs and evaluation pool share no article."""
    files = read_languages(data_root / "xquad-r", XQUAD_LANGS)
    article_ids = sorted({q.article for q in files["en"].questions})
    if not 0 < eval_articles < len(article_ids):
        raise ValueError(f"data.eval_articles={eval_articles} must be between 1 and {len(article_ids) - 1}")
    shuffled = article_ids[:]
    random.Random(split_seed).shuffle(shuffled)
    held_out, train = set(shuffled[:eval_articles]), set(shuffled[eval_articles:])
    return ProtocolData(
        name="xquad_split",
        train_items=qa_items(files, train),
        train_languages=XQUAD_LANGS,
        eval_set=build_retrieval_set("xquad-r(held-out articles)", files, held_out),
        info={"protocol": "xquad_split", "split_seed": split_seed, "eval_articles": sorted(held_out),
              "train_articles": len(train), "eval_data": "xquad-r"},
    )


# (folder, languages, description) of each LAReQA set, for the protocols that train on one and test on another
XQUAD_R = ("xquad-r", XQUAD_LANGS, "xquad-r")
MLQA_R_DEV = ("mlqa-r-dev-lareqa", MLQA_LANGS, "mlqa-r dev split (LAReQA)")


def across_datasets(name: str, data_root: Path, train: tuple, evaluation: tuple) -> ProtocolData:
    """Train on every question of one LAReQA set, evaluate on the whole of another."""
    train_files = read_languages(data_root / train[0], train[1])
    eval_files = read_languages(data_root / evaluation[0], evaluation[1])
    return ProtocolData(name=name, train_items=qa_items(train_files), train_languages=train[1],
                        eval_set=build_retrieval_set(evaluation[2], eval_files),
                        info={"protocol": name, "train_data": train[2], "eval_data": evaluation[2]})


@protocol("mlqa_to_xquad")
def mlqa_to_xquad(data_root: Path, **_) -> ProtocolData:
    """Train on MLQA-R dev (7 languages), evaluate zero-shot on the full XQuAD-R (11 languages)."""
    return across_datasets("mlqa_to_xquad", data_root, MLQA_R_DEV, XQUAD_R)


@protocol("xquad_to_mlqa")
def xquad_to_mlqa(data_root: Path, **_) -> ProtocolData:
    """Train on all of XQuAD-R (11 languages), evaluate on MLQA-R dev (7 languages, 2-4 relevant per id)."""
    return across_datasets("xquad_to_mlqa", data_root, XQUAD_R, MLQA_R_DEV)


@protocol("hub_pairs")
def hub_pairs(data_root: Path, hub: dict | None = None, **_) -> ProtocolData:  # pragma: no cover - needs network
    """Train on a hub dataset of parallel QA rows (id, lang, question, answer); evaluate on the full XQuAD-R."""
    import datasets

    hub = dict(hub or {})
    cols = hub.get("columns", {"id": "id", "lang": "lang", "question": "question", "answer": "answer"})
    rows = datasets.load_dataset(hub["name"], hub.get("config"), split=hub.get("split", "train"))
    questions: dict[str, dict[str, str]] = {}
    answers: dict[str, dict[str, str]] = {}
    for row in rows:
        questions.setdefault(row[cols["id"]], {})[row[cols["lang"]]] = row[cols["question"]]
        answers.setdefault(row[cols["id"]], {})[row[cols["lang"]]] = row[cols["answer"]]
    items = tuple(QAItem(qid, questions[qid], answers[qid]) for qid in sorted(questions))
    eval_files = read_languages(data_root / "xquad-r", XQUAD_LANGS)
    languages = tuple(sorted({lang for item in items for lang in item.languages}))
    return ProtocolData("hub_pairs", items, languages, build_retrieval_set("xquad-r", eval_files),
                        {"protocol": "hub_pairs", "hub": hub["name"], "eval_data": "xquad-r"})


def restrict_items(items: Sequence[QAItem], languages: Sequence[str]) -> tuple[QAItem, ...]:
    """Keep only the chosen training languages; drop ids left with none."""
    keep = set(languages)
    out = []
    for item in items:
        langs = item.languages & keep
        if langs:
            out.append(QAItem(item.qid, {l: item.questions[l] for l in langs}, {l: item.answers[l] for l in langs}))
    return tuple(out)
