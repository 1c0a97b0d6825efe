"""Hydra entry point: ``python -m hybrid_sweep.run [-m] key=value ...``; ``train(cfg)`` does the work.

One job = resolve languages and batching (failing early on bad config), evaluate the untrained model
(cached per model and data), fine-tune with Lightning, evaluate again, write ``config.yaml`` and
``results.json`` into the job folder. A job folder that already holds ``results.json`` is skipped, so a
relaunched sweep only runs what is missing.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from hybrid_sweep import paths
from hybrid_sweep.batching import BatchStrategy, PairSpace, build_strategy, pairs_seen
from hybrid_sweep.data.protocols import ProtocolData, load_protocol, restrict_items
from hybrid_sweep.data.tatoeba import load_bitext
from hybrid_sweep.evaluation import (encode, evaluate, headline, read_results, stage_rows, write_evaluation,
                                     write_results)
from hybrid_sweep.languages import choose_train_languages

log = logging.getLogger("hybrid_sweep")
RESULTS_FILE = "results.json"
PAIRS_SEEN_FILE = "pairs_seen.csv"  # training pairs per (query_lang, passage_lang)


def quiet_libraries() -> None:
    """Keep job logs readable: Lightning's tips, summaries and known deprecation chatter off."""
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning", "faiss.loader",
                 "matplotlib", "matplotlib.font_manager"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class Plan:
    """Everything decided before any model is loaded, so config errors surface in seconds."""

    data: ProtocolData
    train_langs: tuple[str, ...]
    space: PairSpace
    sampler: BatchStrategy
    make_sampler: Callable[..., BatchStrategy]  # (rank=, world_size=) -> that rank's sampler, for DDP


def plan(cfg: DictConfig, rank: int = 0, world_size: int = 1) -> Plan:
    root = paths.data_root(cfg.paths.data_root)
    data = load_protocol(cfg.data.protocol, root, **OmegaConf.to_container(cfg.data, resolve=True))
    train_langs = choose_train_languages(cfg.langs, data.train_languages, cfg.train_langs, cfg.group, cfg.anchor)
    options = {k: v for k, v in OmegaConf.to_container(cfg.batching, resolve=True).items() if k != "name"}
    bitext = (load_bitext(root, options.get("bitext_langs", "untrained"), train_langs, data.eval_set.languages)
              if options.get("bitext_fraction", 0) > 0 else ())
    space = PairSpace(restrict_items(data.train_items, train_langs), train_langs, bitext)
    make_sampler = partial(build_strategy, cfg.batching.name, space, seed=cfg.seed, **options)
    return Plan(data, train_langs, space, make_sampler(rank=rank, world_size=world_size), make_sampler)


def world_size(trainer_cfg) -> int:
    devices = trainer_cfg.devices
    return len(devices) if isinstance(devices, (list, tuple)) or OmegaConf.is_list(devices) else int(devices)


def run_keys(cfg: DictConfig, plan_: Plan, job: str) -> dict:
    """The metadata on every result row: what aggregation groups and pivots by."""
    return {
        "sweep": cfg.sweep_name, "job": job, "model": cfg.model.label, "data": cfg.data.protocol,
        "eval_data": plan_.data.info.get("eval_data"), "langs": len(plan_.train_langs),
        "train_langs": ",".join(plan_.train_langs), "group": "explicit" if cfg.train_langs else cfg.group,
        "batching": cfg.batching.name, "alpha": cfg.batching.get("alpha"), "same_pair": cfg.batching.get("same_pair"),
        "lang_weights": str(cfg.batching.get("lang_weights")), "bitext_fraction": cfg.batching.get("bitext_fraction", 0.0),
        "bitext_langs": ",".join(sorted({b.lang for b in plan_.space.bitext})), "seed": cfg.seed,
        "steps": cfg.trainer.max_steps, "batch_size": cfg.batching.batch_size,
        "pairs_seen": cfg.trainer.max_steps * cfg.batching.batch_size * world_size(cfg.trainer),
    }


