"""The batch-strategy protocol: a ``BatchSampler`` yielding lists of pair indices, reseeded per epoch.

Every rank builds the same global batch from ``(seed, epoch)`` and keeps its own slice, so all ranks
agree on each step's composition (one language for a mono batch) and never share a pair. Ids come
from queues that draw without replacement, pass after pass, so training spreads evenly over the data.

Language weights ``w`` (uniform, by data size, or a ratio map) drive every strategy the same way:
a mono batch's language is drawn with p(a) = w_a; a pair's (query a, passage b) with p ∝ w_a·w_b
over the pairs the strategy allows (a ≠ b for cross) that share at least one parallel id.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from torch.utils.data import BatchSampler

from hybrid_sweep.batching.pairs import PairSpace
from hybrid_sweep.languages import canonical_codes
from hybrid_sweep.registry import Registry

STRATEGIES: Registry[type["BatchStrategy"]] = Registry("batching")
register = STRATEGIES.register


class PoolExhausted(Exception):
    """Every item of a queue is already in the batch being built."""


class ItemQueue:
    """Draws items without replacement, pass after pass (reshuffled per pass), skipping keys already used.

    A skipped item stays in the current pass, so within a pass no item repeats and none is lost, except
    items already in the batch when a pass runs out. ``keys`` map items to what must be distinct in a
    batch (the item itself for QA ids; the group for bitext pairs).
    """

    def __init__(self, items: np.ndarray, rng: np.random.Generator, keys: np.ndarray | None = None):
        self.items = items.tolist()
        self.keys = self.items if keys is None else keys.tolist()
        self.rng = rng
        self._new_pass()

    def _new_pass(self) -> None:
        self.order, self.pos = self.rng.permutation(len(self.items)).tolist(), 0

    def take(self, n: int, used: set[int]) -> list[int]:
        """``n`` items whose keys are distinct and not in ``used``; their keys are added to ``used``."""
        out = []
        while len(out) < n:
            j = self.pos
            while j < len(self.order) and self.keys[self.order[j]] in used:
                j += 1
            if j == len(self.order):
                if self.pos == 0:
                    raise PoolExhausted
                self._new_pass()
                continue
            self.order[self.pos], self.order[j] = self.order[j], self.order[self.pos]
            position = self.order[self.pos]
            self.pos += 1
            used.add(self.keys[position])
            out.append(self.items[position])
        return out


class Draws:
    """One epoch's sampling state: a queue per item pool (created on first use) and one for bitext."""

    def __init__(self, space: PairSpace, rng: np.random.Generator):
        self.space, self.rng = space, rng
        self.pools, self.pool_of = space.pools
        self._queues: dict[int, ItemQueue] = {}
        self._bitext: ItemQueue | None = None

    def queue(self, a: int, b: int) -> ItemQueue:
        pool = int(self.pool_of[a, b])
        if pool not in self._queues:
            self._queues[pool] = ItemQueue(self.pools[pool], self.rng)
        return self._queues[pool]

    def bitext(self) -> ItemQueue:
        if self._bitext is None:
            self._bitext = ItemQueue(np.arange(len(self.space.bitext)), self.rng, self.space.bitext_groups)
        return self._bitext


def _is_language(code: str) -> bool:
    """Whether ``code`` names any language (langcodes knows it), trained here or not."""
    try:
        canonical_codes([code], "batching.lang_weights")
    except ValueError:
        return False
    return True


def language_weights(space: PairSpace, weights: str | Mapping[str, float] = "uniform",
                     size_temperature: float = 0.7) -> np.ndarray:
    """p(language): uniform, explicit ratios, or by data size with a temperature (XLM-style p ∝ n^τ).

    A ratio map may name more languages than this run trains on (one map for a langs=4,7,11 sweep);
    only codes that are no language at all are errors.
    """
    if isinstance(weights, Mapping):
        unknown = sorted(c for c in set(weights) - set(space.languages) if not _is_language(c))
        missing = [l for l in space.languages if l not in weights]
        if unknown or missing:
            raise ValueError(f"batching.lang_weights: unknown code(s) {unknown}, no weight for training "
                             f"language(s) {missing}; it needs one per language of {list(space.languages)}")
        w = np.array([float(weights[l]) for l in space.languages])
    elif weights == "uniform":
        w = np.ones(len(space.languages))
    elif weights == "size":
        if size_temperature < 0:
            raise ValueError(f"batching.size_temperature must be >= 0 (p ∝ n^size_temperature), got {size_temperature}")
        w = space.language_counts() ** size_temperature
    else:
        raise ValueError(f"batching.lang_weights={weights!r}: use 'uniform', 'size' or a map language -> ratio")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"batching.lang_weights must be non-negative with a positive sum, got {w.tolist()}")
    return w / w.sum()


