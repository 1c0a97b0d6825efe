"""What freezing the word embeddings buys: training seconds per step of me5_small with the embedding matrix
frozen (the CPU default) and trainable, on the same batches, at the rebuild's training length.

``python -m hybrid_sweep.bench.frozen_bench [--rounds 3] [--steps 3] [hydra overrides]`` writes
``experiments/benchmarks/frozen.json``. Blocks of ``--steps`` steps alternate between the two, the order
rotating every round, so load from elsewhere hits both alike; figures are medians over every timed step.
Each variant keeps its own model and optimizer across its blocks, as a job does. Run it alone.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from datetime import datetime, timezone

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result
from hybrid_sweep.bench.steps import step_seconds

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "frozen.json"
DEFAULTS = ["model=me5_small", "model.max_length=128", "langs=7", "heldout_langs=[el,th,tr,vi]",
            "batching=hybrid", "logger=none"]
VARIANTS = {"frozen": True, "trainable": False}


def bench(overrides: list[str], rounds: int, steps: int) -> dict:
    import torch
    from hydra import compose, initialize_config_dir

    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries, set_threads
    from hybrid_sweep.training.plan import plan

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[*DEFAULTS, *overrides])
    threads = set_threads(cfg.trainer.get("threads"))
    plan_ = plan(cfg)
    models, batches, seconds, trainable = {}, {}, {}, {}
    for name, freeze in VARIANTS.items():
        torch.manual_seed(cfg.seed)
        models[name] = build_biencoder({**cfg.model, "freeze_word_embeddings": freeze})
        trainable[name] = sum(p.numel() for p in models[name].parameters() if p.requires_grad)
        batches[name], seconds[name] = iter(plan_.sampler), []  # the same batch sequence for both
    names = list(VARIANTS)
    for r in range(rounds):
        for name in names[r % 2:] + names[:r % 2]:
            seconds[name] += step_seconds(cfg, models[name], plan_, None, steps, batches[name])
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m hybrid_sweep.bench.frozen_bench " + " ".join(overrides),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": threads, "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": cfg.model.label, "train_langs": list(plan_.train_langs), "batch_size": cfg.batching.batch_size,
        "max_length": cfg.model.max_length, "rounds": rounds, "steps_per_block": steps,
        "variants": {name: {"trainable_parameters": trainable[name], "median_seconds_per_step": round(m, 2),
                            "pairs_per_s": round(cfg.batching.batch_size / m, 2),
                            "step_seconds": [round(x, 2) for x in seconds[name]]} for name, m in medians.items()},
        "speedup_frozen_over_trainable": round(medians["trainable"] / medians["frozen"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. model=tiny")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per block (after one warm-up step)")
    args = parser.parse_args()
    result = bench(args.overrides, args.rounds, args.steps)
    write_result(OUT, result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
