"""Results files of one or more sweeps -> one pandas DataFrame -> the headline table (never reads W&B).

``python -m hybrid_sweep.aggregate outputs/<sweep> [more dirs]`` prints the table and writes
``aggregate.csv`` (every row) and ``summary.csv`` (the table) into the first directory.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from hybrid_sweep.evaluation.results import read_results

SETTINGS = ["mono", "cross", "multi"]
RUN_AXES = ["model", "data", "batching", "alpha", "group", "langs"]


def collect(dirs: Iterable[str | Path]) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """All result rows under ``dirs``; unreadable files are listed, not fatal."""
    rows, broken = [], []
    for d in dirs:
        d = Path(d)
        if not d.exists():
            raise FileNotFoundError(f"no such results directory: {d}")
        for path in sorted(d.rglob("results.json")):
            try:
                rows += read_results(path)
            except ValueError as exc:
                broken.append((path, str(exc)))
    return pd.DataFrame(rows), broken


def summary_table(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Macro-averaged mono/cross/multi ``metric``: a zero-shot reference row, then one row per run
    configuration (mean over seeds; ``n`` = seeds). Only axes that vary become row labels."""
    head = df[(df.query_lang == "all") & (df.metric == metric)].copy()
    head["alpha"] = head["alpha"].fillna("-")
    axes = [a for a in RUN_AXES if a == "langs" or head[a].nunique() > 1]
    trained = head[head.stage == "trained"]
    table = trained.pivot_table(index=axes, columns="setting", values="value", aggfunc="mean")
    table["n"] = trained.groupby(axes)["seed"].nunique()
    zero = head[head.stage == "zero_shot"].drop_duplicates(["model", "data", "setting"])
    zero_axes = [a for a in ("model", "data") if a in axes]
    zero_table = zero.pivot_table(index=zero_axes or None, columns="setting", values="value", aggfunc="mean")
    if zero_axes:
        zero_table.index = pd.MultiIndex.from_frame(
            zero_table.index.to_frame().assign(**{a: "zero-shot" for a in axes if a not in zero_axes})[axes])
    else:
        zero_table.index = pd.Index(["zero-shot"], name="langs") if len(axes) == 1 else pd.MultiIndex.from_tuples(
            [tuple("zero-shot" for _ in axes)], names=axes)
    zero_table["n"] = 1
    out = pd.concat([zero_table, table])
    return out[[s for s in SETTINGS if s in out.columns] + ["n"]]


def aggregate(dirs: list[str | Path], out_dir: str | Path | None = None) -> pd.DataFrame:
    df, broken = collect(dirs)
    for path, why in broken:
        print(f"skipped broken results file {path}: {why}", file=sys.stderr)
    if df.empty:
        raise FileNotFoundError(f"no results.json under {', '.join(map(str, dirs))}")
    table = summary_table(df)
    out_dir = Path(out_dir or dirs[0])
    df.to_csv(out_dir / "aggregate.csv", index=False)
    table.to_csv(out_dir / "summary.csv")
    return table


def format_table(table: pd.DataFrame) -> str:
    return table.to_string(float_format=lambda v: f"{v:.3f}")


class AggregateOnMultirunEnd:
    """Hydra callback: print the table as soon as a multirun finishes."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if any(sweep_dir.rglob("results.json")):
            table = aggregate([sweep_dir])
            print(f"\nmAP (macro-averaged) for sweep {sweep_dir}:\n{format_table(table)}\n", flush=True)

    def __getattr__(self, name):  # the other Hydra callback hooks are no-ops
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", help="sweep (or job) directories holding results.json files")
    parser.add_argument("--out", help="where to write aggregate.csv and summary.csv (default: the first dir)")
    args = parser.parse_args(argv)
    print(format_table(aggregate(args.dirs, args.out)))


if __name__ == "__main__":
    main()
