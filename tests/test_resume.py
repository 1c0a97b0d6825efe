"""A job killed mid-training resumes from its last checkpoint and ends exactly where an uninterrupted run ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import PROJECT_ROOT

CMD = [sys.executable, "-m", "hybrid_sweep.run", "model=tiny", "logger=none", "trainer.max_steps=30",
       "trainer.checkpoint_every_n_steps=5", "trainer.log_every_n_steps=1", "optimizer.warmup_steps=2",
       "batching.batch_size=4", "data.eval_articles=2", "eval.batch_size=128", "sweep_name=resume"]


def trained_rows(path):
    return sorted((r["setting"], r["query_lang"], r["doc_lang"], r["metric"], r["value"])
                  for r in read_results(path) if r["stage"] == "trained")


def test_killed_job_resumes_to_the_same_metrics(tmp_path):
    def env(out):  # a cache of its own: the shared one must not hold this test's zero-shot results
        return {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(tmp_path / out), "HYBRID_SWEEP_CACHE": str(tmp_path / "cache")}

    reference = subprocess.run(CMD, cwd=PROJECT_ROOT, env=env("straight"), capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr[-2000:]

    job = subprocess.Popen(CMD, cwd=PROJECT_ROOT, env=env("killed"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    for line in job.stdout:
        if "train step 7/30" in line:  # a checkpoint at step 5 exists; kill without any clean-up
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=60)
    job_dirs = list((tmp_path / "killed" / "resume" / "single").iterdir())
    assert len(job_dirs) == 1
    assert not (job_dirs[0] / "results.json").exists()
    assert (job_dirs[0] / "checkpoints" / "last.ckpt").exists()
    import torch

    state = torch.load(job_dirs[0] / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    before = next(v["seconds"] for k, v in state["callbacks"].items() if k.startswith("TrainClock"))
    assert before > 0  # the training time up to the checkpoint travels with it

    resumed = subprocess.run(CMD, cwd=PROJECT_ROOT, env=env("killed"), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    log = resumed.stdout + resumed.stderr
    assert "resuming from" in log and "train step 1/30" not in log
    straight = next((tmp_path / "straight").rglob("results.json"))
    assert trained_rows(job_dirs[0] / "results.json") == trained_rows(straight)
    run = json.loads((job_dirs[0] / "results.json").read_text())["run"]
    assert run["train_seconds"] >= round(before, 1)  # both segments, not only the last one
    assert run["threads"] >= 1
