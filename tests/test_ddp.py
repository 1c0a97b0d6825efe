"""Cross-device negatives on 2 CPU processes (gloo): the per-rank losses and DDP's averaged gradients equal the
single-process loss on the same global batch, with and without GradCache; each rank's sampler keeps its
slice of one global batch, so a mono step is one language across ranks."""
from __future__ import annotations

import functools
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from hybrid_sweep.batching import PairSpace, build_strategy
from hybrid_sweep.training.losses import in_batch_infonce
from hybrid_sweep.training.datamodule import PairDataModule
from hybrid_sweep.training.gradcache import cached_backward
from hybrid_sweep.training.module import BiEncoderModule

WORLD, LOCAL, TEMPERATURE = 2, 4, 0.05
TOL = dict(rtol=1e-5, atol=1e-6)
DEADLINE_S = 120  # the workers take ~5 s; past this a collective is stuck, and the test fails instead of hanging


class ToyEncoder(nn.Module):
    """Masked mean of token vectors, a linear map, L2 norm: a bi-encoder's shape without a model to load."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.tokens, self.proj = nn.Embedding(50, 8), nn.Linear(8, 6)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.tokens(input_ids) * mask).sum(1) / mask.sum(1)
        return nn.functional.normalize(self.proj(pooled), dim=-1)


HARD = 2  # hard negatives per pair


def global_batch() -> tuple[dict, dict, dict]:
    """WORLD x LOCAL tokenised pairs with ragged lengths (right padding), and HARD negatives per pair."""
    g = torch.Generator().manual_seed(1)

    def side(rows: int):
        lengths = torch.randint(2, 7, (rows,), generator=g)
        mask = (torch.arange(7) < lengths[:, None]).long()
        return {"input_ids": torch.randint(1, 50, (rows, 7), generator=g) * mask, "attention_mask": mask}
    return side(WORLD * LOCAL), side(WORLD * LOCAL), side(WORLD * LOCAL * HARD)


def shard(features: dict, rank: int) -> dict:
    rows = len(features["input_ids"]) // WORLD
    return {k: v[rank * rows:(rank + 1) * rows] for k, v in features.items()}


def reference(negatives: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One process, the whole global batch (every passage, then every hard negative): the loss and
    gradients DDP must reproduce."""
    model = ToyEncoder()
    q, p, n = global_batch()
    loss = in_batch_infonce(model(**q), model(**p), TEMPERATURE, negatives=model(**n) if negatives else None)
    loss.backward()
    return loss.detach(), {name: t.grad for name, t in model.named_parameters()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank: int, port: int) -> None:
    # a TCP store on loopback and gloo bound to lo: no shared file, no interface guessing from the hostname
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=DEADLINE_S // 2))
    try:
        torch.set_num_threads(1)
        check_rank(rank)
        # every DDP wrapper is freed on check_rank's return; a Reducer freed after destroy_process_group
        # (it was held by a local) hung 1 run in 7 here, in its destructor, so the group outlives them all
        dist.barrier()
    finally:
        dist.destroy_process_group()


def check_rank(rank: int) -> None:
    q, p, n = (shard(side, rank) for side in global_batch())

    def mean_over_ranks(x: torch.Tensor) -> torch.Tensor:
        x = x.detach().clone()
        dist.all_reduce(x)
        return x / WORLD

    for negatives in (False, True):
        expected_loss, expected_grads = reference(negatives)
        sides = [q, p, n] if negatives else [q, p]
        for cached in (False, True):
            model = DistributedDataParallel(ToyEncoder())
            module = BiEncoderModule(model, temperature=TEMPERATURE, gather_negatives=True)
            if cached:
                loss = cached_backward(lambda f: model(**f), sides, module.loss, chunk_size=3, no_sync=model.no_sync)
            else:
                loss = module.loss(*[model(**f) for f in sides])
                loss.backward()
            torch.testing.assert_close(mean_over_ranks(loss), expected_loss, **TOL)
            for name, param in model.module.named_parameters():
                torch.testing.assert_close(param.grad, expected_grads[name], **TOL,
                                           msg=f"{name} cached={cached} negatives={negatives}")
    expected_loss, _ = reference(False)

    # the flag off: each rank's own in-batch loss, no other rank's passages
    model = ToyEncoder()
    off = BiEncoderModule(model, temperature=TEMPERATURE, gather_negatives=False).loss(model(**q), model(**p))
    torch.testing.assert_close(off, in_batch_infonce(model(**q), model(**p), TEMPERATURE))
    assert not torch.allclose(mean_over_ranks(off), expected_loss)


