"""Where things live: the project root, the data root (checked early, with a message saying where to look)."""
from __future__ import annotations

import re
from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=+-]*")


def plain_name(name: str) -> str:
    """A sweep name that stays one folder below the output root (no path separators, no ``..``)."""
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name) or ".." in name or len(name) > 100:
        raise ValueError(f"sweep_name={name!r} must be a plain folder name: letters, digits and _ . = + -, "
                         f"at most 100 characters, no '/' or '..'")
    return name


JOB_NAME_LIMIT = 120


def job_dirname(overrides: str) -> str:
    """A job's folder name from its overrides that stays one folder deep: a config-group path or a path
    value (``data/eval=[x]``, ``path=/data/my``) writes ``/`` as ``.``, ``..`` cannot climb, and a name
    over ``JOB_NAME_LIMIT`` characters keeps its start plus a short hash of the whole."""
    import hashlib

    name = overrides.replace("/", ".").replace("\\", ".") or "default"
    while ".." in name:
        name = name.replace("..", ".")
    if len(name) > JOB_NAME_LIMIT:
        digest = hashlib.blake2b(overrides.encode(), digest_size=4).hexdigest()
        name = f"{name[: JOB_NAME_LIMIT - 9]}-{digest}"
    return name


def set_aside(path: Path, into: Path | None = None) -> Path:
    """Move a damaged file out of the way under a dated name (``results.json.corrupt-20261203-101500``), in
    its folder or ``into`` another, keeping it for inspection; returns the new path."""
    import time

    aside = (into or path.parent) / f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
    path.replace(aside)
    return aside


def device_count(devices) -> int:
    """``trainer.devices`` as a number of processes (a list of device ids counts its ids)."""
    return len(devices) if isinstance(devices, (list, tuple)) or OmegaConf.is_list(devices) else int(devices)


def slurm_gpus(accelerator: str, devices) -> int:
    """GPUs a Slurm job asks for: one per ``trainer.devices`` on a GPU trainer, none on a CPU one."""
    return device_count(devices) if accelerator in ("gpu", "cuda", "auto") else 0


if not OmegaConf.has_resolver("hs_project_root"):
    OmegaConf.register_new_resolver("hs_project_root", lambda: str(PROJECT_ROOT))
    OmegaConf.register_new_resolver("hs_plain_name", plain_name)
    OmegaConf.register_new_resolver("hs_job_dir", job_dirname)
    OmegaConf.register_new_resolver("hs_devices", device_count)
    OmegaConf.register_new_resolver("hs_slurm_gpus", slurm_gpus)


def data_root(path: str | Path) -> Path:
    root = Path(path).resolve()
    if not (root / "xquad-r").is_dir():
        raise FileNotFoundError(
            f"No data at paths.data_root={root}: expected the shared data folder with xquad-r/ and "
            f"mlqa-r-dev-lareqa/ (by default ../shared/data beside the project). Set HYBRID_SWEEP_DATA "
            f"or paths.data_root=<dir>.")
    return root
