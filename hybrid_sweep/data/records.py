"""Typed records shared by every room: what a question, a candidate sentence and a training pair are."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Question:
    qid: str  # parallel id: the same across the translations of one question
    lang: str
    text: str
    article: str


@dataclass(frozen=True)
class Candidate:
    cid: str  # unique within an evaluation set, e.g. "en/03/2/1" (lang/article/paragraph/sentence)
    lang: str
    text: str
    paragraph: str
    article: str


@dataclass(frozen=True)
class RetrievalSet:
    """A LAReQA-style evaluation set: questions, the pooled candidates, and gold answer sentences.

    ``gold[(qid, lang)]`` is the candidate id of the sentence in ``lang`` holding the answer to ``qid``;
    a question's relevant items in the multilingual pool are its gold sentences in every language.
    """

    name: str
    questions: tuple[Question, ...]
    candidates: tuple[Candidate, ...]
    gold: dict[tuple[str, str], str] = field(hash=False)

    @cached_property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({c.lang for c in self.candidates}))

    def relevant(self, qid: str) -> tuple[str, ...]:
        return tuple(self.gold[(qid, lang)] for lang in self.languages if (qid, lang) in self.gold)


@dataclass(frozen=True)
class QAItem:
    """One parallel training unit: a question id with its text and answer sentence per language."""

    qid: str
    questions: dict[str, str] = field(hash=False)
    answers: dict[str, str] = field(hash=False)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.questions) & frozenset(self.answers)


@dataclass(frozen=True)
class TrainPair:
    """A question in ``query_lang`` and its answer sentence in ``passage_lang`` (equal langs: a mono pair)."""

    qid: str
    query_lang: str
    passage_lang: str
    query: str
    passage: str
