"""Hydra entry point: ``python -m hybrid_sweep.run [-m] key=value ...``; ``train(cfg)`` does the work.

One job = plan languages, data and batching (failing early on bad config), evaluate the untrained model on
every evaluation set (cached per model and data), fine-tune with Lightning, evaluate again, write
``config.yaml`` and ``results.json`` into the job folder. A job folder that already holds ``results.json``
is skipped, so a relaunched sweep only runs what is missing.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from hybrid_sweep import paths
from hybrid_sweep.batching import pairs_seen
from hybrid_sweep.evaluation import encode, evaluate, headline, read_results, stage_rows, write_evaluation, write_results
from hybrid_sweep.evaluation.export import set_dir
from hybrid_sweep.evaluation.lengths import eval_lengths, set_columns
from hybrid_sweep.model.saving import MODEL_DIR, save_trained, weights_hash
from hybrid_sweep.negatives import mine_negatives
from hybrid_sweep.evaluation.results import UnreadableResults
from hybrid_sweep.runtime import process_rank, quiet_libraries, set_threads
from hybrid_sweep.schema import cli_guard
from hybrid_sweep.training.plan import Plan, plan, run_keys, world_size

log = logging.getLogger("hybrid_sweep")
RESULTS_FILE = "results.json"
PAIRS_SEEN_FILE = "pairs_seen.csv"  # training pairs per (query_lang, passage_lang)


def evaluate_stage(cfg: DictConfig, model, plan_: Plan, stage: str, timings: dict) -> dict:
    """Encode once and evaluate every setting of every evaluation set, adding encode and score seconds to
    ``timings``. The untrained model's embeddings are cached by model state, so the jobs of a sweep after
    the first only re-score (seconds) for their zero-shot row."""
    cache = cfg.eval.embedding_cache if stage == "zero_shot" else None
    out = {}
    for name, ev in plan_.data.evals.items():
        rset = ev.rset
        log.info("%s: evaluating on %s (%d questions, %d candidates)", stage, name, len(rset.questions),
                 len(rset.candidates))
        started = time.perf_counter()
        embeddings = encode(model, rset, cfg.eval.batch_size, cache, cfg.eval.max_length, cfg.eval.precision)
        encoded = time.perf_counter()
        out[name] = evaluate(rset, *embeddings)
        timings[f"{stage}_encode_seconds"] = round(timings.get(f"{stage}_encode_seconds", 0) + encoded - started, 1)
        timings[f"{stage}_score_seconds"] = round(timings.get(f"{stage}_score_seconds", 0)
                                                  + time.perf_counter() - encoded, 1)
    return out


def finished(output_dir: Path, heal: bool = True) -> dict | None:
    """The run keys and headline numbers of a job that already finished, or ``None`` if it must run.

    With ``heal`` (the job's main process), a damaged ``results.json`` is set aside
    (``results.json.corrupt-<time>``) and the job reruns, and a job killed between writing its results
    and removing its checkpoints has them removed now."""
    path = output_dir / RESULTS_FILE
    if not path.exists():
        return None
    try:
        rows = read_results(path)
    except UnreadableResults as exc:
        if heal:
            log.warning("%s; moved to %s, rerunning the job", exc, paths.set_aside(path).name)
        return None
    if heal:
        shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    log.info("skip: %s already finished", output_dir)
    return {**rows[0], **headline(stage_rows(rows, "trained", rows[0]["eval_data"]))}


@contextlib.contextmanager
def job_lock(output_dir: Path):
    """One process per job folder: a second launcher of the same sweep (or a requeued Slurm task) waits for
    the job in progress, then finds it finished and skips it, instead of training it again."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(output_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("%s is running in another process; waiting for it", output_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def train(cfg: DictConfig, output_dir: str | Path | None = None) -> dict:
    """Train and evaluate one configuration; returns the run keys and headline mAPs / language bias."""
    quiet_libraries()
    if output_dir is None:
        output_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    main_process = process_rank() == 0  # DDP ranks > 0 run this too, while rank 0 holds the lock
    with job_lock(output_dir) if main_process else contextlib.nullcontext():
        done = finished(output_dir, heal=main_process)
        if done is not None:
            return done
        try:
            return _train(cfg, output_dir)
        except (KeyboardInterrupt, SystemExit):  # Lightning turns Ctrl-C during fit into sys.exit(1)
            last = output_dir / "checkpoints" / "last.ckpt"
            log.error("interrupted: %s is unfinished. Relaunch the same command to resume: finished jobs are "
                      "skipped and this one restarts from %s", output_dir,
                      last if last.exists() else "scratch (no checkpoint yet)")
            raise


def _train(cfg: DictConfig, output_dir: Path) -> dict:
    import pytorch_lightning as pl

    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.tracking import finish, log_composition, log_evaluation, log_summary, make_logger
    from hybrid_sweep.training.fit import fit

    plan_ = plan(cfg)
    keys = run_keys(cfg, plan_, job=output_dir.name)
    keys["threads"] = set_threads(cfg.trainer.get("threads"))
    resolved = OmegaConf.to_container(cfg, resolve=True)
    (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    pairs_seen(plan_.make_sampler, world_size(cfg.trainer), cfg.trainer.max_steps).to_csv(
        output_dir / PAIRS_SEEN_FILE, index=False)
    log.info("job %s: train_langs=%s batching=%s, %d training ids, %d steps x %d pairs, %d threads", keys["job"],
             keys["train_langs"], keys["batching"], len(plan_.space.items), cfg.trainer.max_steps,
             cfg.batching.batch_size, keys["threads"])

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_biencoder(cfg.model)
    negatives, keys["mining_seconds"] = mine_negatives(OmegaConf.to_container(cfg.negatives, resolve=True), plan_.space,
                                                       cfg.seed, model, cfg.paths.cache_dir)
    if negatives is not None:
        pairs_seen(plan_.make_sampler, world_size(cfg.trainer), cfg.trainer.max_steps, negatives).to_csv(
            output_dir / PAIRS_SEEN_FILE, index=False)
    base_hash = weights_hash(model.encoder.state_dict()) if cfg.model.get("save", False) else None
    lengths = eval_lengths(model, cfg.eval.max_length)
    set_info = {name: set_columns(model, ev.rset, lengths, cfg.eval.precision)
                for name, ev in plan_.data.evals.items()}
    timings: dict[str, float] = {}
    logger = make_logger(cfg.logger, output_dir, keys, resolved)  # an unreachable W&B shows before any work
    try:
        evals = {"zero_shot": evaluate_stage(cfg, model, plan_, "zero_shot", timings)} if cfg.eval.zero_shot else {}
        log_composition(logger, plan_.sampler, negatives=negatives)
        keys["train_seconds"] = round(fit(cfg, model, plan_, output_dir, logger, negatives), 1)
        evals["trained"] = evaluate_stage(cfg, model, plan_, "trained", timings)
        keys.update(timings)
        rows = {(stage, name): list(ev.rows) for stage, by_set in evals.items() for name, ev in by_set.items()}
        summary = headline(rows[("trained", keys["eval_data"])])
        pngs = []
        for i, (name, ev) in enumerate(plan_.data.evals.items()):
            pngs += write_evaluation(set_dir(output_dir, name, headline=i == 0), ev.rset, {stage: by_set[name] for stage, by_set in evals.items()},
                                     seen_langs=plan_.train_langs, trec_depth=cfg.eval.trec_depth)
        log_summary(logger, {f"eval/{k}": v for k, v in summary.items()})
        log_evaluation(logger, pngs, rows[("trained", keys["eval_data"])])
    finally:
        finish(logger)
    if base_hash is not None:  # before results.json, which marks the job finished
        saved = save_trained(model, OmegaConf.to_container(cfg.model, resolve=True), base_hash, output_dir / MODEL_DIR)
        keys["model_saved_mb"] = round(sum(p.stat().st_size for p in saved.iterdir()) / 2**20, 1)
    write_results(output_dir / RESULTS_FILE, rows, {**keys, **{f"data_{k}": v for k, v in plan_.data.info.items()
                                                  if not isinstance(v, list)}}, set_info)
    shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    log.info("job %s done: train %.0fs, encode %.0fs, score %.0fs: %s", keys["job"], keys["train_seconds"],
             sum(v for k, v in timings.items() if k.endswith("encode_seconds")),
             sum(v for k, v in timings.items() if k.endswith("score_seconds")),
             " ".join(f"{k}={v:.3f}" for k, v in summary.items()))
    return {**keys, **summary}


@hydra.main(config_path=str(paths.CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    import sys

    cli_guard(sys.argv[1:])
    main()
