"""A sweep's markdown report in ``experiments/<sweep>/``, rebuilt from committed results files.

``python -m hybrid_sweep.analysis.report <sweep_name>`` first copies each finished job's small files
(``results.json``, ``config.yaml``) from ``outputs/<sweep>/`` into ``experiments/<sweep>/runs/`` (never
checkpoints or weights), then aggregates what is committed there, so a fresh clone rebuilds the same report.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hybrid_sweep.analysis.committed import load_sweep, report_parser, write_lines
from hybrid_sweep.analysis.markdown import markdown_table, missing_markdown, truncation_note
from hybrid_sweep.analysis.paired import compare_jobs
from hybrid_sweep.analysis.summary import aggregate


def paired_rows(runs_dir: Path, df: pd.DataFrame) -> list[str]:
    """Hybrid against every other strategy at the same language count and seed (per-query files)."""
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
    lines += missing_markdown(missing)
    lines += ["Files: `aggregate.csv` (every result row), `summary.csv` (mean, std, n, 95% CI per configuration),",
              "`runs/<job>/` (each job's results.json, per_query.parquet, resolved config and evaluation plots).", ""]
    return write_lines(out_dir / "report.md", lines)


def main(argv: list[str] | None = None) -> None:
    parser = report_parser(__doc__)
    parser.add_argument("sweep", help="sweep name (outputs/<sweep>, experiments/<sweep>)")
    args = parser.parse_args(argv)
    print(f"wrote {write_report(args.sweep, args.outputs, args.experiments)}")


if __name__ == "__main__":
    main()
