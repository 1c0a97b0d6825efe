"""Paired comparisons over per-query files: two jobs (:func:`compare_jobs`), or two configurations with their
seeds averaged per arm (:func:`compare_configs`), each with per-seed differences and a robustness call."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hybrid_sweep.analysis.summary import SETTINGS
from hybrid_sweep.evaluation import PER_QUERY_FILE, aligned_matrices, paired_test, query_matrix, read_per_query
from hybrid_sweep.evaluation.uncertainty import PairedTest, macro_mean


@functools.lru_cache(maxsize=None)
def cached_per_query(path: Path) -> pd.DataFrame:
    """Each job's per-query file is read once, though every comparison and setting it enters uses it (read-only)."""
    return read_per_query(path)


def seed_mean_matrix(runs_dir: Path, jobs: Sequence[str], setting: str, metric: str = "map") -> pd.DataFrame:
    """Per-query values (group x qid) of one configuration, averaged over its seeds' jobs."""
    tables = [query_matrix(cached_per_query(runs_dir / job / PER_QUERY_FILE), setting, metric, stage="trained")
              for job in jobs]
    first = tables[0]
    return pd.DataFrame(np.mean([aligned_matrices(first, t)[1] for t in tables], axis=0),
                        index=first.index, columns=first.columns)


def robust(low: float, high: float, diff: float, per_seed: Sequence[float]) -> bool:
    """A difference we call real: its CI over questions excludes 0 and every seed (at least 2) agrees in sign."""
    return bool((low > 0 or high < 0) and len(per_seed) >= 2 and all(np.sign(d) == np.sign(diff) for d in per_seed))


def compare_configs(runs_dir: Path, jobs: pd.DataFrame, a: dict, b: dict, label: str,
                    cells: Sequence[tuple[str, str]] = tuple((s, "map") for s in SETTINGS), **keys) -> list[dict]:
    """``a − b`` per (setting, metric) cell for two configurations (run-key filters), seeds averaged per arm.

    Where the arms share seeds, both keep only those: a 5-seed arm against a 3-seed one would otherwise compare
    seed means over different training runs, unpaired in the seed though paired in the questions."""
    def select(filters: dict) -> pd.DataFrame:
        mask = np.ones(len(jobs), dtype=bool)
        for key, value in filters.items():
            mask &= (jobs[key].astype(str) == str(value)).to_numpy()
        return jobs[mask]

    arm_a, arm_b = select(a), select(b)
    if arm_a.empty or arm_b.empty:
        return []
    common = sorted(set(arm_a.seed) & set(arm_b.seed))
    if common:
        arm_a, arm_b = arm_a[arm_a.seed.isin(common)], arm_b[arm_b.seed.isin(common)]
    out = []
    for setting, metric in cells:
        t = paired_test(*aligned_matrices(seed_mean_matrix(runs_dir, list(arm_a.index), setting, metric),
                                          seed_mean_matrix(runs_dir, list(arm_b.index), setting, metric)))
        per_seed = [float(np.subtract(*(macro_mean(seed_mean_matrix(runs_dir, list(arm[arm.seed == s].index),
                                                                    setting, metric).to_numpy())[0]
                                        for arm in (arm_a, arm_b))))
                    for s in common]
        out.append({**keys, "comparison": label, "setting": setting, "metric": metric, "diff": t.diff, "ci_low": t.low,
                    "ci_high": t.high, "p": t.p_value, "question_ids": t.n_units,
                    "seeds": f"{len(arm_a)} vs {len(arm_b)}",
                    "per_seed": " ".join(f"{d:+.3f}" for d in per_seed),
                    "robust": robust(t.low, t.high, t.diff, per_seed)})
    return out


def compare_jobs(job_a: Path, job_b: Path, setting: str = "multi", metric: str = "map",
                 stage_a: str = "trained", stage_b: str = "trained") -> PairedTest:
    tables = []
    for job, stage in ((job_a, stage_a), (job_b, stage_b)):
        per_query = read_per_query(Path(job) / PER_QUERY_FILE)
        metrics = sorted(per_query.metric.unique())
        if metric not in metrics:
            raise ValueError(f"--metric {metric}: {job} has per-query values of {', '.join(metrics)}")
        tables.append(query_matrix(per_query, setting, metric, stage=stage))
    return paired_test(*aligned_matrices(*tables))


def with_bh(table: pd.DataFrame) -> pd.DataFrame:
    """The table of paired tests with ``q``: its p-values adjusted by Benjamini–Hochberg over all its rows."""
    if not table.empty:
        table["q"] = stats.false_discovery_control(table.p.to_numpy(), method="bh")
    return table
