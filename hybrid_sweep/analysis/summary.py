"""Results files of one or more sweeps -> one pandas DataFrame -> summary tables, CSVs and plots (never W&B).

The library behind ``python -m hybrid_sweep.analysis.aggregate`` and every report: rows of every
``results.json`` (:func:`collect`), the headline set, means and t-intervals over seeds per configuration
(:func:`seed_summary`), the wide headline table, the jobs a sweep still misses, the scaling figure and the
transfer analysis (each evaluation language's gain over zero-shot against its distance to training).
"""
from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hybrid_sweep.analysis.typology_analysis import (distance_correlation, gain_bins, gain_correlation, pair_distances,
                                                     plot_distance_scatter, plot_gain_vs_distance, transfer_table)
from hybrid_sweep.evaluation.results import read_results


SETTINGS = ["mono", "cross", "multi"]
# the (setting, metric) cells a report heads with: mAP per setting, and the multilingual language bias (ranks)
HEADLINE_CELLS = (*((s, "map") for s in SETTINGS), ("multi", "lang_bias"))


RUN_AXES = ["model", "data", "batching", "alpha", "same_pair", "bitext_fraction", "lang_weights", "group",
            "negatives", "negatives_language", "steps", "langs"]


def collect(dirs: Iterable[str | Path]) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """All result rows under ``dirs``; unreadable or old-schema files are listed, not fatal."""
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


def headline_set(df: pd.DataFrame) -> pd.DataFrame:
    """Each job's rows of its first (headline) evaluation set; schema-1 rows have no ``eval_set``: one set."""
    if "eval_set" not in df:
        return df
    return df[df.eval_set.isna() | (df.eval_set == df.eval_data)]


