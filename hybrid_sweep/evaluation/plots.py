"""Plots of one evaluation (matplotlib, Agg backend, no display): the language-pair mAP heatmap,
per-language bars with languages unseen in training marked, and the language-bias histogram."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hybrid_sweep.evaluation.results import ResultRow

UNSEEN_COLOR = "#b2182b"
SETTING_COLORS = {"mono": "#4c72b0", "cross": "#dd8452", "multi": "#55a868"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _frame(rows: Sequence[ResultRow | Mapping]) -> pd.DataFrame:
    """Rows as objects (an evaluation) or as dicts (read back from results.json) -> one frame."""
    cols = ["setting", "query_lang", "doc_lang", "metric", "value"]
    return pd.DataFrame([{c: (r[c] if isinstance(r, Mapping) else getattr(r, c)) for c in cols} for r in rows])


def _mark_unseen(labels, seen: set[str]) -> None:
    for label in labels:
        if seen and label.get_text() not in seen:
            label.set_color(UNSEEN_COLOR)
            label.set_fontweight("bold")


def pair_heatmap(frame: pd.DataFrame, path: Path, seen: set[str], metric: str = "map") -> Path:
    plt = _pyplot()
    pairs = frame[frame.setting.isin(["mono", "cross"]) & (frame.query_lang != "all") & (frame.metric == metric)]
    grid = pairs.pivot(index="query_lang", columns="doc_lang", values="value")
    langs = sorted(set(grid.index) | set(grid.columns))
    grid = grid.reindex(index=langs, columns=langs)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(langs), 0.8 + 0.55 * len(langs)))
    im = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", vmin=0.0, vmax=max(1e-9, np.nanmax(grid.to_numpy())))
    for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 * np.nanmax(grid.to_numpy()) else "black",
                    fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(langs)), langs)
    _mark_unseen(ax.get_xticklabels() + ax.get_yticklabels(), seen)
    ax.set_xlabel("candidate (document) language")
    ax.set_ylabel("query language")
    note = "  (red: unseen in training)" if seen and set(langs) - seen else ""
    ax.set_title(f"{metric} per language pair; diagonal = mono{note}", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def language_bars(frame: pd.DataFrame, path: Path, seen: set[str], metric: str = "map") -> Path:
    """Per query language: mono, cross (mean over the other candidate languages) and multi ``metric``."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    m = frame[(frame.metric == metric) & (frame.query_lang != "all")]
    langs = sorted(m.query_lang.unique())
    values = {
        "mono": m[m.setting == "mono"].set_index("query_lang").value,
        "cross": m[m.setting == "cross"].groupby("query_lang").value.mean(),
        "multi": m[m.setting == "multi"].set_index("query_lang").value,
    }
    fig, ax = plt.subplots(figsize=(1.5 + 0.75 * len(langs), 3.8))
    x = np.arange(len(langs))
    for k, (setting, series) in enumerate(values.items()):
        heights = series.reindex(langs).to_numpy(dtype=float)
        bars = ax.bar(x + (k - 1) * 0.27, heights, 0.27, color=SETTING_COLORS[setting])
        for bar, lang in zip(bars, langs):
            if seen and lang not in seen:
                bar.set_hatch("///")
                bar.set_edgecolor(UNSEEN_COLOR)
    ax.set_xticks(x, langs)
    _mark_unseen(ax.get_xticklabels(), seen)
    ax.set_ylabel(metric)
    ax.set_xlabel("query language")
    ax.set_ylim(0, 1.15)  # headroom for the legend
    handles = [Patch(facecolor=SETTING_COLORS[k], label=k) for k in values]  # bars may carry the unseen hatch
    title = f"{metric} per query language"
    if seen and set(langs) - seen:
        handles.append(Patch(facecolor="white", edgecolor=UNSEEN_COLOR, hatch="///", label="unseen in training"))
        title += f" (seen: {', '.join(sorted(seen))})"
    ax.legend(handles=handles, ncols=len(handles), fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def bias_histogram(per_query: pd.DataFrame, path: Path, seen: set[str]) -> Path:
    """Distribution over queries of the multilingual rank gap between a question's parallel answers."""
    plt = _pyplot()
    bias = per_query[(per_query.setting == "multi") & (per_query.metric == "lang_bias")]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    bins = np.linspace(0, max(float(bias.value.max()), 1e-6), 41)
    groups = {"all queries": bias.value}
    if seen and set(bias.query_lang) - seen:
        is_seen = bias.query_lang.astype(str).isin(seen)
        groups = {"seen query language": bias.value[is_seen], "unseen query language": bias.value[~is_seen]}
    ax.hist(list(groups.values()), bins=bins, stacked=True, label=list(groups),
            color=["#4c72b0", UNSEEN_COLOR][: len(groups)])
    mean, median = float(bias.value.mean()), float(bias.value.median())
    ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.3f}")
    ax.axvline(median, color="gray", linestyle=":", linewidth=1, label=f"median {median:.3f}")
    ax.set_xlabel("language bias: highest - lowest rank of the parallel answers (lower is better)")
    ax.set_ylabel("queries")
    ax.set_title(f"language bias over {len(bias)} queries (multilingual pool; lower is better)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_plots(rows: Sequence[ResultRow | Mapping], per_query: pd.DataFrame | None, out_dir: Path,
               seen_langs: Sequence[str] = (), prefix: str = "") -> list[Path]:
    """Write the PNGs of one evaluation (one stage) into ``out_dir``; returns their paths.

    ``seen_langs`` are the training languages: the others are drawn in red/hatched. Empty: none marked.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame, seen = _frame(rows), set(seen_langs)
    paths = [pair_heatmap(frame, out_dir / f"{prefix}map_heatmap.png", seen),
             language_bars(frame, out_dir / f"{prefix}map_by_language.png", seen)]
    if per_query is not None:
        paths.append(bias_histogram(per_query, out_dir / f"{prefix}lang_bias_hist.png", seen))
    return paths
