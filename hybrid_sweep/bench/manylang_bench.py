"""Cost of the many-language evaluation sets (SIB-200, Belebele x SIB-200, Tatoeba-112, AfriQA) on one
model: texts, seconds per stage (load, encode, score) and texts/s, at fp32 and at each faster
``eval.precision`` with its speed-up and its mAP difference to fp32 on the same texts; and our encoder
beside sentence-transformers' ``encode`` of the same model (largest cosine difference, texts/s ratio).

``python -m hybrid_sweep.bench.manylang_bench [hydra overrides]`` (default ``model=me5_small
eval.langs=stratified:6``) writes ``experiments/benchmarks/eval_manylang.json``. Nothing is cached:
every encode is timed.
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

import numpy as np

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "eval_manylang.json"
DEFAULTS = ["model=me5_small", "data=many_languages", "eval.langs=stratified:6"]


def _macro_map(rows) -> dict[str, float]:
    return {r.setting: r.value for r in rows if r.query_lang == "all" and r.metric == "map"}


def bench_sets(model, data, batch_size: int, precisions: list[str]) -> dict:
    from hybrid_sweep.evaluation.retrieval import encode, evaluate

    out = {}
    for name, ev in data.evals.items():
        rset = ev.rset
        texts = len({q.text for q in rset.questions} | {c.text for c in rset.candidates})
        by_precision = {}
        for precision in precisions:
            started = time.perf_counter()
            q_emb, c_emb = encode(model, rset, batch_size, None, None, precision)
            encoded = time.perf_counter()
            result = evaluate(rset, q_emb, c_emb)
            scored = time.perf_counter()
            by_precision[precision] = {"encode_s": round(encoded - started, 1), "score_s": round(scored - encoded, 2),
                                       "texts_per_s": round(texts / (encoded - started), 1),
                                       "map": {k: round(v, 4) for k, v in _macro_map(result.rows).items()}}
        fp32 = by_precision.get("fp32")
        for precision, numbers in by_precision.items():
            if fp32 is not None and precision != "fp32":
                numbers["speedup_vs_fp32"] = round(fp32["encode_s"] / numbers["encode_s"], 2)
                numbers["map_minus_fp32"] = {k: round(v - fp32["map"][k], 4) for k, v in numbers["map"].items()}
        out[name] = {"task": rset.task, "languages": len(set(rset.languages) | set(rset.query_languages)),
                     "questions": len(rset.questions), "candidates": len(rset.candidates), "distinct_texts": texts,
                     **by_precision}
    return out


def bench_sentence_transformers(model, texts: list[str], batch_size: int) -> dict:
    """The same texts through our ``encode`` and through sentence-transformers' on the exported model."""
    from sentence_transformers import SentenceTransformer

    from hybrid_sweep.model.saving import export_sentence_transformers

    with tempfile.TemporaryDirectory() as tmp:
        st = SentenceTransformer(str(export_sentence_transformers(model, Path(tmp) / "st")), device="cpu")
        started = time.perf_counter()
        ours = model.encode(texts, "query", batch_size, max_length=model.readable_length)
        t_ours = time.perf_counter() - started
        started = time.perf_counter()
        theirs = st.encode(texts, prompt_name="query", batch_size=batch_size, convert_to_numpy=True,
                           normalize_embeddings=True)
        t_st = time.perf_counter() - started
    cosine = (ours * theirs).sum(axis=1)
    return {"texts": len(texts), "ours_s": round(t_ours, 1), "sentence_transformers_s": round(t_st, 1),
            "speed_ratio_ours_over_st": round(t_st / t_ours, 2), "max_cosine_gap": float(np.max(1.0 - cosine)),
            "same_to_1e-5": bool(np.max(np.abs(1.0 - cosine)) < 1e-5)}


def bench(overrides: list[str], precisions: list[str], st_texts: int) -> dict:
    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.data.protocols import load_data
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[*DEFAULTS, *overrides])
    started = time.perf_counter()
    data = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True),
                     paths.data_root(cfg.paths.data_root), None, cfg.eval.get("langs"))
    load_s = time.perf_counter() - started
    model = build_biencoder(cfg.model)
    sets = bench_sets(model, data, cfg.eval.batch_size, precisions)
    sample = sorted({q.text for ev in data.evals.values() for q in ev.rset.questions})[:st_texts]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m hybrid_sweep.bench.manylang_bench " + " ".join(overrides),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "python": platform.python_version()},
        "model": cfg.model.label, "eval_langs": cfg.eval.get("langs"), "batch_size": cfg.eval.batch_size,
        "load_s": round(load_s, 1), "sets": sets,
        "sentence_transformers": bench_sentence_transformers(model, sample, cfg.eval.batch_size) if st_texts else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. model=tiny eval.langs=stratified:3")
    parser.add_argument("--precisions", default="fp32,int8", help="comma-separated eval.precision values")
    parser.add_argument("--st-texts", type=int, default=512, help="texts for the sentence-transformers check (0: skip)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = bench(args.overrides, args.precisions.split(","), args.st_texts)
    write_result(args.out, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
