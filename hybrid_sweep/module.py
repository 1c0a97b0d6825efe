"""The LightningModule (loss, optimiser, schedule, logging) and the DataModule (pairs, sampler, collate)."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import get_linear_schedule_with_warmup

from hybrid_sweep.batching import BatchStrategy, PairSpace
from hybrid_sweep.losses import cross_device_infonce, in_batch_infonce
from hybrid_sweep.model import BiEncoder, length_chunks

Features = dict[str, torch.Tensor]
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class BiEncoderModule(pl.LightningModule):
    """In-batch contrastive training of a bi-encoder.

    ``gather_negatives``: under DDP each query also sees every other rank's passages (the global batch's
    negatives); off, each rank's batch is its own. ``grad_cache_chunk``: GradCache (see
    :func:`cached_backward`): activation memory is that of one chunk of this many rows whatever the batch
    size; it needs manual optimisation (still one optimizer and scheduler step per batch).
    ``length_bucket``: encode each side in length-sorted chunks of this many rows (:meth:`BiEncoder.embed`).
    """

    def __init__(self, model: BiEncoder, lr: float = 2e-5, weight_decay: float = 0.01, warmup_steps: int = 0,
                 temperature: float = 0.05, total_steps: int = 1, gather_negatives: bool = True,
                 grad_cache_chunk: int | None = None, length_bucket: int | None = None):
        super().__init__()
        for key, value in (("grad_cache_chunk", grad_cache_chunk), ("length_bucket", length_bucket)):
            if value is not None and value < 1:
                raise ValueError(f"trainer.{key} must be a positive number of rows or null, got {value}")
        self.model = model
        self.lr, self.weight_decay, self.warmup_steps = lr, weight_decay, warmup_steps
        self.temperature, self.total_steps = temperature, total_steps
        self.gather_negatives, self.grad_cache_chunk, self.length_bucket = gather_negatives, grad_cache_chunk, length_bucket
        self.automatic_optimization = grad_cache_chunk is None
        self._step_start = None

    def loss(self, queries: torch.Tensor, passages: torch.Tensor) -> torch.Tensor:
        """The contrastive loss in float32 even under autocast: at temperature 0.05 a bf16 logit is off by ~0.1."""
        with torch.autocast(queries.device.type, enabled=False):
            queries, passages = queries.float(), passages.float()
            if self.gather_negatives:
                return cross_device_infonce(queries, passages, self.temperature)
            return in_batch_infonce(queries, passages, self.temperature)

    def encode(self, features: Features) -> torch.Tensor:
        return self.model.embed(features, self.length_bucket)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        bs = len(batch["mono"])
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0], batch_size=bs)
        if self.automatic_optimization:
            loss = self.loss(self.encode(batch["query"]), self.encode(batch["passage"]))
        else:
            optimizer, schedule = self.optimizers(), self.lr_schedulers()
            optimizer.zero_grad()
            loss = cached_backward(self.encode, batch["query"], batch["passage"], self.loss, self.grad_cache_chunk,
                                   backward=self.manual_backward,
                                   no_sync=getattr(self.trainer.strategy, "block_backward_sync", contextlib.nullcontext))
            optimizer.step()
            schedule.step()
        # each rank scores only its own queries: the global-batch loss is the mean over ranks
        self.log("train/loss", loss, prog_bar=True, batch_size=bs, sync_dist=True)
        self.log("train/mono_fraction", batch["mono"].float().mean(), batch_size=bs)
        return loss

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # dropout masks after a resume must match an uninterrupted run
        checkpoint["torch_rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])

    def on_train_batch_start(self, batch, batch_idx):
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.log("train/step_time_s", time.perf_counter() - self._step_start, batch_size=len(batch["mono"]))

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
        # fused: one kernel for all tensors; on CPU it steps me5_small's 21M trainable weights ~5x faster than
        # foreach (experiments/benchmarks/train.json), and it is the sentence-transformers trainer's default
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=self.lr,
                                      fused=self.device.type in ("cpu", "cuda"))
        schedule = get_linear_schedule_with_warmup(optimizer, self.warmup_steps, max(self.total_steps, 1))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def _rng_state(device: torch.device) -> tuple:
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _set_rng_state(state: tuple, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def cached_backward(encode: Callable[[Features], torch.Tensor], queries: Features, passages: Features, loss_fn: Loss,
                    chunk_size: int, backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
                    no_sync: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> torch.Tensor:
    """GradCache (Gao et al. 2021): accumulate into ``.grad`` the parameter gradients of ``loss_fn`` over the
    whole batch while holding the activations of only one chunk of ``chunk_size`` rows; returns the loss.

    1. every chunk is encoded without a graph (embeddings are small; activations are not kept);
    2. the loss over the full batch and its gradient w.r.t. the embeddings (the only step that sees all rows);
    3. each chunk is encoded again with a graph and ``backward(sum(emb * d loss / d emb))`` — by the chain
       rule, the parameter gradient of the full-batch loss, chunk by chunk.
    Dropout: each chunk's RNG state is saved before step 1 and restored for step 3, so the re-forward draws
    the same masks and step 3 differentiates exactly the loss of step 2; afterwards the RNG continues from
    where step 1 left it. ``backward`` lets Lightning scale/hook it; ``no_sync`` (DDP's) keeps every chunk but
    the last from all-reducing gradients. Chunks are length-sorted and trimmed, as in :meth:`BiEncoder.embed`.
    """
    chunks = [(side, rows, chunk) for side, features in enumerate((queries, passages))
              for rows, chunk in length_chunks(features, chunk_size)]
    device = queries["input_ids"].device
    states, embedded = [], [[], []]
    with torch.no_grad():
        for side, rows, chunk in chunks:
            states.append(_rng_state(device))
            embedded[side].append(encode(chunk))
    after = _rng_state(device)
    sides = []
    for side in (0, 1):
        rows = torch.cat([r for s, r, _ in chunks if s == side])
        sides.append(torch.cat(embedded[side])[torch.argsort(rows)].requires_grad_())
    loss = loss_fn(*sides)
    grads = torch.autograd.grad(loss, sides)
    for i, ((side, rows, chunk), state) in enumerate(zip(chunks, states)):
        _set_rng_state(state, device)
        with no_sync() if i < len(chunks) - 1 else contextlib.nullcontext():
            backward((encode(chunk) * grads[side][rows]).sum())
    _set_rng_state(after, device)
    return loss.detach()


class StepLog(pl.Callback):
    """Plain progress lines (step, loss, s/step, ETA) that stay readable in log files and CI output."""

    def __init__(self, every: int, logger):
        self.every, self.logger, self.started = max(every, 1), logger, None

    def on_train_start(self, trainer, module):
        self.started = time.perf_counter()
        self.first_step = trainer.global_step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        step, total = trainer.global_step, trainer.max_steps
        if step % self.every == 0 or step == total:
            per_step = (time.perf_counter() - self.started) / max(step - self.first_step, 1)
            self.logger.info("train step %d/%d  loss %.4f  %.1f s/step  eta %.0fs", step, total,
                          float(outputs["loss"]), per_step, per_step * (total - step))


class PairDataset(Dataset):
    def __init__(self, space: PairSpace):
        self.space = space

    def __len__(self) -> int:
        return len(self.space)

    def __getitem__(self, index: int):
        return self.space.pair(index)


class PairCollate:
    """Tokenises a batch of pairs with the model's prefixes (dynamic padding to the batch's longest)."""

    def __init__(self, model: BiEncoder):
        self.model = model

    def __call__(self, pairs) -> dict:
        return {
            "query": self.model.tokenize([p.query for p in pairs], "query"),
            "passage": self.model.tokenize([p.passage for p in pairs], "passage"),
            "mono": torch.tensor([p.query_lang == p.passage_lang for p in pairs]),
        }


class ResumableLoader(DataLoader):
    """A DataLoader Lightning checkpoints (it is ``_Stateful``): on resume mid-epoch, the batch sampler
    skips the batches already trained, so the resumed run sees exactly the batches of an uninterrupted one."""

    def __init__(self, *args, batches_done: Callable[[], int], **kwargs):
        super().__init__(*args, **kwargs)
        self.batches_done = batches_done

    def state_dict(self) -> dict:
        return {"epoch": self.batch_sampler.epoch, "batches_done": self.batches_done()}

    def load_state_dict(self, state: dict) -> None:
        self.batch_sampler.resume(state["epoch"], state["batches_done"])


class PairDataModule(pl.LightningDataModule):
    """Lightning calls ``set_epoch`` on the batch sampler each epoch, which reseeds it from ``(seed, epoch)``.

    Under DDP every rank must keep its own slice of each global batch, and the ranks are known only once
    the process group exists: ``setup`` then builds this rank's sampler with
    ``make_sampler(rank=, world_size=)`` (e.g. ``functools.partial(build_strategy, name, space, ...)``);
    ``sampler`` serves a single process.
    """

    def __init__(self, space: PairSpace, sampler: BatchStrategy, model: BiEncoder, num_workers: int = 0,
                 make_sampler: Callable[..., BatchStrategy] | None = None):
        super().__init__()
        self.space, self.sampler, self.model, self.num_workers = space, sampler, model, num_workers
        self.make_sampler = make_sampler

    def setup(self, stage: str) -> None:
        rank, world = self.trainer.global_rank, self.trainer.world_size
        if (self.sampler.rank, self.sampler.world_size) == (rank, world):
            return
        if self.make_sampler is None:
            raise ValueError(f"training on {world} processes: PairDataModule needs make_sampler to give each "
                             f"rank its slice of the global batch (its sampler is for rank {self.sampler.rank} "
                             f"of {self.sampler.world_size})")
        self.sampler = self.make_sampler(rank=rank, world_size=world)

    def train_dataloader(self) -> DataLoader:
        loop = self.trainer.fit_loop.epoch_loop
        return ResumableLoader(PairDataset(self.space), batch_sampler=self.sampler, collate_fn=PairCollate(self.model),
                               num_workers=self.num_workers, batches_done=lambda: loop.batch_progress.current.processed,
                               # its own generator: creating an iterator must not draw from the global RNG that
                               # drives dropout, or a resumed run would diverge from an uninterrupted one
                               generator=torch.Generator().manual_seed(0))
