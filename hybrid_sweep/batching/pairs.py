"""The space of training pairs, addressed by one integer: QA pairs first, then auxiliary bitext pairs.

A QA pair is (parallel id, query language, passage language), encoded implicitly so every language
combination of every id is addressable without materialising it; a bitext pair (Tatoeba, X -> English)
follows at ``qa_size + j``. Strategies choose indices; only the dataset turns an index into texts.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from hybrid_sweep.data.records import QAItem, TrainPair
from hybrid_sweep.data.tatoeba import BitextPair


class PairSpace:
    def __init__(self, items: Sequence[QAItem], languages: Sequence[str], bitext: Sequence[BitextPair] = ()):
        self.items = tuple(items)
        self.languages = tuple(languages)
        self.bitext = tuple(bitext)
        self._lang_index = {lang: i for i, lang in enumerate(self.languages)}
        self.qa_size = len(self.items) * len(self.languages) ** 2

    def __len__(self) -> int:
        return self.qa_size + len(self.bitext)

    def encode(self, item: int, query_lang: int, passage_lang: int) -> int:
        n = len(self.languages)
        return (item * n + query_lang) * n + passage_lang

    def decode(self, index):
        """(item, query language, passage language) of QA indices; works on numpy arrays too."""
        n = len(self.languages)
        rest, passage_lang = divmod(index, n)
        item, query_lang = divmod(rest, n)
        return item, query_lang, passage_lang

    def is_bitext(self, index: int) -> bool:
        return index >= self.qa_size

    def pair(self, index: int) -> TrainPair:
        if index >= self.qa_size:
            b = self.bitext[index - self.qa_size]
            return TrainPair(b.pid, b.lang, "en", b.text, b.english)
        i, a, p = self.decode(index)
        item, qa, pb = self.items[i], self.languages[a], self.languages[p]
        return TrainPair(item.qid, qa, pb, item.questions[qa], item.answers[pb])

    @cached_property
    def membership(self) -> np.ndarray:
        """(items x languages) bool: the id has a question and an answer in that language."""
        m = np.zeros((len(self.items), len(self.languages)), dtype=bool)
        for i, item in enumerate(self.items):
            m[i, [self._lang_index[l] for l in item.languages if l in self._lang_index]] = True
        return m

    @cached_property
    def items_by_language(self) -> dict[int, np.ndarray]:
        return {li: np.flatnonzero(self.membership[:, li]) for li in range(len(self.languages))}

    @cached_property
    def item_languages(self) -> list[np.ndarray]:
        return [np.flatnonzero(row) for row in self.membership]

    @cached_property
    def multilingual_items(self) -> np.ndarray:
        """Items available in at least two training languages (the only ones a cross pair can use)."""
        return np.flatnonzero(self.membership.sum(axis=1) >= 2)

    def language_counts(self) -> np.ndarray:
        return self.membership.sum(axis=0).astype(np.float64)

    @cached_property
    def pools(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Distinct item pools and ``pool_of[a, b]``, the pool of ids that have both languages a and b.

        Equal pools are merged, so on fully parallel data (xquad_split) every language and language
        pair draws from one pool, and one queue over it uses each id once per pass whatever the mix.
        """
        n = len(self.languages)
        pools: list[np.ndarray] = []
        index: dict[bytes, int] = {}
        pool_of = np.empty((n, n), dtype=np.int64)
        for a in range(n):
            for b in range(n):
                members = np.flatnonzero(self.membership[:, a] & self.membership[:, b])
                key = members.tobytes()
                if key not in index:
                    index[key] = len(pools)
                    pools.append(members)
                pool_of[a, b] = index[key]
        return tuple(pools), pool_of

    @cached_property
    def bitext_groups(self) -> np.ndarray:
        """A group number per bitext pair: pairs sharing a group must not meet in one batch."""
        ids: dict[str, int] = {}
        return np.array([ids.setdefault(b.pid, len(ids)) for b in self.bitext], dtype=np.int64)
