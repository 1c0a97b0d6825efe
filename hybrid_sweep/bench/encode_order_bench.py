"""What batching by token count buys at evaluation: encoding seconds and padded tokens of the rebuild's
evaluation sets (XQuAD-R held out, SIB-200 ``stratified:40`` with 64 ids), untruncated, with batches formed in
order of characters (the earlier ``BiEncoder.encode``) and of tokens (the current one), and the largest
embedding difference between the two. Each is timed twice, once before and once after the other, after a
warm-up encode (the first version of this bench ran the old order first).

``python -m hybrid_sweep.bench.encode_order_bench [hydra overrides]`` writes
``experiments/benchmarks/encode_order.json``. Run it alone.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "encode_order.json"
DEFAULTS = ["model=me5_small", "+experiment=rebuild", "langs=1"]


def padded_tokens(lengths: list[int], order: list[int], batch_size: int) -> int:
    return sum(max(lengths[i] for i in order[s:s + batch_size]) * len(order[s:s + batch_size])
               for s in range(0, len(order), batch_size))


def by_characters(model, texts: list[str], role: str, batch_size: int, max_length: int):
    """The baseline: batches in order of characters, as ``BiEncoder.encode`` formed them before."""
    import numpy as np
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), model.encoder.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = model(**model.tokenize([texts[i] for i in idx], role, max_length)).numpy()
    return out, order


def bench(overrides: list[str]) -> dict:
    import numpy as np
    import torch
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.data.protocols import load_data
    from hybrid_sweep.evaluation.lengths import eval_lengths
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries, set_threads

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[*DEFAULTS, *overrides])
    threads = set_threads(cfg.trainer.get("threads"))
    plan = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True),
                     paths.data_root(cfg.paths.data_root))
    model = build_biencoder(cfg.model).eval()
    limit = eval_lengths(model, None)
    bs = cfg.eval.batch_size
    model.encode([c.text for c in plan.eval_set.candidates[:bs]], "passage", bs)  # warm-up, not timed
    parts = {}
    for name, ev in plan.evals.items():
        sides = {"questions": ("query", [q.text for q in ev.rset.questions])}
        if ev.rset.task != "translation":  # a translation set's candidates are its questions' sentences
            sides["candidates"] = ("passage", [c.text for c in ev.rset.candidates])
        for side, (role, texts) in sides.items():
            texts = list(dict.fromkeys(texts))
            lengths = [min(n, limit[role]) for n in model.token_lengths(texts, role)]
            seconds = {"chars": [], "tokens": []}
            for first in ("chars", "tokens"):  # both orders, so neither pays for running first
                for variant in (first, "tokens" if first == "chars" else "chars"):
                    start = time.perf_counter()
                    if variant == "chars":
                        old, char_order = by_characters(model, texts, role, bs, limit[role])
                    else:
                        new = model.encode(texts, role, bs, max_length=limit[role])
                    seconds[variant].append(time.perf_counter() - start)
            t_old, t_new = (sum(seconds[v]) / 2 for v in ("chars", "tokens"))
            token_order = sorted(range(len(texts)), key=lambda i: (lengths[i], len(texts[i])))
            parts[f"{name}.{side}"] = {
                "texts": len(texts), "tokens": sum(lengths),
                "padded_tokens": {"by_characters": padded_tokens(lengths, char_order, bs),
                                  "by_tokens": padded_tokens(lengths, token_order, bs)},
                "seconds": {"by_characters": round(t_old, 1), "by_tokens": round(t_new, 1)},
                "speedup": round(t_old / t_new, 2),
                "max_abs_embedding_difference": float(np.abs(old - new).max()),
            }
            print(name, side, parts[f"{name}.{side}"], flush=True)
    total_old = sum(p["seconds"]["by_characters"] for p in parts.values())
    total_new = sum(p["seconds"]["by_tokens"] for p in parts.values())
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": threads, "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": cfg.model.label, "batch_size": bs, "max_length": limit, "overrides": [*DEFAULTS, *overrides],
        "sets": parts, "total_seconds": {"by_characters": round(total_old, 1), "by_tokens": round(total_new, 1)},
        "speedup": round(total_old / total_new, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. data.eval.sib200.max_ids=null")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = bench(args.overrides)
    write_result(args.out, result)
    print(json.dumps({k: result[k] for k in ("total_seconds", "speedup")}))


if __name__ == "__main__":
    main()
