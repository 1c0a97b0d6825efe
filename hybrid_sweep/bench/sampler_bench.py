"""Sampler speed: batches/s of each strategy alone over a pair space of 100k parallel ids.

    python -m hybrid_sweep.bench.sampler_bench [--ids 100000] [--step-seconds 3.2] [--out experiments/benchmarks/sampler.json]

The issue asks that the sampler add under 1% to a training step. Two spaces are measured, both built from
the real xquad_split training ids replicated to ``--ids``: fully parallel in 11 languages (one id pool) and
MLQA-like coverage in 7 (English plus 1-3 others per id: many pools, redraws when a pool runs dry).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from hybrid_sweep.batching import PairSpace, build_strategy
from hybrid_sweep.data.protocols import load_preset
from hybrid_sweep.data.records import QAItem
from hybrid_sweep.data.tatoeba import read_tatoeba
from hybrid_sweep.paths import PROJECT_ROOT

CASES = [("mono", {}), ("cross", {}), ("cross", {"same_pair": True}), ("cross", {"bitext_fraction": 0.25}),
         ("hybrid", {}), ("multi", {}), ("multi", {"lang_weights": "size"})]
PARTIAL_LANGS = ("en", "ar", "de", "es", "hi", "vi", "zh")


def scaled_spaces(data_root: Path, n_ids: int) -> dict[str, PairSpace]:
    data = load_preset("xquad_split", data_root)
    base, langs = data.train.items, data.train.languages
    rng = np.random.default_rng(0)
    parallel, partial = [], []
    for k in range(n_ids):
        item = base[k % len(base)]
        qid = f"{item.qid}#{k // len(base)}"
        parallel.append(QAItem(qid, item.questions, item.answers))
        keep = ["en", *rng.choice(PARTIAL_LANGS[1:], size=rng.integers(1, 4), replace=False)]
        partial.append(QAItem(qid, {l: item.questions[l] for l in keep}, {l: item.answers[l] for l in keep}))
    bitext = read_tatoeba(data_root / "train" / "tatoeba")
    return {f"parallel-{len(langs)}": PairSpace(parallel, langs, bitext),
            f"mlqa-like-{len(PARTIAL_LANGS)}": PairSpace(partial, PARTIAL_LANGS, bitext)}


def time_strategy(space: PairSpace, name: str, options: dict, batch_size: int, batches: int) -> dict:
    sampler = build_strategy(name, space, batch_size=batch_size, seed=0, batches_per_epoch=batches, **options)
    started = time.perf_counter()
    it = iter(sampler)
    next(it)
    first = time.perf_counter() - started  # includes the epoch's queue set-up
    started = time.perf_counter()
    n = sum(1 for _ in it)
    per_batch = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for batch in sampler:  # what the DataLoader adds on top: index -> TrainPair
        [space.pair(i) for i in batch]
    with_decode = (time.perf_counter() - started) / batches
    return {"strategy": name, "options": options, "batches_per_s": round(1 / per_batch, 1),
            "ms_per_batch": round(1e3 * per_batch, 4), "ms_per_batch_with_decode": round(1e3 * with_decode, 4),
            "first_batch_ms": round(1e3 * first, 2)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m hybrid_sweep.bench.sampler_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=2000, help="batches timed per strategy")
    parser.add_argument("--step-seconds", type=float, default=3.2,
                        help="training step time to compare with (me5_small, batch 32, this CPU)")
    parser.add_argument("--data-root", type=Path,
                        default=Path(os.environ.get("HYBRID_SWEEP_DATA", PROJECT_ROOT.parent / "shared" / "data")))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "experiments" / "benchmarks" / "sampler.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    spaces = scaled_spaces(args.data_root, args.ids)
    for space in spaces.values():  # index structures are built once per run, not per batch
        _ = space.pools
    build_s = time.perf_counter() - started
    rows = []
    for space_name, space in spaces.items():
        for name, options in CASES:
            row = {"space": space_name, **time_strategy(space, name, options, args.batch_size, args.batches)}
            row["overhead_pct_of_step"] = round(100 * row["ms_per_batch_with_decode"] / (1e3 * args.step_seconds), 4)
            rows.append(row)
            print(f"{space_name:14s} {name:6s} {json.dumps(options):28s} {row['batches_per_s']:>9.0f} batches/s  "
                  f"{row['ms_per_batch_with_decode']:.3f} ms/batch with decode  "
                  f"= {row['overhead_pct_of_step']:.4f}% of a {args.step_seconds} s step")
    report = {
        "what": "sampler alone (and with index->pair decoding) over scaled real training ids",
        "ids": args.ids, "batch_size": args.batch_size, "batches_timed": args.batches,
        "step_seconds": args.step_seconds, "step_source": "me5_small training step, batch 32, measured on this CPU",
        "space_build_seconds": round(build_s, 1),
        "max_overhead_pct_of_step": max(r["overhead_pct_of_step"] for r in rows),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "platform": platform.platform()},
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"max overhead {report['max_overhead_pct_of_step']:.4f}% of a step -> {args.out}")
    return report


if __name__ == "__main__":
    main()
