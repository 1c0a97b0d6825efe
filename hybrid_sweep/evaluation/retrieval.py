"""LAReQA-style retrieval evaluation: encode every text once, score each query against the whole pool
once, and read every setting (multi / mono / cross) off that one ranking.

Restricting the pooled ranking to one language's candidates gives exactly the ranking over that
language's pool, so a relevant item's rank in language ``b``'s pool is one plus the number of
``b``-candidates ranked above it, and its multilingual rank is one plus the number of all candidates
ranked above it. Those ranks determine every metric (see ``metrics``), so the evaluation counts them from
the score matrix instead of materialising and sorting a 13k-long ranking per query: on full XQuAD-R
that takes ~5 s instead of ~38 s for full faiss rankings, under 1% of an evaluation that encodes 26k
texts. Ties go to the candidate that comes first in the pool order (candidates grouped by language, file
order within), the order ``export.write_trec_run`` writes too. A question may have any number of graded
relevant items per language (``RetrievalSet.qrels``); each is ranked on its own, one pass over the score
rows per item, so the cost grows with the relevant items per question, not with the languages.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hybrid_sweep.data.records import RetrievalSet
from hybrid_sweep.evaluation.metrics import ranking_metrics, rank_gap
from hybrid_sweep.evaluation.results import ResultRow
from hybrid_sweep.evaluation.uncertainty import bootstrap_ci

CHUNK = 1024  # queries scored at once: a 1024 x 13k float32 score matrix is ~53 MB
ROWS = 64  # queries counted at once: their score rows (3.3 MB on full XQuAD-R) stay in cache across passes
WIDE = 16  # relevant items per question above which one sort per row beats one pass per item
SETTINGS = ("multi", "mono", "cross")


@dataclass(frozen=True)
class Pool:
    """The candidates in pool order (grouped by language) and each question's relevant items in it,
    in candidate-language order, padded to the widest question (position and language -1, grade 0).
    One pool: a set whose questions rank different candidates (``Question.pool``) is split first."""

    order: np.ndarray  # pool position -> index into rset.candidates
    bounds: np.ndarray  # language l occupies pool positions bounds[l]:bounds[l + 1]
    relevant: np.ndarray  # (questions, width): pool position of each relevant item
    lang: np.ndarray  # (questions, width): its candidate-language index
    grade: np.ndarray  # (questions, width): its relevance grade
    own: np.ndarray  # (questions,): pool position of the question's own text, left out of its ranking; -1: none

    @classmethod
    def of(cls, rset: RetrievalSet) -> Pool:
        langs = rset.languages
        lang_of = np.array([langs.index(c.lang) for c in rset.candidates], dtype=np.int64)
        order = np.argsort(lang_of, kind="stable")
        bounds = np.searchsorted(lang_of[order], np.arange(len(langs) + 1))
        position = {rset.candidates[i].cid: p for p, i in enumerate(order)}
        items = {qid: rset.relevant(qid) for qid in {q.qid for q in rset.questions}}  # shared by translations
        per_row = [[c for c in items[q.qid] if c != q.own] for q in rset.questions]
        width = max(map(len, per_row), default=0)
        relevant = np.full((len(rset.questions), width), -1, dtype=np.int64)
        grade = np.zeros((len(rset.questions), width), dtype=np.int64)
        for row, (q, cids) in enumerate(zip(rset.questions, per_row)):
            relevant[row, : len(cids)] = [position[c] for c in cids]
            grade[row, : len(cids)] = [rset.qrels[q.qid][c] for c in cids]
        lang = np.where(relevant >= 0, np.searchsorted(bounds, relevant, side="right") - 1, -1)
        own = np.array([position.get(q.own, -1) if q.own else -1 for q in rset.questions], dtype=np.int64)
        return cls(order, bounds, relevant, lang, grade, own)


@dataclass(frozen=True)
class Ranks:
    """Where each question's relevant items landed (0: padding), with their language and grade (``Pool``)."""

    in_lang: np.ndarray  # (questions, width): rank within its language's pool
    in_pool: np.ndarray  # (questions, width): rank in the pooled multilingual ranking
    lang: np.ndarray  # (questions, width): as in ``Pool``
    grade: np.ndarray  # (questions, width): as in ``Pool``


