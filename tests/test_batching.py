"""Contract tests for every registered batch strategy, on real training ids with fixed seeds.

Each case is checked for: len(sampler) == batches yielded; same (seed, epoch) same batches, a new epoch
new ones; the composition its strategy promises; observed language and mono/cross ratios against the
configured ones by a chi-square test; no parallel id twice in a batch; every id once per epoch on
fully parallel data; and, under world_size > 1, agreement of ranks on each step and no shared pair.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hybrid_sweep.batching import STRATEGIES, PairSpace, build_strategy, composition, sample_composition
from hybrid_sweep.batching.base import ItemQueue, PoolExhausted
from hybrid_sweep.data.protocols import restrict_items
from hybrid_sweep.data.records import QAItem
from hybrid_sweep.data.tatoeba import read_tatoeba

LANGS = ("en", "zh", "ar", "hi")
SKEWED = {"en": 4.0, "zh": 2.0, "ar": 1.0, "hi": 1.0}
P_MIN = 1e-3  # chi-square acceptance level; the seeds are fixed, so the outcome is too

# (strategy, options, space): at least one case per registered strategy, see test_every_strategy_has_a_case
CASES = [
    ("mono", {}, "parallel"),
    ("mono", {"lang_weights": SKEWED}, "parallel"),
    ("cross", {}, "parallel"),
    ("cross", {"lang_weights": SKEWED}, "parallel"),
    ("cross", {"same_pair": True}, "parallel"),
    ("cross", {"bitext_fraction": 0.25}, "bitext"),
    ("hybrid", {"alpha": 0.3, "lang_weights": SKEWED}, "parallel"),
    ("hybrid", {"alpha": 0.5, "bitext_fraction": 0.25}, "bitext"),
    ("multi", {}, "parallel"),
    ("multi", {"lang_weights": SKEWED, "bitext_fraction": 0.25}, "bitext"),
]


def case_id(name: str, options: dict) -> str:
    parts = [f"{k}={'skewed' if isinstance(v, dict) else v}" for k, v in options.items()]
    return "-".join([name, *parts])


IDS = [case_id(n, o) for n, o, _ in CASES]


@pytest.fixture(scope="module")
def spaces(xquad_split, data_root):
    items = restrict_items(xquad_split.train.items, LANGS)
    bitext = read_tatoeba(data_root / "train" / "tatoeba", ("el", "ru", "th"))
    return {"parallel": PairSpace(items, LANGS), "bitext": PairSpace(items, LANGS, bitext)}


def weights_of(options: dict) -> np.ndarray:
    w = np.array([options.get("lang_weights", dict.fromkeys(LANGS, 1.0))[l] for l in LANGS])
    return w / w.sum()


def expected(name: str, options: dict) -> dict:
    """The configured distributions, derived here independently of the sampler code."""
    w = weights_of(options)
    independent = np.outer(w, w)
    cross = independent * (1 - np.eye(len(w)))
    return {
        "mono_batch": {"mono": 1.0, "cross": 0.0, "hybrid": options.get("alpha", 0.5), "multi": None}[name],
        "mono_lang": w,
        "pair": independent if name == "multi" else cross / cross.sum(),
    }


def chi_square_p(observed: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's chi-square goodness of fit; the p-value from the regularised upper incomplete gamma."""
    observed, probs = np.asarray(observed, float).ravel(), np.asarray(probs, float).ravel()
    if observed[probs == 0].any():
        return 0.0
    keep = probs > 0
    if keep.sum() == 1:  # a single possible outcome, and every observation is it
        return 1.0
    exp = probs[keep] * observed.sum()
    stat = float(((observed[keep] - exp) ** 2 / exp).sum())
    dof = keep.sum() - 1
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                         torch.tensor(stat / 2, dtype=torch.float64)))


def pair_counts(rows) -> np.ndarray:
    counts = np.zeros((len(LANGS), len(LANGS)))
    for (a, b), n in rows.groupby(["query_lang", "passage_lang"]).size().items():
        counts[LANGS.index(a), LANGS.index(b)] = n
    return counts


def batch_kinds(table):
    """Per batch: all pairs mono, all pairs cross (bitext included), or mixed."""
    g = table.groupby("batch").mono
    return g.all(), ~g.any()


@pytest.fixture(scope="module")
def long_runs(spaces):
    """1,600 batches of 8 per case (seed 0): the sample the ratio tests judge."""
    return {i: sample_composition(build_strategy(n, spaces[s], batch_size=8, seed=0, batches_per_epoch=1600, **o))
            for i, (n, o, s) in zip(IDS, CASES)}


