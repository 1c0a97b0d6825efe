"""Reading LAReQA-format files: SQuAD json whose paragraphs carry ``sentences`` and ``sentence_breaks``."""
from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=64)
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
                    try:
                        answer_of[qa["id"]] = cids[_answer_sentence(breaks, qa["answers"][0]["answer_start"])]
                    except ValueError as exc:
                        raise ValueError(f"{path}: question {qa['id']} in paragraph {para_id}: {exc}") from None
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path} is not in LAReQA format (SQuAD json with sentences/sentence_breaks): {exc!r}") from exc
    return LareqaLanguage(lang, tuple(questions), tuple(candidates), answer_of, tuple(titles))


def discover_languages(folder: Path) -> dict[str, Path]:
    """``<code>.json`` files of a LAReQA folder, keyed by their canonical language code."""
    from hybrid_sweep.languages import canonical_codes

    if not folder.is_dir():
        raise FileNotFoundError(f"LAReQA folder not found: {folder} (check paths.data_root / HYBRID_SWEEP_DATA)")
    files = sorted(p for p in folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{folder} holds no <language>.json file")
    codes = canonical_codes([p.stem for p in files], f"the file names of {folder}")
    return dict(zip(codes, files))


def read_folder(folder: Path, langs: tuple[str, ...] | None = None, key: str = "languages") -> dict[str, LareqaLanguage]:
    """Parse the chosen (default: every) language of a LAReQA folder; ``key`` names the setting that chose them."""
    found = discover_languages(Path(folder))
    chosen = tuple(found) if langs is None else langs
    missing = [l for l in chosen if l not in found]
    if missing:
        raise ValueError(f"{key}: {folder} has no file for language(s) {missing}; it has {list(found)}")
    return {lang: read_lareqa_file(found[lang], lang) for lang in chosen}
