"""Timing optimizer steps the way a job takes them (its module, collate and batches), for the benches."""
from __future__ import annotations

import time


def step_seconds(cfg, model, plan_, negatives, steps: int, batches=None) -> list[float]:
    """Seconds of each of ``steps`` optimizer steps after one warm-up step (which pays one-off allocations);
    ``batches``: an iterator of index batches to continue (default: a fresh pass of the plan's sampler)."""
    import torch

    from hybrid_sweep.training.datamodule import PairCollate, PairDataset
    from hybrid_sweep.training.module import BiEncoderModule

    module = BiEncoderModule(model, lr=cfg.optimizer.lr, temperature=cfg.loss.temperature, total_steps=steps + 1,
                             gather_negatives=False, length_bucket=cfg.trainer.length_bucket)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.optimizer.lr)
    dataset, collate = PairDataset(plan_.space, negatives), PairCollate(model)
    batches = batches if batches is not None else iter(plan_.sampler)
    model.train()
    seconds = []
    for step in range(steps + 1):
        batch = collate([dataset[i] for i in next(batches)])
        started = time.perf_counter()
        sides = [batch["query"], batch["passage"]] + ([batch["negative"]] if "negative" in batch else [])
        loss = module.loss(*[module.encode(features) for features in sides])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            seconds.append(time.perf_counter() - started)
    return seconds
