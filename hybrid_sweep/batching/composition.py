"""What batches actually contain, as a table: the common ground of the contract tests, the plot and the bench."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from itertools import count, islice

import numpy as np
import pandas as pd

from hybrid_sweep.batching.base import BatchStrategy
from hybrid_sweep.batching.pairs import PairSpace


def composition(space: PairSpace, batches: Iterable[list[int]]) -> pd.DataFrame:
    """One row per pair: batch, key (what must be distinct in a batch), query_lang, passage_lang, mono, bitext."""
    sizes, flat = [], []
    for batch in batches:
        sizes.append(len(batch))
        flat.extend(batch)
    idx = np.asarray(flat, dtype=np.int64)
    bitext = idx >= space.qa_size
    item, a, b = space.decode(np.where(bitext, 0, idx))
    langs = np.array(space.languages + ("en",), dtype=object)
    j = idx[bitext] - space.qa_size
    key = np.array([space.items[i].qid for i in item], dtype=object)
    key[bitext] = [space.bitext[i].pid for i in j]
    query, passage = langs[a], langs[b]
    query[bitext] = [space.bitext[i].lang for i in j]
    passage[bitext] = "en"
    return pd.DataFrame({"batch": np.repeat(np.arange(len(sizes)), sizes), "index": idx, "key": key,
                         "query_lang": query, "passage_lang": passage, "mono": query == passage, "bitext": bitext})


def sample_composition(sampler: BatchStrategy, n_batches: int | None = None) -> pd.DataFrame:
    """This rank's first ``n_batches`` batches from epoch ``sampler.epoch`` on, as training would see them
    (one epoch if None). Iterates a copy, so the training sampler's epoch and resume state stay untouched."""
    view = copy.copy(sampler)
    view.skip = 0

    def epochs() -> Iterator[list[int]]:
        for epoch in count(sampler.epoch):
            view.epoch = epoch
            yield from view

    return composition(sampler.space, islice(epochs(), n_batches if n_batches is not None else len(sampler)))


def with_negatives(table: pd.DataFrame, space: PairSpace, negatives) -> pd.DataFrame:
    """The composition table plus each pair's ``negative_lang`` and ``negatives`` (how many it carries) when
    the job mines hard negatives (a ``HardNegatives``); unchanged without."""
    if negatives is None:
        return table
    langs = [space.languages[negatives.language_of(space, int(i))] for i in table["index"]]
    return table.assign(negative_lang=langs, negatives=negatives.k)


def pairs_seen(make_sampler, world_size: int, steps: int, negatives=None) -> pd.DataFrame:
    """Training pairs per (query_lang, passage_lang) over a job's ``steps`` global steps on every rank: the record
    that a fixed budget spreads the same pairs over more languages rather than adding data. With hard
    ``negatives``, also per ``negative_lang``, and the ``negatives`` those pairs carried."""
    samplers = [make_sampler(rank=rank, world_size=world_size) for rank in range(world_size)]
    table = pd.concat([with_negatives(sample_composition(s, steps), s.space, negatives) for s in samplers])
    if negatives is None:
        return table.groupby(["query_lang", "passage_lang"]).size().rename("pairs").reset_index()
    return (table.groupby(["query_lang", "passage_lang", "negative_lang"])
            .agg(pairs=("index", "size"), negatives=("negatives", "sum")).reset_index())


def _sides(table: pd.DataFrame) -> pd.DataFrame:
    """(batch, lang) once for the query and once for the passage of every pair."""
    return pd.concat([table[["batch", side]].set_axis(["batch", "lang"], axis=1)
                      for side in ("query_lang", "passage_lang")])


def language_counts(table: pd.DataFrame) -> pd.Series:
    """Query plus passage sides per language, every language of the table, in code order."""
    return _sides(table).lang.value_counts().sort_index()


def summarize(table: pd.DataFrame) -> dict[str, float]:
    """Headline numbers: mono share of pairs and of batches, languages per batch, bitext share."""
    per_batch = table.groupby("batch")
    langs = _sides(table).groupby("batch").lang.nunique()
    return {
        "batches": int(table.batch.nunique()),
        "mono_pair_fraction": float(table.mono.mean()),
        "mono_batch_fraction": float(per_batch.mono.all().mean()),
        "cross_batch_fraction": float((~per_batch.mono.any()).mean()),
        "languages_per_batch": float(langs.mean()),
        "bitext_fraction": float(table.bitext.mean()),
    }
