"""Process setup shared by every entry point (run, evaluate, benches): readable logs from the libraries."""
from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    """Keep job logs readable: Lightning's tips, summaries and known deprecation chatter off."""
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in ("pytorch_lightning", "pytorch_lightning.utilities.rank_zero", "lightning.pytorch", "lightning_fabric", "lightning", "faiss.loader",
                 "matplotlib", "matplotlib.font_manager"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def available_cores() -> int:
    """Cores this process may use: Slurm's grant, else its CPU affinity (containers, taskset), else all."""
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        return int(slurm)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def process_rank() -> int:
    """This process's rank in a multi-process job: Lightning's DDP children (``LOCAL_RANK``), Slurm tasks
    (``SLURM_PROCID``), torchrun (``RANK``); 0 for the job's main process and for single-process jobs."""
    return max(int(os.environ.get(key) or 0) for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"))


def concurrent_jobs() -> int:
    """How many jobs of this sweep run at once on this machine: the joblib (``parallel``) launcher's
    ``n_jobs``; 1 for the basic launcher and for Slurm, whose jobs each get their own cores."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return 1
    launcher = HydraConfig.get().launcher
    if "joblib" not in str(launcher.get("_target_", "")):
        return 1
    n = int(launcher.get("n_jobs") or 1)
    return n if n > 0 else max(os.cpu_count() + 1 + n, 1)  # joblib: -1 = all cores, -2 = all but one


def set_threads(requested: int | None) -> int:
    """Size torch's thread pool to the cores this job really has (``requested`` wins); returns the count,
    which every result row records. Oversubscribed cores do not share: they stall each other."""
    import torch

    threads = requested or max(available_cores() // concurrent_jobs(), 1)
    torch.set_num_threads(threads)
    return threads