@dataclass(frozen=True, eq=False)
class QueryValues:
    """Per-query values of every metric for one (setting, query language, doc language)."""

    setting: str
    query_lang: str
    doc_lang: str  # "all" for the multilingual pool
    qids: np.ndarray  # parallel question ids, aligned with every array in ``values``
    values: dict[str, np.ndarray] = field(hash=False)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything one evaluation produced: summary rows, per-query values and the embeddings behind them."""

    rows: tuple[ResultRow, ...]
    per_query: tuple[QueryValues, ...]
    q_emb: np.ndarray = field(repr=False)
    c_emb: np.ndarray = field(repr=False)


def score_chunks(q_emb: np.ndarray, pool_emb: np.ndarray, chunk: int = CHUNK,
                 own: np.ndarray | None = None) -> Iterator[tuple[slice, np.ndarray]]:
    """Inner-product scores of query chunks against the pool, each question's ``own`` position (if any)
    scored -inf so it ranks last. Every consumer goes through here, so the ranking a TREC export writes is
    the one the metrics were computed on, down to the last bit."""
    pool_t = np.ascontiguousarray(pool_emb, dtype=np.float32).T
    for start in range(0, len(q_emb), chunk):
        rows = slice(start, min(start + chunk, len(q_emb)))
        scores = np.ascontiguousarray(q_emb[rows], dtype=np.float32) @ pool_t
        if own is not None:
            at = np.flatnonzero(own[rows] >= 0)
            scores[at, own[rows][at]] = -np.inf
        yield rows, scores


def _item_ranks(scores: np.ndarray, positions: np.ndarray, lang: np.ndarray,
                bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of one item per row (at pool position ``positions[row]``, in language ``lang[row]``) within its
    language's pool and in the whole pool: one plus the candidates above it there (a higher score, or an
    equal score at an earlier position). One comparison over the row serves both counts."""
    own = np.take_along_axis(scores, positions[:, None], axis=1)
    above = scores > own
    in_pool = np.count_nonzero(above, axis=1)
    in_lang = np.empty_like(in_pool)
    languages = np.unique(lang)
    for l in languages:  # one language per call on LAReQA sets; MLQA-R's missing languages mix a few
        rows = slice(None) if len(languages) == 1 else lang == l
        in_lang[rows] = np.count_nonzero(above[rows, bounds[l]: bounds[l + 1]], axis=1)
    for row in np.flatnonzero(np.count_nonzero(scores == own, axis=1) > 1):  # exact ties are rare
        tied = scores[row, : positions[row]] == own[row, 0]
        in_pool[row] += np.count_nonzero(tied)
        in_lang[row] += np.count_nonzero(tied[bounds[lang[row]]:])
    return in_lang + 1, in_pool + 1


