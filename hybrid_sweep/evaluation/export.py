"""Files beside ``results.json``: per-query values (for bootstrap CIs and paired tests across runs
without re-encoding), TREC run/qrels files (for any external IR tool) and the plots."""
from __future__ import annotations

import gzip
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hybrid_sweep.data.records import RetrievalSet
from hybrid_sweep.evaluation.retrieval import Evaluation, Pool, QueryValues, pools, score_chunks

PER_QUERY_FILE = "per_query.parquet"
QRELS_FILE = "qrels.trec"
PER_QUERY_COLUMNS = ("stage", "setting", "query_lang", "doc_lang", "qid", "metric", "value")
TREC_DEPTH = 100
EXTRA_EVAL_DIR = "eval"  # a job's files for the evaluation sets after its first: <job>/eval/<set>/


def set_dir(job_dir: Path, name: str, headline: bool) -> Path:
    """Where a job's files for one evaluation set go: the job folder for its headline (first) set."""
    return Path(job_dir) if headline else Path(job_dir) / EXTRA_EVAL_DIR / name


def per_query_frame(per_query: Sequence[QueryValues], stage: str) -> pd.DataFrame:
    """Long format, one row per (setting, query language, doc language, parallel id, metric); built as whole
    columns (one frame per block costs seconds per job on SIB-200-sized sets)."""
    blocks = [(b, metric, values) for b in per_query for metric, values in b.values.items()]
    sizes = np.array([len(values) for _, _, values in blocks], dtype=np.int64)

    def column(key) -> pd.Categorical:
        labels = [key(b, metric) for b, metric, _ in blocks]
        categories = sorted(set(labels))
        codes = np.repeat(np.array([categories.index(x) for x in labels], dtype=np.int32), sizes)
        return pd.Categorical.from_codes(codes, categories=categories)

    frame = pd.DataFrame({
        "stage": pd.Categorical.from_codes(np.zeros(int(sizes.sum()), dtype=np.int8), categories=[stage]),
        "setting": column(lambda b, m: b.setting), "query_lang": column(lambda b, m: b.query_lang),
        "doc_lang": column(lambda b, m: b.doc_lang),
        "qid": np.concatenate([np.asarray(b.qids) for b, _, _ in blocks]),
        "metric": column(lambda b, m: m),
        "value": np.concatenate([np.asarray(values, dtype=np.float64) for _, _, values in blocks]),
    })
    return frame[list(PER_QUERY_COLUMNS)]


