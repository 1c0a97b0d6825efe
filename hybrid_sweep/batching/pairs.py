"""The space of training pairs: (parallel id, query language, passage language), addressed by one integer.

Strategies choose indices; only the dataset turns an index into texts. Encoding the pair space
implicitly keeps 11 x 11 language combinations of every id addressable without materialising them.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from hybrid_sweep.data.records import QAItem, TrainPair


class PairSpace:
    def __init__(self, items: Sequence[QAItem], languages: Sequence[str]):
        self.items = tuple(items)
        self.languages = tuple(languages)
        self._lang_index = {lang: i for i, lang in enumerate(self.languages)}

    def __len__(self) -> int:
        return len(self.items) * len(self.languages) ** 2

    def encode(self, item: int, query_lang: int, passage_lang: int) -> int:
        n = len(self.languages)
        return (item * n + query_lang) * n + passage_lang

    def decode(self, index: int) -> tuple[int, int, int]:
        n = len(self.languages)
        rest, passage_lang = divmod(index, n)
        item, query_lang = divmod(rest, n)
        return item, query_lang, passage_lang

    def pair(self, index: int) -> TrainPair:
        i, a, b = self.decode(index)
        item, qa, pb = self.items[i], self.languages[a], self.languages[b]
        return TrainPair(item.qid, qa, pb, item.questions[qa], item.answers[pb])

    @cached_property
    def items_by_language(self) -> dict[int, np.ndarray]:
        """Item indices that have both a question and an answer in each language."""
        return {
            li: np.array([i for i, item in enumerate(self.items) if lang in item.languages], dtype=np.int64)
            for lang, li in self._lang_index.items()
        }

    @cached_property
    def item_languages(self) -> list[np.ndarray]:
        return [np.array(sorted(self._lang_index[l] for l in item.languages), dtype=np.int64) for item in self.items]

    @cached_property
    def multilingual_items(self) -> np.ndarray:
        """Items available in at least two training languages (the only ones a cross pair can use)."""
        return np.array([i for i, langs in enumerate(self.item_languages) if len(langs) >= 2], dtype=np.int64)

    def language_counts(self) -> np.ndarray:
        return np.array([len(self.items_by_language[i]) for i in range(len(self.languages))], dtype=np.float64)
