"""A sweep's finished jobs copied into ``experiments/<sweep>/runs`` (small files only, never checkpoints or
weights), so reports rebuild from what is committed on a fresh clone."""
from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from hybrid_sweep.analysis.summary import collect, headline_set, missing_jobs
from hybrid_sweep.evaluation import PER_QUERY_FILE
from hybrid_sweep.evaluation.export import compact_per_query
from hybrid_sweep.evaluation.results import compact_results
from hybrid_sweep.paths import PROJECT_ROOT


KEPT_FILES = ("results.json", "config.yaml", PER_QUERY_FILE, "pairs_seen.csv", "run.log")
STUDY = "lang_scaling"  # experiments/<STUDY>/ holds the research answer (answer.md, report.md)
PREVIOUS = "previous"  # ... and, in this folder of it, the previous answer (truncated evaluation, one budget)


def sync_runs(sweep_dir: Path, runs_dir: Path, plots: bool = True,
              per_query_metrics: Sequence[str] | None = None) -> int:
    """Copy the kept files (and, with ``plots``, the evaluation plots) of every finished job; returns how many
    were copied. With ``per_query_metrics`` the per-query file keeps only those metrics, compressed
    (:func:`compact_per_query`): a large sweep's committed runs stay small."""
    copied = 0
    for results in sorted(sweep_dir.rglob("results.json")):
        target = runs_dir / results.parent.relative_to(sweep_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name in KEPT_FILES:
            if not (results.parent / name).exists():
                continue
            if name == "results.json":  # as the current schema: a schema-2 rebuild job is 5.6 MB, ~10x more
                compact_results(results.parent / name, target / name)
            elif name == PER_QUERY_FILE and per_query_metrics is not None:
                compact_per_query(results.parent / name, target / name, per_query_metrics)
            else:
                shutil.copy2(results.parent / name, target / name)
        for png in (results.parent / "plots").glob("*.png") if plots else ():
            (target / "plots").mkdir(exist_ok=True)
            shutil.copy2(png, target / "plots" / png.name)
        copied += 1
    return copied


def load_sweep(sweep: str, outputs: Path, experiments: Path, headline: bool = True,
               **sync) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Sync a sweep's finished jobs into ``experiments/<sweep>/runs`` (``sync``: :func:`sync_runs`' options),
    then read back what is committed there (each job's headline set, or with ``headline=False`` every set),
    with the grid points still missing in ``outputs/<sweep>`` (none known on a fresh clone)."""
    runs_dir = experiments / sweep / "runs"
    if (outputs / sweep).exists():
        sync_runs(outputs / sweep, runs_dir, **sync)
    df = collect([runs_dir])[0] if runs_dir.exists() else pd.DataFrame()
    df = headline_set(df) if headline else df
    return df, missing_jobs(outputs / sweep) if (outputs / sweep).exists() else []


def job_costs(runs_dir: Path, jobs: pd.DataFrame) -> pd.Series:
    """Wall seconds per job from its run.log (first to last timestamp): training, evaluation and start-up."""
    stamp = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+\]")
    walls = {}
    for job in jobs.index:
        path = runs_dir / job / "run.log"
        times = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S") for line in
                 (path.read_text().splitlines() if path.exists() else []) if (m := stamp.match(line))
                 and "skip:" not in line]
        if len(times) > 1:
            walls[job] = (times[-1] - times[0]).total_seconds()
    return pd.Series(walls, dtype=float)


def report_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every report command shares: where the sweeps ran and where the committed runs live."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--outputs", default="outputs", type=Path)
    parser.add_argument("--experiments", default=PROJECT_ROOT / "experiments", type=Path)
    return parser


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines))
    return path
