"""The batch-strategy protocol: a ``BatchSampler`` yielding lists of pair indices, reseeded per epoch.

Every rank builds the same global batch from ``seed + epoch`` and keeps its own slice, so all ranks
agree on each step's composition (e.g. one language for a mono batch) and never share a pair.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from torch.utils.data import BatchSampler

from hybrid_sweep.batching.pairs import PairSpace

STRATEGIES: dict[str, type["BatchStrategy"]] = {}


def register(name: str):
    def add(cls):
        STRATEGIES[name] = cls
        cls.name = name
        return cls
    return add


class ItemQueue:
    """Draws distinct items batch after batch, each once per pass, reshuffling between passes."""

    def __init__(self, items: np.ndarray, rng: np.random.Generator):
        self.items, self.rng = items, rng
        self.order, self.pos = rng.permutation(items), 0

    def take(self, n: int) -> np.ndarray:
        if self.pos + n > len(self.order):
            self.order, self.pos = self.rng.permutation(self.items), 0
        out = self.order[self.pos : self.pos + n]
        self.pos += n
        return out


def language_weights(space: PairSpace, weights: str | Mapping[str, float] = "uniform", temperature: float = 1.0) -> np.ndarray:
    """p(language): uniform, explicit ratios, or by data size with temperature (p ∝ n^τ)."""
    if isinstance(weights, Mapping):
        missing = [l for l in space.languages if l not in weights]
        if missing:
            raise ValueError(f"batching.lang_weights has no weight for training language(s) {missing}")
        w = np.array([float(weights[l]) for l in space.languages])
    elif weights == "uniform":
        w = np.ones(len(space.languages))
    elif weights == "size":
        w = space.language_counts() ** temperature
    else:
        raise ValueError(f"batching.lang_weights={weights!r}: use 'uniform', 'size' or a map language -> ratio")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"batching.lang_weights must be non-negative with a positive sum, got {w.tolist()}")
    return w / w.sum()


class BatchStrategy(BatchSampler):
    name = "base"

    def __init__(self, space: PairSpace, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 batches_per_epoch: int | None = None, lang_weights: str | Mapping[str, float] = "uniform",
                 temperature: float = 1.0, **options):
        if options:
            raise ValueError(f"batching={self.name} does not know option(s) {sorted(options)}")
        if batch_size < 1:
            raise ValueError(f"batching.batch_size must be positive, got {batch_size}")
        self.space, self.batch_size, self.seed = space, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.global_batch = batch_size * world_size
        self.weights = language_weights(space, lang_weights, temperature)
        self.num_batches = batches_per_epoch or max(1, len(space.items) // self.global_batch)
        self.epoch = 0
        self.drop_last = True
        self.validate()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        state = self.start(rng)
        for _ in range(self.num_batches):
            batch = self.compose(rng, state)
            yield batch[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]

    # -- what a strategy defines -------------------------------------------------------------
    def validate(self) -> None:
        """Raise early if this strategy cannot build a batch from the data."""

    def start(self, rng: np.random.Generator) -> dict:
        """Per-epoch sampling state (item queues)."""
        return {}

    def compose(self, rng: np.random.Generator, state: dict) -> list[int]:
        raise NotImplementedError


def build_strategy(name: str, space: PairSpace, **options) -> BatchStrategy:
    if name not in STRATEGIES:
        raise ValueError(f"batching={name!r} is unknown; choose one of {sorted(STRATEGIES)}")
    return STRATEGIES[name](space, **options)
