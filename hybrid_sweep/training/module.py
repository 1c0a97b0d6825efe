"""The LightningModule: in-batch contrastive loss, optimiser and schedule, per-step logging."""
from __future__ import annotations

import contextlib
import time

import pytorch_lightning as pl
import torch
from transformers import get_linear_schedule_with_warmup

from hybrid_sweep.model import BiEncoder
from hybrid_sweep.training.gradcache import Features, cached_backward
from hybrid_sweep.training.losses import cross_device_infonce, in_batch_infonce


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

    def loss(self, queries: torch.Tensor, passages: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
        """The contrastive loss in float32 even under autocast: at temperature 0.05 a bf16 logit is off by ~0.1.
        ``negatives``: the batch's hard negatives, scored by every query beside the in-batch passages."""
        with torch.autocast(queries.device.type, enabled=False):
            queries, passages = queries.float(), passages.float()
            negatives = None if negatives is None else negatives.float()
            if self.gather_negatives:
                return cross_device_infonce(queries, passages, self.temperature, negatives)
            return in_batch_infonce(queries, passages, self.temperature, negatives=negatives)

    def encode(self, features: Features) -> torch.Tensor:
        return self.model.embed(features, self.length_bucket)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        bs = len(batch["mono"])
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0], batch_size=bs)
        sides = [batch["query"], batch["passage"]] + ([batch["negative"]] if "negative" in batch else [])
        if self.automatic_optimization:
            loss = self.loss(*[self.encode(features) for features in sides])
        else:
            optimizer, schedule = self.optimizers(), self.lr_schedulers()
            optimizer.zero_grad()
            loss = cached_backward(self.encode, sides, self.loss, self.grad_cache_chunk,
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
