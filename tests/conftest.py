"""Shared fixtures: the real shared data (loaded once per session) and isolated output/cache dirs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hybrid_sweep.paths import PROJECT_ROOT  # importing hybrid_sweep sets OMP_WAIT_POLICY=PASSIVE

DATA_ROOT = Path(os.environ.get("HYBRID_SWEEP_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    assert (DATA_ROOT / "xquad-r").is_dir(), f"tests need the shared data at {DATA_ROOT} (or set HYBRID_SWEEP_DATA)"
    return DATA_ROOT


@pytest.fixture(scope="session")
def xquad_split(data_root):
    from hybrid_sweep.data.protocols import load_preset

    return load_preset("xquad_split", data_root, split_seed=0, eval_articles=16)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One model cache per test session, so the me5 conversion and tokenizer copy happen once."""
    return Path(os.environ.get("HYBRID_SWEEP_CACHE", tmp_path_factory.mktemp("cache")))


def compose_cfg(*overrides: str):
    """The run config as ``python -m hybrid_sweep.run <overrides>`` composes it."""
    from hydra import compose, initialize_config_dir

    from hybrid_sweep.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))
