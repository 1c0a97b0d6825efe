"""Lightning callbacks of a training job."""
from __future__ import annotations

import time

import pytorch_lightning as pl


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
