"""The batch compositions: mono (X-X), cross (X-Y), hybrid (mono with probability alpha) and multi.

Each promises a composition that tests/test_batching.py checks for every registered strategy:
  mono    every pair of a batch in one language a, p(a) = w_a
  cross   every pair a != b, p(a, b) ∝ w_a·w_b; with same_pair the whole batch shares one (a, b)
  hybrid  a mono batch with probability alpha, else a cross batch
  multi   every pair draws a and b independently, p(a, b) ∝ w_a·w_b (mono and cross pairs mixed)
Cross-lingual batches (cross, hybrid's cross batches, multi) carry round(bitext_fraction x batch_size)
bitext pairs per rank when bitext is loaded; mono batches never do.
"""
from __future__ import annotations

import numpy as np

from hybrid_sweep.batching.base import BatchStrategy, Draws, register


@register("mono")
class MonoBatches(BatchStrategy):
    """All pairs of a batch share one language, drawn per batch by the language weights."""

    cross_batches = False

    def prepare(self) -> None:
        for li, lang in enumerate(self.space.languages):
            n = len(self.space.items_by_language[li])
            if self.weights[li] > 0 and n < self.global_batch:
                raise ValueError(
                    f"batching.batch_size={self.batch_size} (x{self.world_size} ranks) exceeds the {n} distinct "
                    f"parallel ids available in training language {lang!r}; lower batching.batch_size")

    def compose(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        return self.mono_batch(rng, draws)


@register("cross")
class CrossBatches(BatchStrategy):
    """Every pair has query language != passage language; languages mix within the batch unless ``same_pair``."""

    def __init__(self, space, batch_size, same_pair: bool = False, **kwargs):
        self.same_pair = same_pair
        super().__init__(space, batch_size, **kwargs)

    def prepare(self) -> None:
        if len(self.space.languages) < 2:
            raise ValueError(f"batching={self.name} needs at least 2 training languages, got {list(self.space.languages)}")
        self.cross_p = self.pair_probabilities(cross=True)
        if self.cross_p.sum() == 0:
            raise ValueError(f"batching.lang_weights leaves no two weighted training languages that share a "
                             f"parallel id, so batching={self.name} cannot build a cross pair")
        self.check_support(self.cross_p, self.qa_batch, "cross pairs (two or more training languages)")
        if self.same_pair:
            if self.bitext_slots:
                raise ValueError("batching.same_pair=true promises one language pair per batch; "
                                 "it cannot be combined with batching.bitext_fraction > 0")
            self.same_pair_p = self.pair_probabilities(cross=True, min_shared=self.global_batch)
            if self.same_pair_p.sum() == 0:
                raise ValueError(f"batching.same_pair=true: no pair of training languages shares "
                                 f"{self.global_batch} parallel ids; lower batching.batch_size")

    def compose(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        return self.cross_batch(rng, draws)

    def cross_batch(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        if self.same_pair:
            return self.same_pair_batch(rng, draws, self.same_pair_p, self.global_batch)
        return self.add_bitext(draws, self.mixed_batch(rng, draws, self.cross_p, self.qa_batch))


@register("hybrid")
class HybridBatches(CrossBatches):
    """Each batch is mono with probability ``alpha``, else cross (the paper: alpha = 0.5)."""

    def __init__(self, space, batch_size, alpha: float = 0.5, **kwargs):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"batching.alpha must lie in [0, 1], got {alpha}")
        self.alpha = alpha
        super().__init__(space, batch_size, **kwargs)

    def prepare(self) -> None:
        if self.alpha > 0:
            MonoBatches.prepare(self)
        if self.alpha < 1:
            CrossBatches.prepare(self)

    def compose(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        if rng.random() < self.alpha:
            return self.mono_batch(rng, draws)
        return self.cross_batch(rng, draws)


@register("multi")
class MultiBatches(BatchStrategy):
    """Every pair draws its query and passage languages independently: a baseline mixing mono and cross pairs."""

    def prepare(self) -> None:
        self.pair_p = self.pair_probabilities(cross=False)
        self.check_support(self.pair_p, self.qa_batch, "pairs of the training languages")

    def compose(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        return self.add_bitext(draws, self.mixed_batch(rng, draws, self.pair_p, self.qa_batch))
