"""The LightningModule (loss, optimiser, schedule, logging) and the DataModule (pairs, sampler, collate)."""
from __future__ import annotations

import time

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import get_linear_schedule_with_warmup

from hybrid_sweep.batching import BatchStrategy, PairSpace
from hybrid_sweep.losses import in_batch_infonce
from hybrid_sweep.model import BiEncoder


class BiEncoderModule(pl.LightningModule):
    def __init__(self, model: BiEncoder, lr: float = 2e-5, weight_decay: float = 0.01, warmup_steps: int = 0,
                 temperature: float = 0.05, total_steps: int = 1):
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_steps = lr, weight_decay, warmup_steps
        self.temperature, self.total_steps = temperature, total_steps
        self._step_start = None

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        q = self.model(**batch["query"])
        p = self.model(**batch["passage"])
        loss = in_batch_infonce(q, p, self.temperature)
        bs = len(batch["mono"])
        self.log("train/loss", loss, prog_bar=True, batch_size=bs)
        self.log("train/mono_fraction", batch["mono"].float().mean(), batch_size=bs)
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0], batch_size=bs)
        return loss

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
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
        schedule = get_linear_schedule_with_warmup(optimizer, self.warmup_steps, max(self.total_steps, 1))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


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


class PairDataModule(pl.LightningDataModule):
    """Lightning calls ``set_epoch`` on the batch sampler each epoch, which reseeds it with ``seed + epoch``."""

    def __init__(self, space: PairSpace, sampler: BatchStrategy, model: BiEncoder, num_workers: int = 0):
        super().__init__()
        self.space, self.sampler, self.model, self.num_workers = space, sampler, model, num_workers

    def train_dataloader(self) -> DataLoader:
        return DataLoader(PairDataset(self.space), batch_sampler=self.sampler, collate_fn=PairCollate(self.model),
                          num_workers=self.num_workers)
