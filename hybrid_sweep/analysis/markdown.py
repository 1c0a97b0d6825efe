"""Markdown for the reports: tables, the paired-test cells, the stale-results warning."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from hybrid_sweep.analysis.summary import HEADLINE_CELLS, SETTINGS, seed_summary


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


def truncation_note(df: pd.DataFrame) -> list[str]:
    """A warning line for results whose evaluation cut texts at the training length (every result written
    before evaluation read whole texts has no ``passage_max_length`` column): stale until rerun."""
    if "passage_max_length" in df and df["passage_max_length"].notna().all():
        return []
    return ["> **Stale:** these results were evaluated with questions and candidates cut at the training length "
            "(64 tokens for me5_small), before evaluation read whole texts; rerun them for numbers comparable "
            "with untruncated evaluation.", ""]


def paired_markdown(table: pd.DataFrame, keys: Sequence[str]) -> str:
    """One line per comparison: each (setting, metric) cell as ``diff [low, high] p`` (and the Benjamini–Hochberg
    ``q`` and the t-test over seeds, ``seed_p``, when the table has them), with the per-seed differences. mAP
    cells are headed by their setting alone."""
    if table.empty:
        return "(no finished pairs of jobs)"
    cells = table.assign(
        column=[s if m == "map" else f"{s} {m}" for s, m in zip(table.setting, table.get("metric", "map"))],
        cell=[f"{'**' if r.robust else ''}{r.diff:+.3f}{'**' if r.robust else ''} "
              f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}] p={r.p:.2g}" + (f" q={r.q:.2g}" if "q" in table else "")
              + (f" seeds' t-test p={r.seed_p:.2g}" if "seed_p" in table and r.seed_p == r.seed_p else "")
              + (f"<br>seeds: {r.per_seed}" if r.per_seed.count(" ") else "")
              for r in table.itertuples()])
    wide = cells.pivot_table(index=[*keys, "comparison"], columns="column", values="cell", aggfunc="first",
                             sort=False)
    return markdown_table(wide[list(dict.fromkeys(cells.column))])


def fmt(table: pd.DataFrame) -> str:
    return markdown_table(table) if not table.empty else "(no finished jobs)"


def missing_markdown(missing: Sequence[dict[str, str]]) -> list[str]:
    """A section listing a sweep's grid points without results (none: no lines)."""
    if not missing:
        return []
    return ["## Missing jobs", "", *(f"- {' '.join(f'{k}={v}' for k, v in job.items())}" for job in missing), ""]


def interval_table(df: pd.DataFrame, label: Callable) -> pd.DataFrame:
    """The headline cells (mono / cross / multi mAP, multi language bias in ranks) per configuration as
    ``mean [95% t-interval over seeds]`` with the seeds; ``label(summary_row)`` names a trained row's
    configuration (a hashable key; the zero-shot row is ``"zero-shot"``)."""
    rows: dict = {}
    for metric, digits in (("map", 3), ("lang_bias", 1)):
        for r in seed_summary(df, metric).itertuples():
            if (r.setting, metric) not in HEADLINE_CELLS:
                continue
            key = "zero-shot" if r.stage == "zero_shot" else label(r)
            column = r.setting if metric == "map" else "multi bias (ranks)"
            rows.setdefault(key, {})[column] = (f"{r.mean:.{digits}f}" if r.n < 2 else
                                                f"{r.mean:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]")
            rows[key]["seeds"] = int(r.n) if r.stage == "trained" else "-"
    table = pd.DataFrame.from_dict(rows, orient="index", dtype=object)
    return table[[c for c in (*SETTINGS, "multi bias (ranks)", "seeds") if c in table]]