def _sorted_ranks(scores: np.ndarray, positions: np.ndarray, lang: np.ndarray,
                  bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_item_ranks`` for every item of every row at once (padding: position -1, rank 0), for questions
    with many relevant items (SIB-200: 204 translations each), where one pass over the row per item would
    cost width x pool: the pooled rank comes from one sort of the row, the in-language rank from one
    comparison over the item's own language block. Same tie rule, same numbers."""
    has = positions >= 0
    own = np.where(has, np.take_along_axis(scores, np.where(has, positions, 0), axis=1), np.inf)
    ascending = np.sort(scores, axis=1)
    n = scores.shape[1]
    in_pool = np.zeros(positions.shape, dtype=np.int64)
    tied = np.zeros(positions.shape, dtype=bool)
    for row in range(len(scores)):
        right = np.searchsorted(ascending[row], own[row], side="right")
        in_pool[row] = n - right
        tied[row] = right - np.searchsorted(ascending[row], own[row], side="left") > 1
    in_lang = np.zeros(positions.shape, dtype=np.int64)
    for l in np.unique(lang[has]):
        rows, cols = np.nonzero(lang == l)
        block = scores[rows, bounds[l]: bounds[l + 1]]
        in_lang[rows, cols] = np.count_nonzero(block > own[rows, cols][:, None], axis=1)
    for row, col in zip(*np.nonzero(tied & has)):  # exact ties are rare: earlier positions go first
        p, l = positions[row, col], lang[row, col]
        earlier = scores[row, :p] == own[row, col]
        in_pool[row, col] += np.count_nonzero(earlier)
        in_lang[row, col] += np.count_nonzero(earlier[bounds[l]:])
    return np.where(has, in_lang + 1, 0), np.where(has, in_pool + 1, 0)


def relevant_ranks(pool: Pool, q_emb: np.ndarray, pool_emb: np.ndarray, chunk: int = CHUNK) -> Ranks:
    """Rank of every relevant item, within its language's pool and in the pooled ranking."""
    in_lang = np.zeros(pool.relevant.shape, dtype=np.int64)
    in_pool = np.zeros(pool.relevant.shape, dtype=np.int64)
    for rows, scores in score_chunks(q_emb, pool_emb, chunk, pool.own):
        if pool.relevant.shape[1] > WIDE:
            in_lang[rows], in_pool[rows] = _sorted_ranks(scores, pool.relevant[rows], pool.lang[rows], pool.bounds)
            continue
        for start in range(0, len(scores), ROWS):
            block = scores[start: start + ROWS]
            first = rows.start + start
            positions, lang = pool.relevant[first: first + len(block)], pool.lang[first: first + len(block)]
            for j in range(positions.shape[1]):  # the j-th relevant item of every question in the block
                has = positions[:, j] >= 0
                if has.any():
                    sub = block if has.all() else block[has]  # no copy when every question has a j-th item
                    at = np.flatnonzero(has) + first
                    in_lang[at, j], in_pool[at, j] = _item_ranks(sub, positions[has, j], lang[has, j], pool.bounds)
    return Ranks(in_lang, in_pool, pool.lang, pool.grade)


def per_query_values(rset: RetrievalSet, ranks: Ranks) -> list[QueryValues]:
    """Metric values per query for the multilingual pool of each query language and every language pair
    (a query language without candidates of its own, e.g. AfriQA's, has no mono block)."""
    q_lang = np.array([q.lang for q in rset.questions])
    qids = np.array([q.qid for q in rset.questions])
    out: list[QueryValues] = []
    for qa in rset.query_languages:
        rows = np.flatnonzero(q_lang == qa)
        in_pool, grade, lang = ranks.in_pool[rows], ranks.grade[rows], ranks.lang[rows]
        multi = ranking_metrics(in_pool, grade)
        multi["lang_bias"] = rank_gap(in_pool).astype(np.float64)  # in ranks, as the paper reports it
        out.append(QueryValues("multi", qa, "all", qids[rows], multi))
        for b, db in enumerate(rset.languages):
            if rset.pivots and qa not in rset.pivots and db not in rset.pivots:
                continue
            in_b = lang == b
            has = in_b.any(axis=1)  # MLQA-R: not every id exists in every language
            if has.any():
                cols = in_b[has].any(axis=0)  # only the columns holding language-b items
                r = np.where(in_b, ranks.in_lang[rows], 0)[has][:, cols]
                g = np.where(in_b, grade, 0)[has][:, cols]
                out.append(QueryValues("mono" if qa == db else "cross", qa, db, qids[rows[has]],
                                       ranking_metrics(r, g)))
    return out


def _macro_columns(blocks: list[QueryValues]) -> tuple[int, list[np.ndarray]]:
    """Number of distinct parallel ids across ``blocks`` and, per block, the column of each of its ids."""
    ids = np.unique(np.concatenate([b.qids for b in blocks]))
    return len(ids), [np.searchsorted(ids, b.qids) for b in blocks]


def summary_rows(per_query: list[QueryValues], n_boot: int = 1000, seed: int = 0) -> list[ResultRow]:
    """Mean per block, then macro averages per setting with bootstrap intervals over parallel ids."""
    rows = [ResultRow(b.setting, b.query_lang, b.doc_lang, k, float(v.mean()), len(v))
            for b in per_query for k, v in b.values.items()]
    for setting in SETTINGS:
        blocks = [b for b in per_query if b.setting == setting]
        if not blocks:
            continue
        n_ids, columns = _macro_columns(blocks)
        for metric in blocks[0].values:
            matrix = np.full((len(blocks), n_ids), np.nan)  # (group, parallel id); NaN: the group lacks the id
            for g, (b, cols) in enumerate(zip(blocks, columns)):
                matrix[g, cols] = b.values[metric]
            ci = bootstrap_ci(matrix, n_boot=n_boot, seed=seed)
            value = float(np.mean([b.values[metric].mean() for b in blocks]))
            rows.append(ResultRow(setting, "all", "all", metric, value, len(blocks), ci.low, ci.high))
    return rows


def _check_inputs(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray) -> None:
    if len(q_emb) != len(rset.questions) or len(c_emb) != len(rset.candidates):
        raise ValueError(f"{rset.name}: {len(q_emb)} query / {len(c_emb)} candidate embeddings for "
                         f"{len(rset.questions)} questions / {len(rset.candidates)} candidates")
    if not (np.isfinite(q_emb).all() and np.isfinite(c_emb).all()):
        raise ValueError(f"{rset.name}: NaN or infinite embeddings; the model diverged")
    if len({c.cid for c in rset.candidates}) != len(rset.candidates):
        raise ValueError(f"{rset.name}: duplicate candidate ids")
    if any(grade <= 0 for rel in rset.qrels.values() for grade in rel.values()):
        raise ValueError(f"{rset.name}: qrels hold a grade <= 0; list only relevant items, graded > 0")
    missing = [q.qid for q in rset.questions if not set(rset.relevant(q.qid)) - {q.own}]
    if missing:
        raise ValueError(f"{rset.name}: {len(missing)} questions have no relevant item in the pool, e.g. {missing[0]}")


def pools(rset: RetrievalSet) -> Iterator[tuple[RetrievalSet, np.ndarray, np.ndarray]]:
    """Each pool of the set (``Question.pool``) as a set of its own, with its question and candidate
    indices in ``rset``; a set with one pool is itself."""
    keys = sorted({q.pool for q in rset.questions})
    if keys == [""] and all(not c.pool for c in rset.candidates):
        yield rset, np.arange(len(rset.questions)), np.arange(len(rset.candidates))
        return
    q_pool = np.array([q.pool for q in rset.questions])
    c_pool = np.array([c.pool for c in rset.candidates])
    for key in keys:
        qi, ci = np.flatnonzero(q_pool == key), np.flatnonzero(c_pool == key)
        yield replace(rset, questions=tuple(rset.questions[i] for i in qi),
                      candidates=tuple(rset.candidates[i] for i in ci)), qi, ci


def set_ranks(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray) -> Ranks:
    """``relevant_ranks`` of every question against its own pool, languages indexed as in ``rset``."""
    parts = []
    for sub, qi, ci in pools(rset):
        pool = Pool.of(sub)
        ranks = relevant_ranks(pool, q_emb[qi], c_emb[ci][pool.order])
        to_set = np.array([rset.languages.index(l) for l in sub.languages] + [-1])  # -1: padding stays -1
        parts.append((qi, replace(ranks, lang=to_set[ranks.lang])))
    if len(parts) == 1 and len(parts[0][0]) == len(rset.questions):
        return parts[0][1]
    width = max(r.in_lang.shape[1] for _, r in parts)
    out = {k: np.zeros((len(rset.questions), width), dtype=np.int64) for k in ("in_lang", "in_pool", "grade")}
    out["lang"] = np.full((len(rset.questions), width), -1, dtype=np.int64)
    for qi, ranks in parts:
        for k, a in out.items():
            a[qi, : getattr(ranks, k).shape[1]] = getattr(ranks, k)
    return Ranks(**out)


def evaluate(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray, n_boot: int = 1000, seed: int = 0) -> Evaluation:
    """Rows, per-query values and bootstrap intervals from precomputed embeddings."""
    _check_inputs(rset, q_emb, c_emb)
    per_query = per_query_values(rset, set_ranks(rset, q_emb, c_emb))
    return Evaluation(tuple(summary_rows(per_query, n_boot, seed)), tuple(per_query), q_emb, c_emb)


def evaluate_embeddings(rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray) -> list[ResultRow]:
    return list(evaluate(rset, q_emb, c_emb).rows)


def encode(model, rset: RetrievalSet, batch_size: int = 64, cache_dir: str | Path | None = None,
           max_length: Mapping[str, int | None] | None = None, precision: str = "fp32") -> tuple[np.ndarray, np.ndarray]:
    """Question and candidate embeddings, each distinct text encoded once (and read back from ``cache_dir``
    when this model state has encoded these texts at these lengths and this precision before).
    ``max_length`` maps a role to its token limit; unset roles read as much as the model can
    (``lengths.eval_lengths``). ``precision`` (``model.inference``): fp32, or an int8 / bf16 copy for
    speed. In translation retrieval both sides are encoded as queries (E5's prefix advice for bitext
    mining), so a parallel set whose questions are its candidates encodes each text once, with or without
    a cache (encoding SIB-200's sentences twice cost a trained stage ~50 s)."""
    from hybrid_sweep.evaluation.cache import encode_texts, model_fingerprint
    from hybrid_sweep.evaluation.lengths import eval_lengths
    from hybrid_sweep.model.inference import for_inference

    lengths = eval_lengths(model, max_length)
    fingerprint = model_fingerprint(model) if cache_dir is not None else None
    if precision != "fp32" and fingerprint is not None:
        fingerprint += f"-{precision}"
    model = for_inference(model, precision)
    questions = [q.text for q in rset.questions]
    if rset.task == "translation":  # symmetric: both sides read as queries, so one encode of their distinct texts
        emb = encode_texts(model, questions + [c.text for c in rset.candidates], "query", batch_size, cache_dir,
                           fingerprint, progress=f"encode texts ({rset.name})", max_length=lengths["query"])
        return emb[:len(questions)], emb[len(questions):]
    q_emb = encode_texts(model, questions, "query", batch_size, cache_dir, fingerprint,
                         progress=f"encode questions ({rset.name})", max_length=lengths["query"])
    c_emb = encode_texts(model, [c.text for c in rset.candidates], "passage", batch_size, cache_dir, fingerprint,
                         progress=f"encode candidates ({rset.name})", max_length=lengths["passage"])
    return q_emb, c_emb


def evaluate_model(model, rset: RetrievalSet, batch_size: int = 64,
                   cache_dir: str | Path | None = None) -> list[ResultRow]:
    """Encode questions and candidates once each, then evaluate every setting."""
    return list(evaluate(rset, *encode(model, rset, batch_size, cache_dir)).rows)
