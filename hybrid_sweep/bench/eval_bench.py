"""Cost of one full XQuAD-R evaluation (11 languages, 13,090 questions, 13,014 candidates): encoding
throughput, scoring ("search": the query x pool inner products), rank counting and metrics, and the
files written beside results.json. ``python -m hybrid_sweep.bench.eval_bench [hydra overrides]``
(default model=me5_small) writes ``experiments/benchmarks/eval.json``.

Encoding dominates by design; the goal is scoring + metrics under 5% of the whole evaluation.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "eval.json"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def bench(overrides: list[str]) -> dict:
    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.data.protocols import load_data
    from hybrid_sweep.evaluation.export import write_evaluation
    from hybrid_sweep.evaluation.retrieval import (Evaluation, Pool, per_query_values, relevant_ranks, score_chunks,
                                                   summary_rows)
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["model=me5_small", "data=mlqa_to_xquad", *overrides])
    rset = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True), paths.data_root(cfg.paths.data_root)).eval_set
    model = build_biencoder(cfg.model)
    bs = cfg.eval.batch_size
    questions = [q.text for q in rset.questions]
    candidates = [c.text for c in rset.candidates]
    q_emb, t_q = timed(model.encode, questions, "query", bs)
    c_emb, t_c = timed(model.encode, candidates, "passage", bs)

    pool, t_pool = timed(Pool.of, rset)
    pool_emb = c_emb[pool.order]
    _, t_search = timed(lambda: [None for _ in score_chunks(q_emb, pool_emb)])
    ranks, t_ranks = timed(relevant_ranks, pool, q_emb, pool_emb)
    per_query, t_values = timed(per_query_values, rset, ranks)
    rows, t_rows = timed(summary_rows, per_query)
    ev = Evaluation(tuple(rows), tuple(per_query), q_emb, c_emb)
    with tempfile.TemporaryDirectory() as tmp:
        _, t_files = timed(write_evaluation, Path(tmp), rset, {"zero_shot": ev}, (), cfg.eval.trec_depth)
        per_query_mb = (Path(tmp) / "per_query.parquet").stat().st_size / 2**20

    encode_s = t_q + t_c
    search_s = t_search
    metric_s = t_pool + (t_ranks - t_search) + t_values + t_rows
    total = encode_s + search_s + metric_s
    head = {f"{r.setting}_{r.metric}": round(r.value, 4) for r in rows if r.query_lang == "all"
            and r.metric in ("map", "lang_bias")}
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "model": cfg.model.label, "eval_set": rset.name, "n_questions": len(questions),
        "n_candidates": len(candidates), "batch_size": bs,
        "encode": {"questions_s": round(t_q, 1), "candidates_s": round(t_c, 1), "total_s": round(encode_s, 1),
                   "texts_per_s": round((len(questions) + len(candidates)) / encode_s, 1)},
        "search_s": round(search_s, 2),
        "metrics_s": {"pool_s": round(t_pool, 2), "rank_counting_s": round(t_ranks - t_search, 2),
                      "per_query_s": round(t_values, 2), "rows_and_bootstrap_s": round(t_rows, 2),
                      "total_s": round(metric_s, 2)},
        "evaluation_total_s": round(total, 1),
        "search_plus_metrics_share": round((search_s + metric_s) / total, 4),
        "files_s": round(t_files, 1), "per_query_parquet_mb": round(per_query_mb, 1),
        "trec_depth": cfg.eval.trec_depth, "headline": head,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. model=tiny eval.batch_size=128")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = bench(args.overrides)
    write_result(args.out, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
