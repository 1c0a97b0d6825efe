"""The paper's batch compositions: mono (X-X), cross (X-Y) and hybrid (mono with probability alpha)."""
from __future__ import annotations

import numpy as np

from hybrid_sweep.batching.base import BatchStrategy, ItemQueue, register


@register("mono")
class MonoBatches(BatchStrategy):
    """All pairs of a batch share one language, drawn per batch by the language weights."""

    def validate(self) -> None:
        for li, lang in enumerate(self.space.languages):
            n = len(self.space.items_by_language[li])
            if self.weights[li] > 0 and n < self.global_batch:
                raise ValueError(
                    f"batching.batch_size={self.batch_size} (x{self.world_size} ranks) exceeds the {n} distinct "
                    f"parallel ids available in training language {lang!r}; lower batching.batch_size")

    def start(self, rng: np.random.Generator) -> dict:
        return {"mono": {li: ItemQueue(items, rng) for li, items in self.space.items_by_language.items()}}

    def compose(self, rng: np.random.Generator, state: dict) -> list[int]:
        lang = int(rng.choice(len(self.space.languages), p=self.weights))
        items = state["mono"][lang].take(self.global_batch)
        return [self.space.encode(int(i), lang, lang) for i in items]


@register("cross")
class CrossBatches(BatchStrategy):
    """Every pair has query language != passage language; languages mix within the batch."""

    def validate(self) -> None:
        if len(self.space.languages) < 2:
            raise ValueError(f"batching={self.name} needs at least 2 training languages, got {list(self.space.languages)}")
        n = len(self.space.multilingual_items)
        if n < self.global_batch:
            raise ValueError(
                f"batching.batch_size={self.batch_size} (x{self.world_size} ranks) exceeds the {n} distinct "
                f"parallel ids available in two or more training languages; lower batching.batch_size")

    def start(self, rng: np.random.Generator) -> dict:
        return {"cross": ItemQueue(self.space.multilingual_items, rng)}

    def compose(self, rng: np.random.Generator, state: dict) -> list[int]:
        batch = []
        for i in state["cross"].take(self.global_batch):
            langs = self.space.item_languages[i]
            p = self.weights[langs] / self.weights[langs].sum() if self.weights[langs].sum() > 0 else None
            a, b = rng.choice(langs, size=2, replace=False, p=p)
            batch.append(self.space.encode(int(i), int(a), int(b)))
        return batch


@register("hybrid")
class HybridBatches(MonoBatches, CrossBatches):
    """Each batch is mono with probability ``alpha``, else cross (the paper: alpha = 0.5)."""

    def __init__(self, space, batch_size, alpha: float = 0.5, **kwargs):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"batching.alpha must lie in [0, 1], got {alpha}")
        self.alpha = alpha
        super().__init__(space, batch_size, **kwargs)

    def validate(self) -> None:
        if self.alpha > 0:
            MonoBatches.validate(self)
        if self.alpha < 1:
            CrossBatches.validate(self)

    def start(self, rng: np.random.Generator) -> dict:
        return {**MonoBatches.start(self, rng), **CrossBatches.start(self, rng)}

    def compose(self, rng: np.random.Generator, state: dict) -> list[int]:
        if rng.random() < self.alpha:
            return MonoBatches.compose(self, rng, state)
        return CrossBatches.compose(self, rng, state)