def test_every_strategy_has_a_case():
    assert {n for n, _, _ in CASES} == set(STRATEGIES), "add a contract case for each new strategy"


@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_length_and_determinism(spaces, name, options, kind):
    sampler = build_strategy(name, spaces[kind], batch_size=16, seed=3, **options)
    first = list(sampler)
    assert len(first) == len(sampler) == len(spaces[kind].items) // 16
    assert all(len(b) == 16 for b in first)
    assert first == list(build_strategy(name, spaces[kind], batch_size=16, seed=3, **options))
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first
    again = build_strategy(name, spaces[kind], batch_size=16, seed=3, **options)
    again.set_epoch(1)
    assert list(again) == second
    assert list(build_strategy(name, spaces[kind], batch_size=16, seed=4, **options)) != first


@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_resume_continues_the_epoch_where_it_stopped(spaces, name, options, kind):
    sampler = build_strategy(name, spaces[kind], batch_size=8, seed=2, **options)
    sampler.set_epoch(1)
    full = list(sampler)
    sampler.resume(1, 5)
    sampler.set_epoch(1)  # Lightning sets the epoch again when the resumed epoch starts
    assert list(sampler) == full[5:]
    assert list(sampler) == full  # the skip applies once


@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_composition_promise_and_distinct_ids(long_runs, name, options, kind):
    table = long_runs[IDS[CASES.index((name, options, kind))]]
    assert not table.duplicated(["batch", "key"]).any()  # a translation in the batch would be a false negative
    assert set(table.query_lang[~table.bitext]) <= set(LANGS) and set(table.passage_lang) <= set(LANGS)
    all_mono, all_cross = batch_kinds(table)
    per_batch_langs = table[table.mono].groupby("batch").query_lang.nunique()
    assert (per_batch_langs == 1).all() or name == "multi"  # a mono batch has one language
    if name == "mono":
        assert all_mono.all()
    if name == "cross":
        assert all_cross.all()
    if name == "hybrid":
        assert (all_mono | all_cross).all()  # wholly mono or wholly cross, never mixed
    if options.get("same_pair"):
        assert (table.groupby("batch")[["query_lang", "passage_lang"]].nunique() == 1).all().all()
    elif name in ("cross", "multi"):
        pairs_per_batch = (table.query_lang + ">" + table.passage_lang).groupby(table.batch).nunique()
        assert (pairs_per_batch > 1).all()
    bitext_per_batch = table.groupby("batch").bitext.sum()
    k = round(options.get("bitext_fraction", 0) * 8)
    if name == "multi":
        assert (bitext_per_batch == k).all()
    else:  # mono batches never hold bitext, cross batches exactly k
        assert (bitext_per_batch[all_mono] == 0).all() and (bitext_per_batch[~all_mono] == k).all()
    assert not (table.bitext & table.mono).any()  # a bitext pair never becomes an identical-text mono pair


@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_observed_ratios_match_configuration(long_runs, name, options, kind):
    table = long_runs[IDS[CASES.index((name, options, kind))]]
    want = expected(name, options)
    all_mono, _ = batch_kinds(table)
    if want["mono_batch"] is not None:
        n_mono = int(all_mono.sum())
        assert chi_square_p([n_mono, len(all_mono) - n_mono], [want["mono_batch"], 1 - want["mono_batch"]]) > P_MIN
    mono_batches = table[table.batch.isin(all_mono[all_mono].index)]
    if name in ("mono", "hybrid"):
        langs = mono_batches.groupby("batch").query_lang.first().value_counts()
        assert chi_square_p([langs.get(l, 0) for l in LANGS], want["mono_lang"]) > P_MIN
    qa_pairs = table[~table.bitext]
    if name != "multi":  # multi's pairs all follow one distribution; elsewhere judge the cross batches
        qa_pairs = qa_pairs[~qa_pairs.batch.isin(mono_batches.batch)]
    if options.get("same_pair"):
        qa_pairs = qa_pairs.groupby("batch").first()  # one draw per batch
    if name != "mono":
        assert chi_square_p(pair_counts(qa_pairs), want["pair"]) > P_MIN


