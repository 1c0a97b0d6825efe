"""Miners: where hard negatives come from. Each takes the training pair space and returns, per (training
id, language index), candidate passages best first; :func:`base.clean` then removes false negatives.

- ``paragraph``: the other sentences of the answer's paragraph (LAReQA's natural hard negatives; free);
- ``bm25``: the id's question against that language's training answers, with ``bm25s`` over XLM-R
  sentencepiece tokens (so scripts without spaces, zh or th, are tokenised too);
- ``model``: the same with the base model's embeddings through a faiss inner-product index.

Adding one: a function ``(space, depth, model, **options) -> {(item, lang index): [texts]}`` registered
with ``@MINERS.register("<name>")``, plus ``conf/negatives/<name>.yaml``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from hybrid_sweep.batching import PairSpace
from hybrid_sweep.registry import Registry

Candidates = dict[tuple[int, int], Sequence[str]]
MINERS: Registry[Callable[..., Candidates]] = Registry("negatives")


@MINERS.register("paragraph")
def paragraph(space: PairSpace, depth: int, model=None, **_) -> Candidates:
    if not any(item.context for item in space.items):
        raise ValueError("negatives=paragraph needs paragraphs around each answer (a LAReQA-format corpus); "
                         "this training data has none: use negatives=bm25 or negatives=model")
    return {(i, li): item.context.get(lang, ())
            for i, item in enumerate(space.items) for li, lang in enumerate(space.languages) if lang in item.languages}


def _retrieve(space: PairSpace, depth: int, rank: Callable[[list[str], list[str], str, int], np.ndarray]) -> Candidates:
    """Per language: each id's question ranks that language's distinct training answers with ``rank``
    (questions, corpus, language, depth) -> corpus indices, best first."""
    out: Candidates = {}
    for li, lang in enumerate(space.languages):
        items = space.items_by_language[li]
        corpus = list(dict.fromkeys(space.items[i].answers[lang] for i in items))
        order = rank([space.items[i].questions[lang] for i in items], corpus, lang, min(depth, len(corpus)))
        for i, row in zip(items, order):
            out[(int(i), li)] = [corpus[j] for j in row if j >= 0]
    return out


@lru_cache(maxsize=1)
def _xlmr():
    from tokenizers import Tokenizer

    from hybrid_sweep.model.me5_nano import xlmr_tokenizer_file

    return Tokenizer.from_file(str(xlmr_tokenizer_file()))


def _pieces(texts: list[str]) -> list[list[str]]:
    return [[t for t in enc.tokens if t not in ("<s>", "</s>", "▁")] for enc in _xlmr().encode_batch(texts)]


@MINERS.register("bm25")
def bm25(space: PairSpace, depth: int, model=None, k1: float = 1.5, b: float = 0.75, **_) -> Candidates:
    import bm25s

    def rank(questions, corpus, lang, n):
        index = bm25s.BM25(k1=k1, b=b)
        index.index(_pieces(corpus), show_progress=False)
        docs, _ = index.retrieve(_pieces(questions), k=n, show_progress=False, n_threads=1)
        return np.asarray(docs)

    return _retrieve(space, depth, rank)


@MINERS.register("model")
def model_miner(space: PairSpace, depth: int, model=None, batch_size: int = 64, **_) -> Candidates:
    import faiss

    if model is None:
        raise ValueError("negatives=model mines with the job's model; none was given")

    def rank(questions, corpus, lang, n):
        q = np.ascontiguousarray(model.encode(questions, "query", batch_size, progress=f"mine negatives {lang}"),
                                 dtype=np.float32)
        c = np.ascontiguousarray(model.encode(corpus, "passage", batch_size), dtype=np.float32)
        index = faiss.IndexFlatIP(c.shape[1])
        index.add(c)
        return index.search(q, n)[1]

    return _retrieve(space, depth, rank)
