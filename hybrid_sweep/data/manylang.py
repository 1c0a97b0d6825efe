"""Readers of the many-language evaluation data: SIB-200 (FLORES-200 sentences in 205 varieties), the
Belebele passages rebuilt from them, Tatoeba-112 and AfriQA. Each returns plain records; ``evalsets``
turns them into retrieval sets. Files are read once per process (``lru_cache``): a sweep's jobs share them.
"""
from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from hybrid_sweep.data.codes import language_of

SIB_COLUMNS = ["index_id", "category", "text"]
SIB_SPLITS = ("train", "dev", "test")


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path} (check paths.data_root / HYBRID_SWEEP_DATA)")
    return path


@functools.lru_cache(maxsize=None)
def sib_varieties(folder: Path) -> dict[str, str]:
    """Variety label (``zu``, ``zh-Hant``; see ``languages.variety_labels``) -> its FLORES folder name."""
    from hybrid_sweep.languages import variety_labels

    names = sorted(p.name for p in _require(folder, "SIB-200 folder").iterdir() if p.is_dir())
    if not names:
        raise FileNotFoundError(f"{folder} holds no <lang_Script>/ folders of SIB-200 TSV files")
    return {label: flores for flores, label in variety_labels(names).items()}


@functools.lru_cache(maxsize=2048)
def sib_sentences(folder: Path, flores: str, split: str) -> tuple[tuple[int, str], ...]:
    """``(index_id, text)`` of one variety and split, in file order. Texts hold quotes, so the TSV is
    read without quoting, as the dataset's README says."""
    path = _require(folder / flores / f"{split}.tsv", f"SIB-200 {split} split of {flores}")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or rows[0] != SIB_COLUMNS:
        raise ValueError(f"{path}: expected the header {'<TAB>'.join(SIB_COLUMNS)}, found {rows[:1]}")
    bad = [i for i, r in enumerate(rows[1:], 2) if len(r) != 3 or not r[0].isdigit()]
    if bad:
        raise ValueError(f"{path}: line {bad[0]} is not index_id<TAB>category<TAB>text")
    return tuple((int(r[0]), r[2]) for r in rows[1:])


@dataclass(frozen=True)
class BelebeleQuestion:
    line: int  # the passage's line in the Belebele files
    number: int  # the question's position among that passage's items
    lang: str
    text: str


@dataclass(frozen=True)
class RebuiltPassage:
    line: int
    url: str
    sib_index_ids: tuple[int, ...]


def belebele_index(path: Path) -> tuple[RebuiltPassage, ...]:
    records = json.loads(_require(path, "Belebele x SIB-200 index").read_text(encoding="utf-8"))
    return tuple(RebuiltPassage(int(r["belebele_line"]), r["url"], tuple(map(int, r["sib_index_ids"])))
                 for r in records)


@functools.lru_cache(maxsize=None)
def belebele_lines(path: Path) -> tuple[dict, ...]:
    return tuple(json.loads(line) for line in _require(path, "Belebele file").read_text(encoding="utf-8").splitlines())


def belebele_questions(path: Path, lang: str, lines: tuple[int, ...]) -> tuple[BelebeleQuestion, ...]:
    """The questions of the passages on ``lines`` of one Belebele JSONL file (``eng_Latn.jsonl``...)."""
    records = belebele_lines(path)
    return tuple(BelebeleQuestion(line, j, lang, item["question"])
                 for line in lines for j, item in enumerate(records[line]["items"]))


def rebuild_passage(passage: RebuiltPassage, sentences: dict[int, str]) -> str:
    """The passage in one language: its SIB-200 sentences in order, space-joined (as the English one is)."""
    return " ".join(sentences[i] for i in passage.sib_index_ids)


@functools.lru_cache(maxsize=None)
def tatoeba_languages(folder: Path) -> dict[str, str]:
    """Config code (``ar``, ``sw``, ``zh``) -> the LASER file code (``ara``, ``swh``, ``cmn``) of every
    ``tatoeba.<xxx>-eng.<xxx>`` in ``folder``; a retired code that now names another file's language keeps
    its own (``kzj`` beside ``dtp``)."""
    files = sorted(_require(folder, "Tatoeba folder").glob("tatoeba.*-eng.eng"))
    codes = [f.name.split(".")[1].split("-")[0] for f in files]
    labels = {code: language_of(code, f"the Tatoeba file codes in {folder}") for code in codes}
    shared = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {(code if labels[code] in shared and code != labels[code] else labels[code]): code for code in codes}


@functools.lru_cache(maxsize=None)
def tatoeba_pairs(folder: Path, code: str) -> tuple[tuple[str, str], ...]:
    """``(sentence in X, its English translation)`` per line of ``tatoeba.<code>-eng.*``."""
    x = _require(folder / f"tatoeba.{code}-eng.{code}", "Tatoeba file").read_text(encoding="utf-8").splitlines()
    en = _require(folder / f"tatoeba.{code}-eng.eng", "Tatoeba file").read_text(encoding="utf-8").splitlines()
    if len(x) != len(en):
        raise ValueError(f"{folder}: tatoeba.{code}-eng.{code} has {len(x)} lines, the .eng file {len(en)}")
    return tuple(zip(x, en))


@dataclass(frozen=True)
class AfriqaPair:
    qid: str  # <file language>/<id>
    lang: str  # the question's language (config code)
    question: str  # in ``lang``
    translated: str  # the human translation, in ``pivot``
    pivot: str  # en, or fr for fon
    passage: str  # the gold passage, in ``pivot``


@functools.lru_cache(maxsize=None)
def afriqa_languages(folder: Path) -> dict[str, str]:
    """Config code -> AfriQA folder name (``ha`` -> ``hau``) under ``gold_passages/``."""
    names = sorted(p.name for p in _require(folder / "gold_passages", "AfriQA gold_passages").iterdir() if p.is_dir())
    return {language_of(n, f"the AfriQA folders in {folder}"): n for n in names}


def afriqa_pairs(folder: Path, name: str, split: str) -> tuple[tuple[AfriqaPair, ...], int]:
    """The question-passage pairs of one language and split, and how many records were skipped because
    their gold passage or a question is empty (72 of 7,210 in the release: nothing to retrieve)."""
    files = sorted((folder / "gold_passages" / name).glob(f"gold_span_passages.afriqa.{name}.*.{split}.json"))
    out, skipped = [], 0
    for path in files:  # none for swa's train and dev: it has a test split only
        pivot = language_of(path.name.split(".")[3], str(path))
        lang = language_of(name, str(path))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                r = json.loads(line)
                texts = (r["question_lang"], r["question_translated"], r["context"])
            except (json.JSONDecodeError, KeyError) as err:
                raise ValueError(f"{path}:{n}: not an AfriQA record ({err})") from None
            if not all(isinstance(t, str) and t.strip() for t in texts):
                skipped += 1
                continue
            out.append(AfriqaPair(f"{name}/{r['id']}", lang, *texts[:2], pivot, texts[2]))
    return tuple(out), skipped
