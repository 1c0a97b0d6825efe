"""Cost of hard negatives: mining seconds per miner, and training pairs/s with k = 0 (in-batch only), 1 and 3
hard negatives per pair, on the same model, data, batches and lengths.

``python -m hybrid_sweep.bench.negatives_bench [hydra overrides]`` (default ``model=me5_small``, 2 training
languages so the model miner's encoding stays minutes) writes ``experiments/benchmarks/negatives.json``.
Nothing is cached: every mining and step is timed. Run it alone: anything else on the cores skews it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result
from hybrid_sweep.bench.steps import step_seconds

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "negatives.json"
DEFAULTS = ["model=me5_small", "train_langs=[de,en]", "langs=null", "batching=hybrid", "logger=none"]
MINER_NAMES = ("paragraph", "bm25", "model")


def train_rate(cfg, model, plan_, negatives, steps: int) -> dict:
    """Pairs/s of ``steps`` optimizer steps after one warm-up, with the job's module, collate and batches."""
    seconds = step_seconds(cfg, model, plan_, negatives, steps)
    per_step = sum(seconds) / len(seconds)
    return {"k": negatives.k if negatives else 0, "seconds_per_step": round(per_step, 2),
            "pairs_per_s": round(cfg.batching.batch_size / per_step, 2),
            "texts_per_step": cfg.batching.batch_size * (2 + (negatives.k if negatives else 0))}


def bench(overrides: list[str], steps: int) -> dict:
    import copy

    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.negatives import mine_negatives
    from hybrid_sweep.runtime import quiet_libraries, set_threads
    from hybrid_sweep.training.plan import plan

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[*DEFAULTS, *overrides])
        settings = {name: OmegaConf.to_container(compose("config", overrides=[f"negatives={name}"]).negatives)
                    for name in MINER_NAMES}
    threads = set_threads(cfg.trainer.get("threads"))
    plan_ = plan(cfg)
    base = build_biencoder(cfg.model)
    mining = {}
    for name in MINER_NAMES:
        negatives, seconds = mine_negatives(settings[name], plan_.space, cfg.seed, base)
        mining[name] = {"seconds": round(seconds, 1), "ids_x_languages": len(negatives.texts)}
    rates = []
    for k in (0, 1, 3):
        negatives = (mine_negatives({**settings["bm25"], "per_pair": k}, plan_.space, cfg.seed)[0] if k else None)
        rates.append(train_rate(cfg, copy.deepcopy(base), plan_, negatives, steps))
    for r in rates:
        r["relative_to_k0"] = round(r["pairs_per_s"] / rates[0]["pairs_per_s"], 2)
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m hybrid_sweep.bench.negatives_bench " + " ".join(overrides),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": threads, "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": cfg.model.label, "train_langs": list(plan_.train_langs), "training_ids": len(plan_.space.items),
        "batch_size": cfg.batching.batch_size, "max_length": cfg.model.max_length, "steps_timed": steps,
        "mining": mining, "training": rates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. model=tiny")
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps per k")
    args = parser.parse_args()
    result = bench(args.overrides, args.steps)
    write_result(OUT, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
