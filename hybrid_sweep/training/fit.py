"""Fine-tune a bi-encoder with Lightning on a plan's sampler, resuming from the job's last checkpoint."""
from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from hybrid_sweep.training.plan import Plan

log = logging.getLogger("hybrid_sweep")


def fit(cfg: DictConfig, model, plan_: Plan, output_dir: Path, logger) -> None:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from hybrid_sweep.training.callbacks import StepLog
    from hybrid_sweep.training.datamodule import PairDataModule
    from hybrid_sweep.training.module import BiEncoderModule

    t, opt, loss = cfg.trainer, cfg.optimizer, cfg.loss
    module = BiEncoderModule(model, lr=opt.lr, weight_decay=opt.weight_decay, warmup_steps=opt.warmup_steps,
                             temperature=loss.temperature, total_steps=t.max_steps,
                             gather_negatives=loss.gather_negatives, grad_cache_chunk=t.grad_cache_chunk,
                             length_bucket=t.length_bucket)
    ckpt_dir = output_dir / "checkpoints"
    trainer = pl.Trainer(
        max_steps=t.max_steps, max_epochs=-1, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision,
        logger=logger if logger is not None else False, log_every_n_steps=t.log_every_n_steps,
        callbacks=[ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=t.checkpoint_every_n_steps,
                                   save_last=True, save_top_k=0), StepLog(t.log_every_n_steps, log)],
        enable_model_summary=False, enable_progress_bar=False, num_sanity_val_steps=0, use_distributed_sampler=False,
        default_root_dir=str(output_dir), deterministic="warn")
    model.train()  # from_pretrained() and evaluation leave the encoder in eval mode: train with dropout on
    last = ckpt_dir / "last.ckpt"
    if last.exists():
        log.info("resuming from %s", last)
    trainer.fit(module, datamodule=PairDataModule(plan_.space, plan_.sampler, model, make_sampler=plan_.make_sampler),
                ckpt_path=str(last) if last.exists() else None)