class BatchStrategy(BatchSampler):
    """Subclasses define ``prepare`` (distributions; raise early if no batch can be built) and ``compose``."""

    name = "base"
    cross_batches = True  # whether its batches may hold bitext pairs

    def __init__(self, space: PairSpace, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 batches_per_epoch: int | None = None, lang_weights: str | Mapping[str, float] = "uniform",
                 size_temperature: float = 0.7, bitext_fraction: float = 0.0,
                 bitext_langs: object = "untrained",  # read by data.tatoeba.load_bitext; named in errors here
                 **options):
        if options:
            raise ValueError(f"batching={self.name} does not know option(s) {sorted(options)}")
        if batch_size < 1:
            raise ValueError(f"batching.batch_size must be positive, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"batching.batches_per_epoch must be positive or null, got {batches_per_epoch}")
        self.space, self.batch_size, self.seed = space, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.global_batch = batch_size * world_size
        self.weights = language_weights(space, lang_weights, size_temperature)
        self.bitext_slots = self._bitext_slots(bitext_fraction, bitext_langs)
        self.qa_batch = (batch_size - self.bitext_slots) * world_size  # QA pairs in a batch with bitext
        self.num_batches = batches_per_epoch or max(1, len(space.items) // self.global_batch)
        self.epoch, self.skip = 0, 0
        self.drop_last = True
        self.prepare()

    def _bitext_slots(self, fraction: float, langs: object) -> int:
        """Bitext pairs per rank in each cross-lingual batch: round(fraction x batch_size)."""
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"batching.bitext_fraction must lie in [0, 1), got {fraction}")
        if fraction == 0:
            return 0
        if not self.cross_batches:
            raise ValueError(f"batching={self.name} has no cross-lingual batches to hold bitext pairs; "
                             f"set batching.bitext_fraction=0")
        if not self.space.bitext:
            raise ValueError(f"batching.bitext_fraction={fraction} but no bitext pairs were loaded "
                             f"(batching.bitext_langs={langs!r})")
        k = round(fraction * self.batch_size)
        if not 1 <= k < self.batch_size:
            raise ValueError(f"batching.bitext_fraction={fraction} gives {k} of batching.batch_size="
                             f"{self.batch_size} pairs; it must give at least one and leave one QA pair")
        groups = len(np.unique(self.space.bitext_groups))
        if groups < k * self.world_size:
            raise ValueError(f"batching.bitext_fraction={fraction} needs {k * self.world_size} distinct bitext "
                             f"sentences per batch, only {groups} were loaded")
        return k

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.skip = 0
        self.epoch = epoch

    def resume(self, epoch: int, batches_done: int) -> None:
        """Continue ``epoch`` after its first ``batches_done`` batches, as an uninterrupted run would."""
        self.epoch, self.skip = epoch, batches_done

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])  # (seed, epoch) never collides with (seed+1, epoch-1)
        draws = Draws(self.space, rng)
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        skip, self.skip = self.skip, 0
        for step in range(self.num_batches):
            batch = self.compose(rng, draws)  # composed even when skipped: later batches depend on it
            if step >= skip:
                yield batch[lo:hi]

    # -- what a strategy defines -------------------------------------------------------------
    def prepare(self) -> None:
        """Set up this strategy's distributions; raise early if it cannot build a batch from the data."""

    def compose(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        """One global batch (``global_batch`` indices; rank r keeps slice r)."""
        raise NotImplementedError

    # -- building blocks ---------------------------------------------------------------------
    def pair_probabilities(self, cross: bool, min_shared: int = 1) -> np.ndarray:
        """p(query a, passage b) ∝ w_a·w_b over pairs sharing at least ``min_shared`` ids (a ≠ b if cross)."""
        pools, pool_of = self.space.pools
        shared = np.array([len(p) for p in pools])[pool_of]
        p = np.outer(self.weights, self.weights) * (shared >= min_shared)
        if cross:
            np.fill_diagonal(p, 0.0)
        return p / p.sum() if p.sum() > 0 else p

    def check_support(self, p: np.ndarray, need: int, what: str) -> None:
        """Fail early unless the pairs ``p`` can draw from hold ``need`` distinct ids."""
        pools, pool_of = self.space.pools
        used = {int(i) for i in pool_of[p > 0]}
        n = len(np.unique(np.concatenate([pools[i] for i in used]))) if used else 0
        if n < need:
            raise ValueError(
                f"batching.batch_size={self.batch_size} (x{self.world_size} ranks) needs {need} distinct parallel "
                f"ids but only {n} are available for {what}; lower batching.batch_size")

    def mono_batch(self, rng: np.random.Generator, draws: Draws) -> list[int]:
        lang = int(rng.choice(len(self.weights), p=self.weights))
        return [self.space.encode(i, lang, lang) for i in draws.queue(lang, lang).take(self.global_batch, set())]

    def same_pair_batch(self, rng: np.random.Generator, draws: Draws, p: np.ndarray, n: int) -> list[int]:
        a, b = divmod(int(rng.choice(p.size, p=p.ravel())), len(self.weights))
        return [self.space.encode(i, a, b) for i in draws.queue(a, b).take(n, set())]

    def mixed_batch(self, rng: np.random.Generator, draws: Draws, p: np.ndarray, n: int) -> list[int]:
        """``n`` pairs, each with its own (query, passage) languages drawn from ``p``; no id twice."""
        n_langs, flat, pool_of = len(self.weights), p.ravel(), draws.pool_of.ravel()
        used: set[int] = set()
        out = []
        for code in rng.choice(flat.size, size=n, p=flat):
            while True:
                a, b = divmod(int(code), n_langs)
                try:
                    item = draws.queue(a, b).take(1, used)[0]
                    break
                except PoolExhausted:  # every id of this pair is in the batch already: redraw the pair
                    flat = flat * (pool_of != pool_of[code])
                    flat = flat / flat.sum()
                    code = rng.choice(flat.size, p=flat)
            out.append(self.space.encode(item, a, b))
        return out

    def add_bitext(self, draws: Draws, qa: list[int]) -> list[int]:
        """Give every rank its ``bitext_slots`` bitext pairs after its share of the QA pairs."""
        k = self.bitext_slots
        if k == 0:
            return qa
        bitext = [self.space.qa_size + j for j in draws.bitext().take(k * self.world_size, set())]
        q = self.batch_size - k
        return [i for r in range(self.world_size) for i in qa[r * q:(r + 1) * q] + bitext[r * k:(r + 1) * k]]


def build_strategy(name: str, space: PairSpace, **options) -> BatchStrategy:
    return STRATEGIES.get(name)(space, **options)
