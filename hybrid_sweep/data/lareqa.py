"""Reading LAReQA-format files: SQuAD json whose paragraphs carry ``sentences`` and ``sentence_breaks``."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hybrid_sweep.data.records import Candidate, Question


@dataclass(frozen=True)
class LareqaLanguage:
    """One language file, parsed: questions, candidate sentences and each question's answer sentence."""

    lang: str
    questions: tuple[Question, ...]
    candidates: tuple[Candidate, ...]
    answer_of: dict[str, str]  # qid -> candidate id
    article_titles: tuple[str, ...]


def load_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"Data file not found: {path} (check paths.data_root / HYBRID_SWEEP_DATA)")
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Malformed JSON in {path}: {exc}") from exc


def _answer_sentence(breaks: list[list[int]], answer_start: int) -> int:
    for i, (start, end) in enumerate(breaks):
        if start <= answer_start < end:
            return i
    # the answer starts in the gap between two sentences: take the next sentence
    for i, (start, _) in enumerate(breaks):
        if answer_start < start:
            return i
    raise ValueError(f"answer_start {answer_start} lies after every sentence break")


def read_lareqa_file(path: Path, lang: str) -> LareqaLanguage:
    """Parse one language of XQuAD-R / MLQA-R; articles are keyed by position so translations line up."""
    doc = load_json(path)
    try:
        articles = doc["data"]
        questions, candidates, answer_of, titles = [], [], {}, []
        for a, article in enumerate(articles):
            article_id = f"{a:03d}"
            titles.append(article.get("title", article_id))
            for p, para in enumerate(article["paragraphs"]):
                para_id = f"{lang}/{article_id}/{p}"
                sentences, breaks = para["sentences"], para["sentence_breaks"]
                if len(sentences) != len(breaks):
                    raise ValueError(f"paragraph {para_id} has {len(sentences)} sentences but {len(breaks)} breaks")
                cids = [f"{para_id}/{s}" for s in range(len(sentences))]
                candidates += [Candidate(cid, lang, text, para_id, article_id) for cid, text in zip(cids, sentences)]
                for qa in para["qas"]:
                    questions.append(Question(qa["id"], lang, qa["question"], article_id))
                    answer_of[qa["id"]] = cids[_answer_sentence(breaks, qa["answers"][0]["answer_start"])]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path} is not in LAReQA format (SQuAD json with sentences/sentence_breaks): {exc!r}") from exc
    return LareqaLanguage(lang, tuple(questions), tuple(candidates), answer_of, tuple(titles))