def evaluate_stage(cfg: DictConfig, model, plan_: Plan, stage: str):
    """Encode once and evaluate every setting. The untrained model's embeddings are cached by model state,
    so the jobs of a sweep after the first only re-score (seconds) for their zero-shot row."""
    rset = plan_.data.eval_set
    cache = cfg.eval.embedding_cache if stage == "zero_shot" else None
    log.info("%s: evaluating on %s (%d questions, %d candidates)", stage, rset.name, len(rset.questions),
             len(rset.candidates))
    return evaluate(rset, *encode(model, rset, cfg.eval.batch_size, cache))


def fit(cfg: DictConfig, model, plan_: Plan, output_dir: Path, logger) -> None:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from hybrid_sweep.module import BiEncoderModule, PairDataModule, StepLog

    t = cfg.trainer
    module = BiEncoderModule(model, lr=t.lr, weight_decay=t.weight_decay, warmup_steps=t.warmup_steps,
                             temperature=t.temperature, total_steps=t.max_steps,
                             gather_negatives=t.gather_negatives, grad_cache_chunk=t.grad_cache_chunk,
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


def train(cfg: DictConfig, output_dir: str | Path | None = None) -> dict:
    """Train and evaluate one configuration; returns the run keys and headline mAPs / language bias."""
    import pytorch_lightning as pl

    from hybrid_sweep.batching.plot import log_composition
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.tracking import finish, log_evaluation, log_summary, make_logger

    quiet_libraries()
    if output_dir is None:
        output_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    output_dir = Path(output_dir)
    results_path = output_dir / RESULTS_FILE
    if results_path.exists():
        rows = read_results(results_path)
        log.info("skip: %s already finished", output_dir)
        return {**rows[0], **headline(stage_rows(rows, "trained"))}

    plan_ = plan(cfg)
    output_dir.mkdir(parents=True, exist_ok=True)
    keys = run_keys(cfg, plan_, job=output_dir.name)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    pairs_seen(plan_.make_sampler, world_size(cfg.trainer), cfg.trainer.max_steps).to_csv(
        output_dir / PAIRS_SEEN_FILE, index=False)
    log.info("job %s: train_langs=%s batching=%s, %d training ids, %d steps x %d pairs", keys["job"],
             keys["train_langs"], keys["batching"], len(plan_.space.items), cfg.trainer.max_steps,
             cfg.batching.batch_size)

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_biencoder(cfg.model)
    evals = {"zero_shot": evaluate_stage(cfg, model, plan_, "zero_shot")} if cfg.eval.zero_shot else {}
    logger = make_logger(cfg.logger, output_dir, keys, resolved)
    try:
        log_composition(logger, plan_.sampler)
        started = time.perf_counter()
        fit(cfg, model, plan_, output_dir, logger)
        keys["train_seconds"] = round(time.perf_counter() - started, 1)
        evals["trained"] = evaluate_stage(cfg, model, plan_, "trained")
        stages = {stage: list(ev.rows) for stage, ev in evals.items()}
        summary = headline(stages["trained"])
        pngs = write_evaluation(output_dir, plan_.data.eval_set, evals, seen_langs=plan_.train_langs,
                                trec_depth=cfg.eval.trec_depth)
        log_summary(logger, {f"eval/{k}": v for k, v in summary.items()})
        log_evaluation(logger, pngs, stages["trained"])
    finally:
        finish(logger)
    write_results(results_path, stages, {**keys, **{f"data_{k}": v for k, v in plan_.data.info.items()
                                                    if not isinstance(v, list)}})
    shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    log.info("job %s done in %.0fs: %s", keys["job"], keys["train_seconds"],
             " ".join(f"{k}={v:.3f}" for k, v in summary.items()))
    return {**keys, **summary}


@hydra.main(config_path=str(paths.CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
