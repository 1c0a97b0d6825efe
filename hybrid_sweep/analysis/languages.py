"""Which languages, families and scripts does a model fail on? Per evaluation set: every language's value
(``typology_analysis.language_values``) with its family and script, and the means per family and per script.

``python -m hybrid_sweep.analysis.languages outputs/evaluate/<job> [--stage zero_shot] [--metric map]`` prints
the per-set tables (worst first) and writes ``languages.csv``, ``families.csv``, ``scripts.csv`` there.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hybrid_sweep.analysis.summary import collect
from hybrid_sweep.analysis.typology_analysis import family, language_values


def language_table(rows: pd.DataFrame, stage: str = "zero_shot", metric: str = "map") -> pd.DataFrame:
    """One row per (evaluation set, language): its value, family (URIEL's spelling for all), genus and script."""
    from hybrid_sweep.languages import get_language

    values = language_values(rows[rows.stage == stage], metric)
    if values.empty:
        raise ValueError(f"no per-language {metric} rows of stage {stage!r}")
    table = values.groupby(["eval_set", "lang"], as_index=False)["value"].mean()
    info = {l: get_language(l) for l in table.lang.unique()}
    table["family"] = [family(l) or "unknown" for l in table.lang]
    table["genus"] = [info[l].genus or "unknown" for l in table.lang]
    table["script"] = [info[l].script_name for l in table.lang]
    return table


def group_means(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean, min, max and number of languages per ``by`` value (family or script) within each set, worst first."""
    out = (table.groupby(["eval_set", by]).value.agg(["mean", "min", "max", "count"])
           .rename(columns={"count": "languages"}).reset_index())
    return out.sort_values(["eval_set", "mean"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="folders holding results.json files")
    parser.add_argument("--stage", default="zero_shot")
    parser.add_argument("--metric", default="map")
    args = parser.parse_args(argv)
    rows, _ = collect(args.dirs)
    table = language_table(rows, args.stage, args.metric)
    out = args.dirs[0]
    table.to_csv(out / "languages.csv", index=False)
    for by, name in (("family", "families.csv"), ("script", "scripts.csv")):
        means = group_means(table, by)
        means.to_csv(out / name, index=False)
        for eval_set, part in means.groupby("eval_set", sort=False):
            print(f"\n{eval_set}: {args.metric} by {by} ({args.stage}), worst first")
            print(part.drop(columns="eval_set").to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
