"""Launcher presets compose, and submitit's local executor runs a real (tiny) job of a sweep."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from hybrid_sweep.paths import CONFIG_DIR, PROJECT_ROOT
from tests.test_run import TINY


def launcher(preset: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={preset}"], return_hydra_config=True)
    return cfg.hydra.launcher


@pytest.mark.parametrize("preset, target, plugin", [
    ("basic", "hydra._internal.core_plugins.basic_launcher.BasicLauncher", None),
    ("parallel", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "hydra_plugins.hydra_joblib_launcher"),
    ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "hydra_plugins.hydra_submitit_launcher"),
    ("ray_cluster", "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher", "hydra_plugins.hydra_ray_launcher"),
])
def test_launcher_presets_compose(preset, target, plugin):
    if plugin and importlib.util.find_spec(plugin) is None:
        pytest.skip(f"{plugin} is an optional extra and is not installed")
    cfg = launcher(preset)
    assert cfg._target_ == target
    if preset == "slurm":
        assert cfg.max_num_timeout > 0 and cfg.array_parallelism == 32


def test_ddp_trainer_preset_composes():
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["trainer=ddp"])
    assert (cfg.trainer.strategy, cfg.trainer.devices, cfg.trainer.accelerator) == ("ddp", 4, "gpu")


@pytest.mark.slow  # the Slurm code path through submitit's local executor: a subprocess per job (~40 s)
def test_submitit_local_executor_runs_a_tiny_job(tmp_path, cache_dir):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(tmp_path), "HYBRID_SWEEP_CACHE": str(cache_dir)}
    cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "hydra/launcher=submitit_local_test", "langs=2",
           "logger=none", "sweep_name=submitit", *TINY]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = list((tmp_path / "submitit").rglob("results.json"))
    assert len(results) == 1
    assert json.loads(results[0].read_text())["run"]["langs"] == 2
    assert list((tmp_path / "submitit" / ".submitit").glob("*/*_log.out"))


@pytest.mark.parametrize("name, swept", [("lang_scaling", {"langs", "batching", "seed"}),
                                         ("typology", {"langs", "group", "batching"}), ("alpha", {"batching.alpha"}),
                                         ("negatives", {"negatives", "negatives.language", "seed"})])
def test_experiment_presets_name_their_grid(name, swept):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"+experiment={name}"], return_hydra_config=True)
    assert cfg.sweep_name == name and set(cfg.hydra.sweeper.params) == swept


@pytest.mark.parametrize("env, requested, mode", [
    ({}, "auto", "offline"),
    ({"WANDB_API_KEY": "x" * 40}, "auto", "online"),
    ({"WANDB_API_KEY": "x" * 40, "WANDB_MODE": "offline"}, "auto", "offline"),
    ({"WANDB_API_KEY": "x" * 40, "WANDB_MODE": "offline"}, "online", "offline"),
    ({"WANDB_API_KEY": "x" * 40, "WANDB_DISABLED": "true"}, "auto", "disabled"),
    ({"WANDB_MODE": "disabled"}, "offline", "disabled"),
])
def test_the_environment_wins_over_a_set_api_key(monkeypatch, env, requested, mode):
    from hybrid_sweep.tracking import wandb_mode

    for key in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DISABLED"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert wandb_mode(requested) == mode
