"""W&B as a side channel: one run per job, grouped by sweep, offline unless an API key is set."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("hybrid_sweep")


def wandb_mode(requested: str) -> str:
    """The W&B mode of a job. The environment wins (``WANDB_DISABLED=true``, ``WANDB_MODE=offline|disabled``),
    so a set API key never forces a job online; ``auto`` is online only when WANDB_API_KEY is present and
    never prompts for a login."""
    if requested not in ("auto", "offline", "online", "disabled"):
        raise ValueError(f"logger.mode={requested!r}: use auto, offline, online or disabled")
    if os.environ.get("WANDB_DISABLED", "").lower() in ("1", "true", "yes"):
        return "disabled"
    if os.environ.get("WANDB_MODE") in ("offline", "disabled", "dryrun"):
        return "disabled" if os.environ["WANDB_MODE"] == "disabled" else "offline"
    if requested != "auto":
        return requested
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


INIT_TIMEOUT_S = "30"  # WANDB_INIT_TIMEOUT unless set: an unreachable server costs at most this, once


def make_logger(cfg, output_dir: Path, run_keys: dict, config: dict):
    """A Lightning ``WandbLogger`` for this job, or ``None`` for ``logger=none``. An online run connects here,
    before training: if W&B cannot be reached or refuses the key, the job logs offline (``wandb sync`` uploads
    it later) and says so once, rather than failing after its zero-shot evaluation."""
    if cfg.name == "none":
        return None
    if cfg.name != "wandb":
        raise ValueError(f"logger={cfg.name!r} is unknown; use wandb or none")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_INIT_TIMEOUT", INIT_TIMEOUT_S)
    mode = wandb_mode(cfg.mode)
    logger = _wandb_logger(cfg, output_dir, run_keys, config, mode)
    if mode == "online":
        import wandb

        try:
            logger.experiment  # noqa: B018 - connects now
        except Exception as exc:  # AuthenticationError, CommError, timeouts: whatever wandb raises offline
            log.warning("W&B is unreachable (%s: %s); this job logs offline under %s/wandb, upload it later with "
                        "`wandb sync`", type(exc).__name__, str(exc).splitlines()[0][:160] if str(exc) else "",
                        output_dir)
            wandb.finish()
            logger = _wandb_logger(cfg, output_dir, run_keys, config, "offline")
    return logger


def _wandb_logger(cfg, output_dir: Path, run_keys: dict, config: dict, mode: str):
    from pytorch_lightning.loggers import WandbLogger

    logger = WandbLogger(
        project=cfg.project, group=run_keys["sweep"], name=run_keys["job"], job_type=run_keys["batching"],
        tags=[f"langs={run_keys['langs']}", f"batching={run_keys['batching']}", f"group={run_keys['group']}",
              f"model={run_keys['model']}"],
        config={**config, "run": run_keys}, save_dir=str(output_dir), mode=mode)
    logger._wandb_init.pop("anonymous", None)  # Lightning always passes it; wandb warns that it does nothing
    return logger


def log_summary(logger, summary: dict[str, float]) -> None:
    if logger is not None:
        logger.experiment.summary.update(summary)


def log_composition(logger, sampler, n_batches: int = 60, key: str = "batching/composition", negatives=None) -> None:
    """The figure of what the sampler's first ``n_batches`` contain (with the languages of their hard
    ``negatives``), as an image (nothing without a logger)."""
    if logger is None:
        return
    import io

    from PIL import Image

    from hybrid_sweep.batching.plot import figure_png, sampler_figure

    image = Image.open(io.BytesIO(figure_png(sampler_figure(sampler, n_batches, negatives))))
    logger.log_image(key=key, images=[image], caption=[f"batching={sampler.name}: first {n_batches} batches"])


def log_evaluation(logger, pngs, rows) -> None:
    """The evaluation plots as images and the tidy result rows as a W&B table."""
    if logger is None:
        return
    import wandb
    from dataclasses import asdict

    table = [asdict(r) for r in rows]
    logger.experiment.log({**{f"eval/{p.stem}": wandb.Image(str(p)) for p in pngs},
                           "eval/results": wandb.Table(columns=list(table[0]), data=[list(r.values()) for r in table])})


def finish(logger) -> None:
    if logger is not None:
        import wandb

        wandb.finish()
