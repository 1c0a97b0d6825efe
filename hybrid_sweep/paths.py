"""Where things live: the project root, the data root (checked early, with a message saying where to look)."""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"

if not OmegaConf.has_resolver("hs_project_root"):
    OmegaConf.register_new_resolver("hs_project_root", lambda: str(PROJECT_ROOT))


def data_root(path: str | Path) -> Path:
    root = Path(path).resolve()
    if not (root / "xquad-r").is_dir():
        raise FileNotFoundError(
            f"No data at paths.data_root={root}: expected the shared data folder with xquad-r/ and "
            f"mlqa-r-dev-lareqa/ (by default ../shared/data beside the project). Set HYBRID_SWEEP_DATA "
            f"or paths.data_root=<dir>.")
    return root