def test_chi_square_detects_a_wrong_ratio(long_runs):
    """The ratio test has power: skewed mono batches are far from uniform."""
    table = long_runs[IDS[CASES.index(("mono", {"lang_weights": SKEWED}, "parallel"))]]
    langs = table.groupby("batch").query_lang.first().value_counts()
    assert chi_square_p([langs[l] for l in LANGS], np.full(4, 0.25)) < 1e-6


@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_one_epoch_uses_each_parallel_id_at_most_once(spaces, name, options, kind):
    """Guarantee: every id has every training language here (xquad_split), so all strategies draw from one
    id queue; one default epoch (ids // batch_size batches) uses each QA id exactly once except the
    remainder, and each bitext pair at most once."""
    space = spaces[kind]
    sampler = build_strategy(name, space, batch_size=16, seed=1, **options)
    table = sample_composition(sampler)
    qa = table[~table.bitext]
    assert qa.key.is_unique
    k = round(options.get("bitext_fraction", 0) * 16)
    if k == 0:
        assert len(qa) == len(space.items) // 16 * 16
    assert table[table.bitext]["index"].is_unique


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.parametrize(("name", "options", "kind"), CASES, ids=IDS)
def test_ranks_agree_on_each_step_and_never_share_pairs(spaces, name, options, kind, world_size):
    space = spaces[kind]
    ranks = [composition(space, build_strategy(name, space, batch_size=4, seed=5, rank=r, world_size=world_size,
                                               batches_per_epoch=60, **options)) for r in range(world_size)]
    for r, t in enumerate(ranks):
        t["rank"] = r
    both = pd.concat(ranks)
    steps = both.groupby("batch")
    assert (steps.key.nunique() == steps.size()).all()  # no pair (nor its translation) on two ranks
    if name != "multi":
        assert (steps.mono.all() | ~steps.mono.any()).all()  # hybrid: all ranks share the step's kind
        assert (both[both.mono].groupby("batch").query_lang.nunique() == 1).all()  # mono: one language per step
    if options.get("same_pair"):
        assert (steps[["query_lang", "passage_lang"]].nunique() == 1).all().all()
    per_rank = both.groupby(["batch", "rank"]).agg(bitext=("bitext", "sum"), mono=("mono", "all"))
    k = round(options.get("bitext_fraction", 0) * 4)
    assert (per_rank.bitext == np.where(per_rank.mono & (name != "multi"), 0, k)).all()  # each rank its share


@pytest.fixture(scope="module")
def partial(xquad_split):
    """MLQA-like coverage from real ids: English everywhere, 1-3 other languages per id."""
    langs = ("en", "de", "es", "zh")
    rng = np.random.default_rng(0)
    items = []
    for item in restrict_items(xquad_split.train.items, langs):
        keep = {"en", *rng.choice(langs[1:], size=rng.integers(1, 4), replace=False)}
        items.append(QAItem(item.qid, {l: item.questions[l] for l in keep}, {l: item.answers[l] for l in keep}))
    return PairSpace(items, langs)


def test_cross_ratios_follow_weights_not_data_coverage(partial):
    """English is in every id, yet uniform weights give every ordered pair the same share."""
    table = sample_composition(build_strategy("cross", partial, batch_size=8, seed=0, batches_per_epoch=1500))
    assert not table.duplicated(["batch", "key"]).any()
    counts = np.zeros((4, 4))
    for (a, b), n in table.groupby(["query_lang", "passage_lang"]).size().items():
        counts[partial.languages.index(a), partial.languages.index(b)] = n
    assert chi_square_p(counts, (1 - np.eye(4)) / 12) > P_MIN


def test_size_weights_use_temperature(partial):
    counts = partial.language_counts()
    sampler = build_strategy("mono", partial, batch_size=8, seed=0, batches_per_epoch=2000,
                             lang_weights="size", size_temperature=0.7)
    assert np.allclose(sampler.weights, counts ** 0.7 / (counts ** 0.7).sum())
    langs = sample_composition(sampler).groupby("batch").query_lang.first().value_counts()
    assert chi_square_p([langs.get(l, 0) for l in partial.languages], sampler.weights) > P_MIN
    flat = build_strategy("mono", partial, batch_size=8, lang_weights="size", size_temperature=0.0)
    assert np.allclose(flat.weights, 0.25)


