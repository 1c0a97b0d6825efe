"""Typed records shared by every room: what a question, a candidate sentence and a training pair are."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Question:
    qid: str  # parallel id: the same across the translations of one question
    lang: str
    text: str
    article: str = ""  # the source article (LAReQA sets), for article-level splits
    own: str = ""  # the candidate id of this very text when the pool holds it too (parallel sentences):
    #                left out of this question's ranking and of its relevant items, so it never retrieves itself
    pool: str = ""  # a question ranks only the candidates of its own pool ("": the one shared pool);
    #                 Tatoeba: each language pair is a pool, as the benchmark defines it


@dataclass(frozen=True)
class Candidate:
    cid: str  # unique within an evaluation set, e.g. "en/03/2/1" (lang/article/paragraph/sentence)
    lang: str
    text: str
    paragraph: str = ""
    article: str = ""
    pool: str = ""  # see ``Question.pool``


@dataclass(frozen=True)
class RetrievalSet:
    """An evaluation set: questions, the pooled candidates of every language, and graded relevance.

    ``qrels[qid]`` maps candidate ids to a grade > 0 for the question with parallel id ``qid`` (in every
    language it is asked in). A LAReQA set has one relevant sentence per (question, language), grade 1;
    other sets may have several, graded, per language. ``task`` says what is retrieved (e.g. "qa",
    "translation"), so results never present translation retrieval as QA.
    """

    name: str
    questions: tuple[Question, ...]
    candidates: tuple[Candidate, ...]
    qrels: dict[str, dict[str, int]] = field(hash=False)
    task: str = "qa"
    pivots: tuple[str, ...] = ()  # when set, language pairs are reported only with a pivot on one side
    #                               (SIB-200's 205 x 205 pairs would be 42k blocks); the pooled setting always

    @cached_property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({c.lang for c in self.candidates}))

    @cached_property
    def query_languages(self) -> tuple[str, ...]:
        return tuple(sorted({q.lang for q in self.questions}))

    def relevant(self, qid: str) -> tuple[str, ...]:
        """The relevant candidate ids of a parallel id (before a question leaves out its ``own`` text), in
        candidate-language order."""
        lang_of = self._lang_of
        rel = self.qrels.get(qid, {})
        return tuple(sorted((c for c in rel if c in lang_of), key=lambda c: (lang_of[c], c)))

    @cached_property
    def _lang_of(self) -> dict[str, str]:
        return {c.cid: c.lang for c in self.candidates}


@dataclass(frozen=True)
class QAItem:
    """One parallel training unit: a question id with its text and answer sentence per language."""

    qid: str
    questions: dict[str, str] = field(hash=False)
    answers: dict[str, str] = field(hash=False)
    context: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # per language, the other
    #   sentences of the answer's paragraph (LAReQA corpora): the natural hard negatives of the pair

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
    negatives: tuple[str, ...] = ()  # hard negative passages that travel with the pair (``negatives`` group)
