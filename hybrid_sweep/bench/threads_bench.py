"""Two jobs side by side through the ``parallel`` (joblib) launcher, before and after sizing each job's
torch threads to its share of the cores: wall time, seconds per training step, threads per job.

``python -m hybrid_sweep.bench.threads_bench [hydra overrides]`` runs, each from an empty model and
embedding cache (so it is also the first-use race: both jobs need the converted model at once):

- ``all_cores_spin``: the old behaviour: every job takes every core (``trainer.threads=<cores>``) and
  OpenMP's default waiting (``OMP_WAIT_POLICY`` unset);
- ``all_cores_passive``: every core per job, passive waiting only;
- ``sized``: the default now: cores / ``n_jobs`` threads per job, passive waiting.

It writes ``experiments/benchmarks/threads.json``. Run it alone: anything else on the cores skews it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from hybrid_sweep import paths
from hybrid_sweep.runtime import available_cores

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "threads.json"
JOB = ["-m", "langs=2,4", "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "model=me5_small", "logger=none",
       "trainer.max_steps=4", "optimizer.warmup_steps=1", "batching.batch_size=16", "data.eval_articles=1",
       "eval.max_questions=16", "eval.zero_shot=false", "trainer.log_every_n_steps=1"]


def variants(cores: int) -> dict[str, tuple[list[str], str | None]]:
    """name -> (extra overrides, OMP_WAIT_POLICY or None for OpenMP's default)."""
    return {"all_cores_spin": ([f"trainer.threads={cores}"], None),
            "all_cores_passive": ([f"trainer.threads={cores}"], "PASSIVE"),
            "sized": ([], "PASSIVE")}


def run_variant(name: str, extra: list[str], wait_policy: str | None, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"threads-{name}-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "OMP_"))}
        # "" leaves OpenMP at its default; the package only sets PASSIVE where the variable is absent
        env.update(HYBRID_SWEEP_OUTPUTS=f"{tmp}/out", HYBRID_SWEEP_CACHE=f"{tmp}/cache",
                   OMP_WAIT_POLICY=wait_policy or "")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "hybrid_sweep.run", *JOB, *extra, *overrides,
                               f"sweep_name=threads_{name}"], cwd=paths.PROJECT_ROOT, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
        jobs = []
        for results in sorted(Path(tmp, "out").rglob("results.json")):
            run = json.loads(results.read_text())["run"]
            jobs.append({"job": run["job"], "threads": run["threads"], "train_seconds": run["train_seconds"],
                         "seconds_per_step": round(run["train_seconds"] / run["steps"], 2)})
    if len(jobs) != 2:
        raise RuntimeError(f"{name}: {len(jobs)} of 2 jobs finished")
    return {"omp_wait_policy": wait_policy or "(OpenMP default)", "overrides": extra, "wall_s": round(wall, 1),
            "jobs": jobs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for both jobs")
    parser.add_argument("--only", nargs="*", help="run only these variants")
    args = parser.parse_args(argv)
    cores = available_cores()
    results = {}
    for name, (extra, policy) in variants(cores).items():
        if args.only and name not in args.only:
            continue
        print(f"{name} ...", flush=True)
        results[name] = run_variant(name, extra, policy, args.overrides)
        print(json.dumps(results[name]), flush=True)
    doc = {"bench": "two parallel jobs: threads per job and OpenMP waiting",
           "command": "python -m hybrid_sweep.bench.threads_bench " + " ".join(argv or sys.argv[1:]),
           "job": JOB + args.overrides, "cores": cores, "machine": platform.machine(),
           "python": platform.python_version(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "variants": results}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