def per_set(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Rows per evaluation set, each relabelled as its own headline set (for a summary of every set)."""
    if "eval_set" not in df:
        return {}
    return {name: rows.assign(eval_data=name) for name, rows in df.dropna(subset=["eval_set"]).groupby("eval_set")}


def varying_axes(head: pd.DataFrame) -> list[str]:
    """Run axes that take more than one value (``langs`` always): the labels a reader needs."""
    return [a for a in RUN_AXES if a == "langs" or head[a].astype(str).nunique() > 1]


def headline_rows(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    head = df[(df.query_lang == "all") & (df.metric == metric)].copy()
    for axis in RUN_AXES[:-1]:  # axes a strategy does not have (alpha of mono, ...) read as "-"
        head[axis] = head[axis].fillna("-").astype(str) if axis in head else "-"
    return head


def t_half_width(std, n):
    """Half the width of a 95% t-interval of a mean over ``n`` seeds with standard deviation ``std``."""
    return stats.t.ppf(0.975, np.maximum(n - 1, 1)) * std / np.sqrt(n)


def seed_summary(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Per configuration, stage and setting: mean, std, n seeds and a t-based 95% CI over seeds.

    The zero-shot stage is identical for every job of a (model, data) pair, so it is counted once.
    """
    head = headline_rows(df, metric)
    zero = head[head.stage == "zero_shot"].drop_duplicates(["model", "data", "eval_data", "setting"]).copy()
    zero[[a for a in RUN_AXES if a not in ("model", "data", "langs")]] = "-"
    zero[["batching", "langs", "seed"]] = ["zero-shot", 0, 0]  # zero-shot: no training languages
    both = pd.concat([zero, head[head.stage == "trained"]])
    out = (both.groupby(RUN_AXES + ["stage", "setting"], dropna=False)["value"]
           .agg(mean="mean", std="std", n="count").reset_index())
    half = t_half_width(out["std"], out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


def summary_table(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Wide headline table: a zero-shot reference row, then one row per configuration; columns are the
    settings' mean over seeds plus ``n`` (seeds). Only axes that vary label the rows."""
    summary = seed_summary(df, metric)
    axes = varying_axes(headline_rows(df, metric))
    summary["_zero"] = summary["stage"] == "zero_shot"
    for axis in axes:
        summary[axis] = summary[axis].where(~summary["_zero"], "zero-shot")
    table = summary.pivot_table(index=["_zero"] + axes, columns="setting", values="mean", aggfunc="mean",
                                sort=False)
    table["n"] = summary.groupby(["_zero"] + axes, sort=False)["n"].max().astype(int)
    table = table.sort_index(level=0, ascending=False, sort_remaining=False).droplevel(0)
    return table[[s for s in SETTINGS if s in table.columns] + ["n"]]


def expected_jobs(sweep_dir: Path) -> list[dict[str, str]] | None:
    """The grid a multirun was asked for (from Hydra's ``multirun.yaml``), as swept key -> value."""
    import yaml
    from hydra.core.override_parser.overrides_parser import OverridesParser

    path = sweep_dir / "multirun.yaml"
    if not path.exists():
        return None
    overrides = yaml.safe_load(path.read_text())["hydra"]["overrides"]["task"]
    parsed = OverridesParser.create().parse_overrides(overrides)
    swept = {o.key_or_group: [str(v) for v in o.sweep_string_iterator()] for o in parsed if o.is_sweep_override()}
    return [dict(zip(swept, combo)) for combo in itertools.product(*swept.values())]


def readable(results: Path) -> bool:
    try:
        read_results(results)
        return True
    except ValueError:
        return False


def missing_jobs(sweep_dir: Path) -> list[dict[str, str]]:
    """Grid points without a readable ``results.json``: crashed, interrupted or never started."""
    import yaml

    grid = expected_jobs(sweep_dir)
    if grid is None:
        return []
    done = []
    for results in sweep_dir.rglob("results.json"):
        overrides = results.parent / ".hydra" / "overrides.yaml"
        if overrides.exists() and readable(results):
            done.append(dict(o.split("=", 1) for o in yaml.safe_load(overrides.read_text()) if "=" in o))
    return [job for job in grid if not any(all(d.get(k) == v for k, v in job.items()) for d in done)]


def scaling_figure(summary: pd.DataFrame):
    """mAP vs number of training languages, one panel per setting, one line per strategy (95% CI band),
    the zero-shot level as a dashed line; with one seed per point, unjoined points and a warning."""
    from matplotlib.figure import Figure

    trained = summary[summary.stage == "trained"].copy()
    trained["langs"] = trained["langs"].astype(int)
    fig = Figure(figsize=(4.2 * len(SETTINGS), 3.6))
    axes = fig.subplots(1, len(SETTINGS), sharey=False)
    line_keys = [k for k in ("model", "data", "batching", "alpha", "group") if trained[k].astype(str).nunique() > 1]
    one_seed = bool((trained["n"] <= 1).all())  # no interval: joined points would draw seed noise as a trend
    for ax, setting in zip(axes, SETTINGS):
        part = trained[trained.setting == setting]
        groups = part.groupby(line_keys) if line_keys else [((), part)]
        for key, g in groups:
            g = g.sort_values("langs")
            parts = key if isinstance(key, tuple) else (key,)
            label = ", ".join(str(k) for k in parts if str(k) != "-") or "trained"  # "-": mono has no alpha
            ax.plot(g["langs"], g["mean"], marker="o", ls="none" if one_seed else "-", label=label)
            if (g["n"] > 1).any():
                ax.fill_between(g["langs"], g["ci_low"], g["ci_high"], alpha=0.2)
        zero = summary[(summary.stage == "zero_shot") & (summary.setting == setting)]
        for value in zero["mean"]:
            ax.axhline(value, ls="--", color="grey", lw=1, label="zero-shot")
        ax.set_title({"mono": "monolingual", "cross": "cross-lingual", "multi": "multilingual"}[setting] + " mAP")
        ax.set_xlabel("training languages")
        ax.set_xticks(sorted(trained["langs"].unique()))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mAP")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=min(len(unique), 5), frameon=False)
    if one_seed:
        fig.suptitle("one seed per point: no interval, points not joined (add seeds before reading a trend)",
                     fontsize=9, color="firebrick")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_scaling(summary: pd.DataFrame, path: Path) -> Path:
    scaling_figure(summary).savefig(path, dpi=120)
    return path


def aggregate(dirs: list[str | Path], out_dir: str | Path | None = None) -> pd.DataFrame:
    """Collect, summarise, write CSVs and the scaling plot; warn about broken files and missing jobs."""
    df, broken = collect(dirs)
    for path, why in broken:
        print(f"skipped broken results file {path}: {why}", file=sys.stderr)
    for d in dirs:
        for job in missing_jobs(Path(d)):
            print(f"missing job in {d}: {' '.join(f'{k}={v}' for k, v in job.items())} (no results.json)",
                  file=sys.stderr)
    if df.empty:
        raise FileNotFoundError(f"no results.json under {', '.join(map(str, dirs))}")
    out_dir = Path(out_dir or dirs[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "aggregate.csv", index=False)
    write_transfer_analysis(df, out_dir)
    sets = per_set(df)
    if len(sets) > 1:  # a summary for every evaluation set; the table and plots are the headline set's
        for name, rows in sets.items():
            seed_summary(rows).to_csv(out_dir / f"summary.{name}.csv", index=False)
    df = headline_set(df)
    summary = seed_summary(df)
    summary.to_csv(out_dir / "summary.csv", index=False)
    plot_scaling(summary, out_dir / "scaling.png")
    pairs = pair_distances(df)
    if not pairs.empty:
        by = [c for c in ("batching", "langs", "group") if c in pairs and pairs[c].nunique() > 1]
        distance_correlation(pairs, by=by).to_csv(out_dir / "distance_correlation.csv", index=False)
        plot_distance_scatter(pairs, out_dir / "distance_scatter.png", col=by[0] if by else None)
    return summary_table(df)


def write_transfer_analysis(df: pd.DataFrame, out_dir: Path) -> None:
    """Does transfer reach typologically distant languages? Per language of every evaluation set: the gain
    over zero-shot against URIEL distance to the nearest training language (``transfer_distance.csv``), the
    rank correlation of the gain and of its share of the headroom with a bootstrap CI per seen group
    (``transfer_correlation.csv``), a binned table (``transfer_bins.csv``) and a scatter with a trend per
    evaluation set (``transfer_<set>.png``)."""
    if not {"zero_shot", "trained"} <= set(df.get("stage", ())) or "train_langs" not in df:
        return
    table = transfer_table(df)
    if table.empty:
        return
    by = [c for c in ("batching", "langs", "steps") if c in table and table[c].nunique() > 1]
    table.to_csv(out_dir / "transfer_distance.csv", index=False)
    pd.concat([gain_correlation(table, by=by, value=value) for value in ("gain", "relative")]).to_csv(
        out_dir / "transfer_correlation.csv", index=False)
    gain_bins(table, by=by).to_csv(out_dir / "transfer_bins.csv", index=False)
    for name, part in table.groupby("eval_set"):
        plot_gain_vs_distance(part, out_dir / f"transfer_{name}.png", col=by[0] if by else None)


def format_table(table: pd.DataFrame) -> str:
    return table.to_string(float_format=lambda v: f"{v:.3f}")


def evaluated_questions(df: pd.DataFrame) -> int:
    """Questions one job evaluates (its multilingual setting's query groups), the same for every job of a sweep."""
    first = df.job.iloc[0]
    return int(df[(df.job == first) & (df.stage == "trained") & (df.setting == "multi")
                  & (df.query_lang != "all") & (df.metric == "map")].n_queries.sum())