def write_per_query(path: Path, per_query_by_stage: Mapping[str, Sequence[QueryValues]]) -> None:
    """Atomically write every stage's per-query values into one parquet file (~1.6 MB per stage on full XQuAD-R)."""
    frame = pd.concat([per_query_frame(pq, stage) for stage, pq in per_query_by_stage.items()], ignore_index=True)
    tmp = Path(path).with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def read_per_query(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable per-query file {path}: {exc}") from exc
    missing = [c for c in PER_QUERY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} lacks per-query columns {missing}; expected {list(PER_QUERY_COLUMNS)}")
    return frame


def compact_per_query(source: Path, target: Path, metrics: Sequence[str]) -> None:
    """A smaller copy of a per-query file for committing: only ``metrics`` (e.g. mAP and language bias, what
    the paired tests read), zstd-compressed; values stay float64, so tests over them are unchanged."""
    frame = read_per_query(source)
    frame = frame[frame.metric.isin(metrics)].reset_index(drop=True)
    frame["metric"] = frame.metric.cat.remove_unused_categories() if frame.metric.dtype == "category" else frame.metric
    frame.to_parquet(target, index=False, compression="zstd", compression_level=19)


def trec_query_id(lang: str, qid: str) -> str:
    """One TREC query per (language, parallel id): the translations of a question are separate queries."""
    return f"{lang}/{qid}"


def write_trec_qrels(path: Path, rset: RetrievalSet) -> None:
    """Every question's relevant candidates in every language with their grades (filter docids by their
    ``lang/`` prefix to get the qrels of one language pair)."""
    with Path(path).open("w") as fh:
        for q in rset.questions:
            grades = rset.qrels.get(q.qid, {})
            fh.writelines(f"{trec_query_id(q.lang, q.qid)} 0 {cid} {grades[cid]}\n" for cid in rset.relevant(q.qid)
                          if cid != q.own)


def faiss_top_k(q_emb: np.ndarray, pool_emb: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top ``k`` with faiss (a GPU index when CUDA and the ``gpu`` extra are present):
    what an external tool needs from a pool too large to rank in full."""
    import faiss

    index = faiss.IndexFlatIP(pool_emb.shape[1])
    if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.add(np.ascontiguousarray(pool_emb, dtype=np.float32))
    return index.search(np.ascontiguousarray(q_emb, dtype=np.float32), k)[1]


def write_trec_run(path: Path, rset: RetrievalSet, q_emb: np.ndarray, c_emb: np.ndarray, depth: int = TREC_DEPTH,
                   tag: str = "hybrid_sweep") -> None:
    """The multilingual ranking of every question (its own pool, its own text left out), top ``depth``
    (``len(rset.candidates)``: all of it);
    gzipped when ``path`` ends in ``.gz`` (ir_measures reads it as is).

    Scores are rank-derived (``pool size - rank + 1``). A full-depth run is the exact ranking the metrics
    were computed on, ties included, so any TREC tool reproduces our numbers; a truncated run comes from a
    faiss search (equal up to float rounding among near-tied scores) and undercounts relevant items
    ranked below ``depth``, so cross-check AP on a full run.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with (gzip.open(tmp, "wt", compresslevel=1) if path.suffix == ".gz" else tmp.open("w")) as fh:
        for sub, qi, ci in pools(rset):  # a question ranks its own pool, without its own text
            pool = Pool.of(sub)
            n = len(sub.candidates)
            cids = np.array([sub.candidates[i].cid for i in pool.order])
            pool_emb, q_sub = c_emb[ci][pool.order], q_emb[qi]
            if depth < n:
                rankings = [(slice(0, len(q_sub)), faiss_top_k(q_sub, pool_emb, min(depth + 1, n)))]
            else:
                rankings = ((rows, np.argsort(-scores, axis=1, kind="stable"))
                            for rows, scores in score_chunks(q_sub, pool_emb, own=pool.own))
            for rows, ranked in rankings:
                for q, own, top in zip(sub.questions[rows], pool.own[rows], ranked):
                    size = n - int(own >= 0)
                    qid = trec_query_id(q.lang, q.qid)
                    fh.writelines(f"{qid} Q0 {cid} {r} {size - r + 1} {tag}\n"
                                  for r, cid in enumerate(cids[top[top != own][:depth]], 1))
    os.replace(tmp, path)


def write_evaluation(out_dir: Path, rset: RetrievalSet, evaluations: Mapping[str, Evaluation],
                     seen_langs: Sequence[str] = (), trec_depth: int | None = TREC_DEPTH,
                     plots: bool = True) -> list[Path]:
    """Everything but ``results.json`` for the stages of one job: per-query values, qrels, and per stage
    a gzipped TREC run (top ``trec_depth``; None: no run file) and the plots. Returns the PNG paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_per_query(out_dir / PER_QUERY_FILE, {stage: ev.per_query for stage, ev in evaluations.items()})
    write_trec_qrels(out_dir / QRELS_FILE, rset)
    pngs: list[Path] = []
    for stage, ev in evaluations.items():
        if trec_depth is not None:
            write_trec_run(out_dir / f"run.{stage}.trec.gz", rset, ev.q_emb, ev.c_emb, trec_depth, tag=stage)
        if plots:
            from hybrid_sweep.evaluation.plots import save_plots

            pngs += save_plots(ev.rows, per_query_frame(ev.per_query, stage), out_dir / "plots", seen_langs,
                               prefix=f"{stage}_")
    return pngs
