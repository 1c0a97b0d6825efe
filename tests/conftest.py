"""Shared fixtures: the real shared data (loaded once per session) and isolated output/cache dirs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# on a busy 2-core machine OpenMP's spin-waiting threads slow small torch ops ~100x; subprocesses inherit it
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hybrid_sweep.paths import PROJECT_ROOT

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
