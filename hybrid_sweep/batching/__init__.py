"""Batch composition strategies: one class each, registered by name (``batching=<name>``)."""
from hybrid_sweep.batching import strategies as _strategies  # noqa: F401  (registers the built-ins)
from hybrid_sweep.batching.base import STRATEGIES, BatchStrategy, build_strategy, register
from hybrid_sweep.batching.composition import composition, pairs_seen, sample_composition, summarize
from hybrid_sweep.batching.pairs import PairSpace

__all__ = ["STRATEGIES", "BatchStrategy", "PairSpace", "build_strategy", "composition", "pairs_seen", "register",
           "sample_composition", "summarize"]
