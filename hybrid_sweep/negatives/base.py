"""Hard negatives of a job: per (training id, language), ``k`` passages that are not the answer, mined once
before training from the training pool only, and handed to each pair in the language the config asks for.

A negative is never a false negative: it never comes from the pair's own parallel id (its answer in any
language) and its text never equals one of the id's answers (XQuAD asks several questions about one
sentence). Where a miner finds fewer than ``k``, the rest are random other answers of that language
(seeded), so every pair carries exactly ``k`` and batches keep one shape on every rank.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hybrid_sweep.batching import PairSpace

@dataclass(frozen=True)
class HardNegatives:
    """``texts[(item, language index)]``: the ``k`` negatives mined for that training id in that language."""

    miner: str
    k: int
    language: str  # passage | query | random: whose language a pair's negatives are in
    seed: int
    texts: dict[tuple[int, int], tuple[str, ...]] = field(hash=False, repr=False)

    def language_of(self, space: PairSpace, index: int) -> int:
        """The language index of the negatives of pair ``index`` (deterministic for the seed)."""
        item, query_lang, passage_lang = space.decode(index)
        if self.language == "passage":
            return int(passage_lang)
        if self.language == "query":
            return int(query_lang)
        choices = space.item_languages[item]
        return int(choices[np.random.default_rng([self.seed, int(index)]).integers(len(choices))])

    def for_pair(self, space: PairSpace, index: int) -> tuple[str, ...]:
        item, _, _ = space.decode(index)
        return self.texts[(int(item), self.language_of(space, index))]


def clean(candidates: Sequence[str], item: int, lang: str, space: PairSpace, k: int,
          rng: np.random.Generator) -> tuple[str, ...]:
    """The first ``k`` usable negatives of ``candidates`` (best first) for ``item`` in ``lang``: no answer of
    the id itself, no duplicate, topped up with random other answers of ``lang`` when too few are left."""
    positives = set(space.items[item].answers.values())

    def others():  # a generator: the seeded permutation is drawn only if the candidates run short
        pool = [i for i in space.items_by_language[space.languages.index(lang)] if i != item]
        for i in rng.permutation(pool):
            yield space.items[i].answers[lang]

    out: list[str] = []
    for text in itertools.chain(candidates, others()):
        if text not in positives and text not in out:
            out.append(text)
            if len(out) == k:
                return tuple(out)
    raise ValueError(f"negatives.per_pair={k}: only {len(out)} distinct passages in {lang} besides the answers "
                     f"of id {space.items[item].qid}; lower negatives.per_pair")
