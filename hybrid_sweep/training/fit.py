"""Fine-tune a bi-encoder with Lightning on a plan's sampler, resuming from the job's last checkpoint."""
from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from hybrid_sweep import paths
from hybrid_sweep.training.plan import Plan

log = logging.getLogger("hybrid_sweep")


def resumable(last: Path) -> Path | None:
    """The job's last checkpoint if it loads; a damaged one (a job killed while writing it) is set aside in
    the job folder, named, and the job restarts from scratch rather than crashing on every relaunch."""
    if not last.exists():
        return None
    import torch

    try:
        torch.load(last, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated zip, bad pickle: whatever torch raises, the file cannot resume
        log.warning("checkpoint %s is unreadable (%s: %s); moved to %s, training from scratch", last,
                    type(exc).__name__, str(exc)[:120], paths.set_aside(last, into=last.parent.parent))
        return None
    log.info("resuming from %s", last)
    return last


def fit(cfg: DictConfig, model, plan_: Plan, output_dir: Path, logger, negatives=None) -> float:
    """Train for ``trainer.max_steps`` steps (each pair with its hard ``negatives``, if mined); returns the
    training seconds over every resumed segment."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from hybrid_sweep.training.callbacks import StepLog, TrainClock
    from hybrid_sweep.training.datamodule import PairDataModule
    from hybrid_sweep.training.module import BiEncoderModule

    t, opt, loss = cfg.trainer, cfg.optimizer, cfg.loss
    module = BiEncoderModule(model, lr=opt.lr, weight_decay=opt.weight_decay, warmup_steps=opt.warmup_steps,
                             temperature=loss.temperature, total_steps=t.max_steps,
                             gather_negatives=loss.gather_negatives, grad_cache_chunk=t.grad_cache_chunk,
                             length_bucket=t.length_bucket)
    ckpt_dir = output_dir / "checkpoints"
    clock = TrainClock()
    trainer = pl.Trainer(
        max_steps=t.max_steps, max_epochs=-1, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision,
        logger=logger if logger is not None else False, log_every_n_steps=t.log_every_n_steps,
        callbacks=[ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=t.checkpoint_every_n_steps,
                                   save_last=True, save_top_k=0), StepLog(t.log_every_n_steps, log), clock],
        enable_model_summary=False, enable_progress_bar=False, num_sanity_val_steps=0, use_distributed_sampler=False,
        default_root_dir=str(output_dir), deterministic="warn")
    model.train()  # from_pretrained() and evaluation leave the encoder in eval mode: train with dropout on
    last = resumable(ckpt_dir / "last.ckpt")
    data = PairDataModule(plan_.space, plan_.sampler, model, make_sampler=plan_.make_sampler, negatives=negatives)
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if last else None)
    if trainer.global_step < t.max_steps:  # never report a part-trained model as trained
        raise RuntimeError(f"training stopped at step {trainer.global_step} of trainer.max_steps={t.max_steps}")
    return clock.seconds
