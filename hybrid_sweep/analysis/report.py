"""A sweep's markdown report in ``experiments/<sweep>/``, rebuilt from committed results files.

``python -m hybrid_sweep.analysis.report <sweep_name>`` first copies each finished job's small files
(``results.json``, ``config.yaml``) from ``outputs/<sweep>/`` into ``experiments/<sweep>/runs/`` (never
checkpoints or weights), then aggregates what is committed there, so a fresh clone rebuilds the same report.
"""
from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hybrid_sweep.analysis.aggregate import aggregate, collect, headline_set, missing_jobs
from hybrid_sweep.evaluation import PER_QUERY_FILE
from hybrid_sweep.evaluation.export import compact_per_query
from hybrid_sweep.paths import PROJECT_ROOT

KEPT_FILES = ("results.json", "config.yaml", PER_QUERY_FILE, "pairs_seen.csv", "run.log")


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
            if name == PER_QUERY_FILE and per_query_metrics is not None:
                compact_per_query(results.parent / name, target / name, per_query_metrics)
            else:
                shutil.copy2(results.parent / name, target / name)
        for png in (results.parent / "plots").glob("*.png") if plots else ():
            (target / "plots").mkdir(exist_ok=True)
            shutil.copy2(png, target / "plots" / png.name)
        copied += 1
    return copied


def markdown_table(table: pd.DataFrame) -> str:
    index_names = [n or "" for n in table.index.names]
    header = index_names + list(table.columns)
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    for key, row in table.iterrows():
        keys = key if isinstance(key, tuple) else (key,)
        cells = [(str(int(v)) if v.is_integer() else f"{v:.3f}") if isinstance(v, float) else str(v)
                 for v in row.tolist()]
        lines.append("| " + " | ".join([*map(str, keys), *cells]) + " |")
    return "\n".join(lines)


def paired_rows(runs_dir: Path, df: pd.DataFrame) -> list[str]:
    """Hybrid against every other strategy at the same language count and seed (per-query files)."""
    from hybrid_sweep.analysis.compare import compare_jobs

    jobs = df.drop_duplicates("job").set_index("job")
    lines = []
    for job, run in jobs[jobs.batching == "hybrid"].iterrows():
        rivals = jobs[(jobs.batching != "hybrid") & (jobs.langs == run.langs) & (jobs.seed == run.seed)]
        for rival, other in rivals.iterrows():
            cells = []
            for setting in ("mono", "cross", "multi"):
                t = compare_jobs(runs_dir / job, runs_dir / rival, setting)
                cells.append(f"{t.diff:+.3f} [{t.low:+.3f}, {t.high:+.3f}] p={t.p_value:.3g}")
            lines.append(f"| {run.langs} | {run.seed} | hybrid − {other.batching} | " + " | ".join(cells) + " |")
    return lines


def truncation_note(df: pd.DataFrame) -> list[str]:
    """A warning line for results whose evaluation cut texts at the training length (every result written
    before evaluation read whole texts has no ``passage_max_length`` column): stale until rerun."""
    if "passage_max_length" in df and df["passage_max_length"].notna().all():
        return []
    return ["> **Stale:** these results were evaluated with questions and candidates cut at the training length "
            "(64 tokens for me5_small), before evaluation read whole texts; rerun them for numbers comparable "
            "with untruncated evaluation.", ""]


def load_sweep(sweep: str, outputs: Path, experiments: Path, **sync) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Sync a sweep's finished jobs into ``experiments/<sweep>/runs`` (``sync``: :func:`sync_runs`' options),
    then read back what is committed there, with the grid points still missing in ``outputs/<sweep>`` (none
    known on a fresh clone)."""
    runs_dir = experiments / sweep / "runs"
    if (outputs / sweep).exists():
        sync_runs(outputs / sweep, runs_dir, **sync)
    df = headline_set(collect([runs_dir])[0]) if runs_dir.exists() else pd.DataFrame()
    return df, missing_jobs(outputs / sweep) if (outputs / sweep).exists() else []


def write_report(sweep: str, outputs: Path, experiments: Path) -> Path:
    out_dir = experiments / sweep
    runs_dir = out_dir / "runs"
    df, missing = load_sweep(sweep, outputs, experiments)
    if df.empty:
        raise FileNotFoundError(f"no results for sweep {sweep!r}: neither {outputs / sweep} nor {runs_dir} has any")
    table = aggregate([runs_dir], out_dir)
    first = df.iloc[0]
    lines = [
        f"# Sweep `{sweep}`", "", *truncation_note(df),
        f"{df['job'].nunique()} finished jobs; model `{first['model']}`, data protocol `{first['data']}` "
        f"(evaluated on `{first['eval_data']}`), {int(first['steps'])} steps x {int(first['batch_size'])} pairs per job.",
        "", "## Headline mAP (macro-averaged; mean over seeds, n = seeds)", "", markdown_table(table), "",
        "![mAP vs number of training languages](scaling.png)", "",
        "## Jobs", "", markdown_table(df.drop_duplicates("job").set_index("job")[
            ["langs", "train_langs", "batching", "group", "seed", "train_seconds"]].sort_index()), "",
    ]
    paired = paired_rows(runs_dir, df)
    if paired:
        lines += ["## Paired comparisons (same questions; difference in mAP, 95% CI, sign-flip p)", "",
                  "| langs | seed | runs | mono | cross | multi |", "|---|---|---|---|---|---|", *paired, ""]
    if missing:
        lines += ["## Missing jobs", ""] + [f"- {' '.join(f'{k}={v}' for k, v in job.items())}" for job in missing] + [""]
    lines += ["Files: `aggregate.csv` (every result row), `summary.csv` (mean, std, n, 95% CI per configuration),",
              "`runs/<job>/` (each job's results.json, per_query.parquet, resolved config and evaluation plots).", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", help="sweep name (outputs/<sweep>, experiments/<sweep>)")
    parser.add_argument("--outputs", default="outputs", type=Path)
    parser.add_argument("--experiments", default=PROJECT_ROOT / "experiments", type=Path)
    args = parser.parse_args(argv)
    print(f"wrote {write_report(args.sweep, args.outputs, args.experiments)}")


if __name__ == "__main__":
    main()
