"""Does cross-lingual retrieval get harder with typological distance, and does training on a language help?

Reads the tidy result rows every run writes (``setting, query_lang, doc_lang, metric, value, train_langs``
plus run keys), so it works on anything ``aggregate`` loads. Correlations need scipy (``pip install scipy``).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hybrid_sweep.languages import distance_matrix

SEEN_ORDER = ("both", "one", "neither")  # how many of the pair's two languages were trained on


def _trained(value) -> set[str]:
    if isinstance(value, str):
        return {c for c in value.split(",") if c}
    return set(value) if value is not None else set()


def pair_distances(rows: pd.DataFrame, metric: str = "map", kind: str = "syntactic", setting: str = "cross",
                   stage: str | None = "trained") -> pd.DataFrame:
    """One row per (run, ordered language pair) of a cross-lingual metric, with the pair's URIEL distance
    and whether the query and document languages were training languages of that run."""
    need = {"setting", "query_lang", "doc_lang", "metric", "value", "train_langs"}
    missing = need - set(rows.columns)
    if missing:
        raise ValueError(f"result rows lack column(s) {sorted(missing)}")
    keep = ((rows.setting == setting) & (rows.metric == metric) & (rows.query_lang != "all")
            & (rows.doc_lang != "all") & (rows.query_lang != rows.doc_lang))
    if stage is not None and "stage" in rows.columns:
        keep &= rows.stage == stage
    table = rows[keep].reset_index(drop=True)
    if table.empty:
        raise ValueError(f"no per-pair rows with setting={setting!r}, metric={metric!r}, stage={stage!r}")
    langs = sorted(set(table.query_lang) | set(table.doc_lang))
    d = distance_matrix(langs, kind)
    table["distance"] = [d.at[a, b] for a, b in zip(table.query_lang, table.doc_lang)]
    trained = table.train_langs.map(_trained)
    table["query_seen"] = [q in t for q, t in zip(table.query_lang, trained)]
    table["doc_seen"] = [p in t for p, t in zip(table.doc_lang, trained)]
    seen = table.query_seen.astype(int) + table.doc_seen.astype(int)
    table["seen"] = pd.Categorical(seen.map({2: "both", 1: "one", 0: "neither"}), categories=SEEN_ORDER)
    return table


def distance_correlation(table: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Spearman and Pearson correlation of ``value`` with ``distance``: over all pairs and per ``seen``
    group, within each combination of the ``by`` columns (e.g. ``["batching", "langs"]``)."""
    try:
        from scipy import stats
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("distance_correlation needs scipy: pip install scipy") from exc
    out = []
    for key, group in table.groupby(list(by), observed=True) if by else [((), table)]:
        key = key if isinstance(key, tuple) else (key,)
        parts = [("all", group)] + [(s, group[group.seen == s]) for s in SEEN_ORDER]
        for seen, part in parts:
            row = {**dict(zip(by, key)), "seen": seen, "n": len(part)}
            if len(part) >= 3 and part.value.nunique() > 1 and part.distance.nunique() > 1:
                rho, rho_p = stats.spearmanr(part.distance, part.value)
                r, r_p = stats.pearsonr(part.distance, part.value)
                row.update(spearman=float(rho), spearman_p=float(rho_p), pearson=float(r), pearson_p=float(r_p))
            else:
                row.update(spearman=np.nan, spearman_p=np.nan, pearson=np.nan, pearson_p=np.nan)
            out.append(row)
    return pd.DataFrame(out)


def plot_distance_scatter(table: pd.DataFrame, path: str | Path | None = None, col: str | None = None,
                          metric_label: str = "cross-lingual mAP", kind: str = "syntactic"):
    """Scatter of the metric against distance, coloured by how many of the pair's languages were trained;
    one panel per value of ``col`` (e.g. ``batching``). Returns the figure; saves it when ``path`` is set."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    panels = [(None, table)] if col is None else list(table.groupby(col, observed=True))
    fig = Figure(figsize=(4.6 * len(panels), 4))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)
    colours = {"both": "tab:green", "one": "tab:orange", "neither": "tab:red"}
    for ax, (name, part) in zip(axes[0], panels):
        stats = distance_correlation(part).set_index("seen")
        for seen in SEEN_ORDER:
            sub = part[part.seen == seen]
            if len(sub):
                rho = stats.at[seen, "spearman"]
                label = f"{seen} trained (n={len(sub)}" + (f", ρ={rho:.2f})" if np.isfinite(rho) else ")")
                ax.scatter(sub.distance, sub.value, s=14, alpha=0.7, color=colours[seen], label=label)
        title = f"{col}={name}: " if col else ""
        ax.set_title(f"{title}Spearman ρ={stats.at['all', 'spearman']:.2f}", fontsize=10)
        ax.set_xlabel(f"URIEL {kind} distance (query, document language)")
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric_label)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