def test_cross_device_loss_and_gradients_equal_the_global_batch(monkeypatch):
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    workers = mp.spawn(worker, args=(free_port(),), nprocs=WORLD, join=False)
    deadline = time.monotonic() + DEADLINE_S
    while not workers.join(timeout=5):  # raises with the worker's traceback if one fails
        if time.monotonic() > deadline:
            for process in workers.processes:
                process.kill()
            pytest.fail(f"the {WORLD} gloo workers did not finish in {DEADLINE_S} s")


def lightning_weights(cache_dir, space, world: int, grad_cache_chunk: int | None) -> dict[str, torch.Tensor]:
    """Four AdamW steps of the real stack (tiny model, dropout off) on mono batches of 8 pairs per global step."""
    import pytorch_lightning as pl
    from omegaconf import OmegaConf

    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.paths import CONFIG_DIR

    cfg = OmegaConf.load(CONFIG_DIR / "model" / "tiny.yaml")
    cfg.cache_dir = str(cache_dir / "models")
    model = build_biencoder(cfg)
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    make = functools.partial(build_strategy, "mono", space, batch_size=8 // world, seed=3)
    module = BiEncoderModule(model, lr=1e-3, warmup_steps=1, total_steps=4, grad_cache_chunk=grad_cache_chunk)
    trainer = pl.Trainer(max_steps=4, accelerator="cpu", devices=world, strategy="ddp_spawn" if world > 1 else "auto",
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, use_distributed_sampler=False)
    trainer.fit(module, datamodule=PairDataModule(space, make(rank=0, world_size=1), model, make_sampler=make))
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.slow
def test_lightning_ddp_trains_like_one_process_on_the_global_batch(cache_dir, xquad_split):
    """The whole stack under ``ddp_spawn`` (datamodule sharding, gathered negatives, GradCache's manual
    optimisation with DDP's no_sync) ends where one process training on the global batches ends."""
    space = PairSpace(xquad_split.train.items, ("en", "de", "zh"))
    single = lightning_weights(cache_dir, space, 1, None)
    for chunk in (None, 3):
        ddp = lightning_weights(cache_dir, space, WORLD, chunk)
        for name in single:
            torch.testing.assert_close(ddp[name], single[name], rtol=1e-5, atol=1e-5, msg=f"{name} chunk={chunk}")


def test_each_rank_keeps_its_slice_and_mono_steps_stay_one_language(xquad_split):
    space = PairSpace(xquad_split.train.items, ("en", "de", "zh"))
    make = functools.partial(build_strategy, "mono", space, batch_size=LOCAL, seed=3, batches_per_epoch=6)
    single = make(rank=0, world_size=1)
    ranks = []
    for rank in range(WORLD):
        dm = PairDataModule(space, single, model=None, make_sampler=make)
        dm.trainer = SimpleNamespace(global_rank=rank, world_size=WORLD)
        dm.setup("fit")
        assert (dm.sampler.rank, dm.sampler.world_size) == (rank, WORLD)
        ranks.append(list(dm.sampler))
    steps = list(zip(*ranks))
    assert len(steps) == 6
    for step in steps:
        pairs = [space.pair(i) for batch in step for i in batch]
        assert len(pairs) == WORLD * LOCAL
        assert len({(p.query_lang, p.passage_lang) for p in pairs}) == 1  # one language per global step
        assert len({p.qid for p in pairs}) == len(pairs)  # the ranks share no parallel id
    # a world of one needs no factory; a world of two without one fails clearly
    dm = PairDataModule(space, single, model=None)
    dm.trainer = SimpleNamespace(global_rank=0, world_size=1)
    dm.setup("fit")
    dm.trainer = SimpleNamespace(global_rank=1, world_size=2)
    with pytest.raises(ValueError, match="needs make_sampler"):
        dm.setup("fit")
