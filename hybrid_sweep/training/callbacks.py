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


class TrainClock(pl.Callback):
    """Training seconds summed over every segment of a resumed job: the total is saved in each checkpoint,
    so ``train_seconds`` after a resume counts the work before the interruption too (up to its checkpoint)."""

    def __init__(self):
        self.before, self.started = 0.0, None

    @property
    def seconds(self) -> float:
        return self.before + (time.perf_counter() - self.started if self.started is not None else 0.0)

    def on_train_start(self, trainer, module):
        self.started = time.perf_counter()

    def state_dict(self) -> dict:
        return {"seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.before = float(state.get("seconds", 0.0))
