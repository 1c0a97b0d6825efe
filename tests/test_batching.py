"""Batch strategies on real training ids: composition, determinism, and early, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from hybrid_sweep.batching import STRATEGIES, PairSpace, build_strategy
from hybrid_sweep.data.protocols import restrict_items

LANGS = ("en", "zh", "ar", "hi")


@pytest.fixture(scope="module")
def space(xquad_split):
    return PairSpace(restrict_items(xquad_split.train_items, LANGS), LANGS)


def decoded(space, batch):
    return [space.pair(i) for i in batch]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_len_determinism_and_distinct_ids(space, name):
    sampler = build_strategy(name, space, batch_size=16, seed=3)
    first = list(sampler)
    assert len(first) == len(sampler) == len(space.items) // 16
    assert first == list(build_strategy(name, space, batch_size=16, seed=3))
    sampler.set_epoch(1)
    assert list(sampler) != first
    for batch in first:
        pairs = decoded(space, batch)
        assert len(batch) == 16
        assert len({p.qid for p in pairs}) == 16  # a translation in the same batch would be a false negative


def test_mono_batches_share_one_language(space):
    langs_seen = set()
    for batch in build_strategy("mono", space, batch_size=16, seed=0):
        pairs = decoded(space, batch)
        assert all(p.query_lang == p.passage_lang for p in pairs)
        assert len({p.query_lang for p in pairs}) == 1
        langs_seen.add(pairs[0].query_lang)
    assert langs_seen == set(LANGS)


def test_cross_pairs_always_change_language_and_mix_within_a_batch(space):
    for batch in build_strategy("cross", space, batch_size=16, seed=0):
        pairs = decoded(space, batch)
        assert all(p.query_lang != p.passage_lang for p in pairs)
        assert len({(p.query_lang, p.passage_lang) for p in pairs}) > 1


def test_hybrid_mono_fraction_follows_alpha(space):
    sampler = build_strategy("hybrid", space, batch_size=8, seed=0, alpha=0.3, batches_per_epoch=2000)
    kinds = []
    for batch in sampler:
        pairs = decoded(space, batch)
        mono = {p.query_lang == p.passage_lang for p in pairs}
        assert len(mono) == 1  # a hybrid batch is wholly mono or wholly cross
        kinds.append(mono.pop())
    assert abs(np.mean(kinds) - 0.3) < 0.03  # binomial sd at n=2000 is 0.01


def test_explicit_language_ratios_are_followed(xquad_split):
    mlqa_like = PairSpace(restrict_items(xquad_split.train_items, ("en", "de")), ("en", "de"))
    sampler = build_strategy("mono", mlqa_like, batch_size=4, seed=0, lang_weights={"en": 3, "de": 1},
                             batches_per_epoch=2000)
    langs = [mlqa_like.pair(b[0]).query_lang for b in sampler]
    assert abs(langs.count("en") / len(langs) - 0.75) < 0.03


def test_ranks_agree_on_language_and_never_share_pairs(space):
    ranks = [list(build_strategy("mono", space, batch_size=8, seed=5, rank=r, world_size=2)) for r in range(2)]
    for b0, b1 in zip(*ranks):
        assert {space.pair(i).query_lang for i in b0 + b1} == {space.pair(b0[0]).query_lang}
        assert not {space.pair(i).qid for i in b0} & {space.pair(i).qid for i in b1}


def test_impossible_configurations_fail_early_with_the_key(space):
    with pytest.raises(ValueError, match="batching.batch_size=10000"):
        build_strategy("mono", space, batch_size=10000)
    with pytest.raises(ValueError, match=r"batching.alpha must lie in \[0, 1\]"):
        build_strategy("hybrid", space, batch_size=8, alpha=1.5)
    with pytest.raises(ValueError, match="needs at least 2 training languages"):
        build_strategy("cross", PairSpace(space.items[:50], ("en",)), batch_size=8)
    with pytest.raises(ValueError, match="batching='nope' is unknown"):
        build_strategy("nope", space, batch_size=8)