def test_item_queue_passes_skips_and_exhaustion():
    queue = ItemQueue(np.arange(10), np.random.default_rng(0))
    first = queue.take(4, set())
    held = next(i for i in range(10) if i not in first)  # e.g. already in the batch from another queue
    rest = queue.take(5, {held})
    assert held not in rest
    assert sorted(first + rest + queue.take(1, set())) == list(range(10))  # skipped, not lost from the pass
    assert sorted(queue.take(10, set())) == list(range(10))  # the next pass, reshuffled
    with pytest.raises(PoolExhausted):
        ItemQueue(np.arange(3), np.random.default_rng(0)).take(1, {0, 1, 2})


def test_impossible_configurations_fail_early_with_the_key(spaces):
    space, bitext = spaces["parallel"], spaces["bitext"]
    cases = [
        ("mono", space, {"batch_size": 10000}, "batching.batch_size=10000"),
        ("hybrid", space, {"batch_size": 8, "alpha": 1.5}, r"batching.alpha must lie in \[0, 1\]"),
        ("cross", PairSpace(space.items[:50], ("en",)), {"batch_size": 8}, "needs at least 2 training languages"),
        ("nope", space, {"batch_size": 8}, "batching='nope' is unknown"),
        ("mono", bitext, {"batch_size": 8, "bitext_fraction": 0.25}, "batching=mono has no cross-lingual batches"),
        ("cross", space, {"batch_size": 8, "bitext_fraction": 0.25}, "no bitext pairs were loaded"),
        ("cross", bitext, {"batch_size": 8, "bitext_fraction": 1.0}, r"bitext_fraction must lie in \[0, 1\)"),
        ("cross", bitext, {"batch_size": 8, "bitext_fraction": 0.01}, "gives 0 of batching.batch_size=8"),
        ("cross", bitext, {"batch_size": 8, "same_pair": True, "bitext_fraction": 0.25}, "same_pair=true promises"),
        ("cross", space, {"batch_size": 8, "lang_weights": {"en": 1, "zh": 0, "ar": 0, "hi": 0}},
         "lang_weights leaves no two weighted training languages"),
        ("mono", space, {"batch_size": 8, "lang_weights": {"en": 1, "xx": 1}}, r"unknown code\(s\) \['xx'\]"),
        ("mono", space, {"batch_size": 8, "lang_weights": "size", "size_temperature": -1}, "batching.size_temperature"),
        ("multi", space, {"batch_size": 8, "shuffle": True}, r"does not know option\(s\) \['shuffle'\]"),
    ]
    for name, sp, options, message in cases:
        with pytest.raises(ValueError, match=message):
            build_strategy(name, sp, **options)


def test_weight_map_may_cover_more_languages_than_trained(spaces):
    sampler = build_strategy("mono", spaces["parallel"], batch_size=8, lang_weights={**SKEWED, "de": 3.0})
    assert np.allclose(sampler.weights, weights_of({"lang_weights": SKEWED}))


def test_same_pair_needs_a_pair_with_enough_shared_ids(partial):
    with pytest.raises(ValueError, match="same_pair=true: no pair of training languages shares 700"):
        build_strategy("cross", partial, batch_size=700, same_pair=True)


def test_plot_command_and_wandb_hook(tmp_path, spaces):
    from hybrid_sweep.batching.plot import main
    from hybrid_sweep.tracking import log_composition

    out = main(["batching=hybrid", "langs=7", "--batches", "40", "--out", str(tmp_path / "hybrid.png")])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000

    class Logger:  # the one method of Lightning's WandbLogger the hook uses
        def log_image(self, key, images, caption):
            self.logged = (key, images, caption)

    logger = Logger()
    sampler = build_strategy("cross", spaces["bitext"], batch_size=8, bitext_fraction=0.25)
    sampler.resume(0, 3)
    log_composition(logger, sampler, n_batches=10)
    assert logger.logged[0] == "batching/composition" and logger.logged[1][0].size[0] > 500
    assert sampler.skip == 3  # drawing the figure leaves the training sampler's state alone
    log_composition(None, sampler)


def test_sampler_bench_writes_its_report(tmp_path, data_root):
    from hybrid_sweep.bench.sampler_bench import CASES as BENCH_CASES
    from hybrid_sweep.bench.sampler_bench import main

    report = main(["--ids", "1500", "--batches", "20", "--data-root", str(data_root), "--out", str(tmp_path / "s.json")])
    assert (tmp_path / "s.json").exists() and len(report["results"]) == 2 * len(BENCH_CASES)
    assert {r["strategy"] for r in report["results"]} == set(STRATEGIES)
    assert all(r["batches_per_s"] > 0 for r in report["results"])
