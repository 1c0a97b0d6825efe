"""Plots of one evaluation as matplotlib ``Figure`` objects (no pyplot state, no display): the language-pair
mAP heatmap, per-language bars with languages unseen in training marked, and the language-bias histogram.
Sizes and fonts scale with the number of languages, up to SIB-200's ~200, within bounded figures."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hybrid_sweep.evaluation.results import ResultRow
from hybrid_sweep.evaluation.uncertainty import bootstrap_ci

UNSEEN_COLOR = "#b2182b"
SETTING_COLORS = {"mono": "#4c72b0", "cross": "#dd8452", "multi": "#55a868"}
BAR_CI_MAX = 60  # languages up to which bars carry intervals (SIB-200's 205 would cost minutes for hairlines)
CELL_TEXT_MAX = 20  # languages up to which heatmap cells carry their value; past it the text is unreadable


def _frame(rows: Sequence[ResultRow | Mapping]) -> pd.DataFrame:
    """Rows as objects (an evaluation) or as dicts (read back from results.json) -> one frame."""
    cols = ["setting", "query_lang", "doc_lang", "metric", "value"]
    return pd.DataFrame([{c: (r[c] if isinstance(r, Mapping) else getattr(r, c)) for c in cols} for r in rows])


def _mark_unseen(labels, seen: set[str]) -> None:
    for label in labels:
        if seen and label.get_text() not in seen:
            label.set_color(UNSEEN_COLOR)
            label.set_fontweight("bold")


def _tick_size(slot_inches: float) -> float:
    """A font size (points) that fits a tick label into a slot of that many inches, within 3..8."""
    return float(np.clip(0.8 * 72 * slot_inches, 3, 8))


def _seen_note(seen: set[str], shown: int = 12) -> str:
    return ", ".join(sorted(seen)) if len(seen) <= shown else f"{len(seen)} languages"


def pair_heatmap(frame: pd.DataFrame, seen: set[str], metric: str = "map") -> Figure:
    """Query x candidate language ``metric``. Colours span the data's own min..max (stated on the colourbar),
    since trained models sit in a narrow band that a 0-based scale paints in one colour."""
    pairs = frame[frame.setting.isin(["mono", "cross"]) & (frame.query_lang != "all") & (frame.metric == metric)]
    grid = pairs.pivot(index="query_lang", columns="doc_lang", values="value")
    langs = sorted(set(grid.index) | set(grid.columns))
    values = grid.reindex(index=langs, columns=langs).to_numpy(dtype=float)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    n = len(langs)
    cell = 0.62 if n <= CELL_TEXT_MAX else 0.12
    height = min(1.2 + cell * n, 18.0)
    fig = Figure(figsize=(min(2.0 + cell * n, 20.0), height))
    ax = fig.subplots()
    im = ax.imshow(values, cmap="viridis", vmin=lo, vmax=hi)
    if n <= CELL_TEXT_MAX:
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                dark = (v - lo) < 0.6 * (hi - lo)  # viridis is dark at the low end
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if dark else "black",
                        fontweight="bold" if i == j else "normal")
    size = _tick_size((height - 1.2) / n)
    ax.set_xticks(range(n), langs, fontsize=size, rotation=0 if n <= CELL_TEXT_MAX else 90)
    ax.set_yticks(range(n), langs, fontsize=size)
    _mark_unseen(ax.get_xticklabels() + ax.get_yticklabels(), seen)
    ax.set_xlabel("candidate (document) language")
    ax.set_ylabel("query language")
    note = "  (red: unseen in training)" if seen and set(langs) - seen else ""
    ax.set_title(f"{metric} per language pair; diagonal = mono{note}", fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label(f"{metric}, colours span the data: {lo:.3f} to {hi:.3f}", fontsize=8)
    fig.tight_layout()
    return fig


def language_intervals(per_query: pd.DataFrame, metric: str = "map") -> dict[str, pd.DataFrame]:
    """Per setting, a (query_lang -> low, high) table of bootstrap 95% intervals over parallel question ids;
    cross is the macro over candidate languages, as its bar."""
    sel = per_query[(per_query.metric == metric) & per_query.setting.isin(["mono", "cross", "multi"])]
    out = {}
    for setting, part in sel.groupby("setting", observed=True):
        rows = {}
        for lang, group in part.groupby("query_lang", observed=True):
            matrix = group.pivot_table(index="doc_lang", columns="qid", values="value", aggfunc="first", observed=True)
            ci = bootstrap_ci(matrix.to_numpy(dtype=float), n_boot=300)
            rows[lang] = (ci.low, ci.high)
        out[setting] = pd.DataFrame.from_dict(rows, orient="index", columns=["low", "high"])
    return out


def language_bars(frame: pd.DataFrame, seen: set[str], metric: str = "map",
                  intervals: dict[str, pd.DataFrame] | None = None) -> Figure:
    """Per query language: mono, cross (mean over the other candidate languages) and multi ``metric``, with
    the 95% interval over questions of each bar when ``intervals`` (:func:`language_intervals`) is given."""
    m = frame[(frame.metric == metric) & (frame.query_lang != "all")]
    langs = sorted(m.query_lang.unique())
    values = {
        "mono": m[m.setting == "mono"].set_index("query_lang").value,
        "cross": m[m.setting == "cross"].groupby("query_lang").value.mean(),
        "multi": m[m.setting == "multi"].set_index("query_lang").value,
    }
    n = len(langs)
    width = min(1.5 + 0.75 * n, 9.0 + 0.12 * n, 26.0)
    fig = Figure(figsize=(width, 3.8))
    ax = fig.subplots()
    x = np.arange(n)
    for k, (setting, series) in enumerate(values.items()):
        heights = series.reindex(langs).to_numpy(dtype=float)
        errors = None
        if intervals and setting in intervals:
            ci = intervals[setting].reindex(langs)
            errors = np.nan_to_num(np.vstack([heights - ci["low"].to_numpy(), ci["high"].to_numpy() - heights]))
        bars = ax.bar(x + (k - 1) * 0.27, heights, 0.27, color=SETTING_COLORS[setting], yerr=errors,
                      error_kw={"elinewidth": 0.8, "capsize": 1.5 if n <= CELL_TEXT_MAX else 0, "ecolor": "0.25"})
        for bar, lang in zip(bars, langs):
            if seen and lang not in seen:
                bar.set_hatch("///")
                bar.set_edgecolor(UNSEEN_COLOR)
                bar.set_linewidth(min(1.0, CELL_TEXT_MAX / n))  # thin bars: a full edge would hide the colour
    ax.set_xticks(x, langs, fontsize=_tick_size(0.85 * width / n), rotation=0 if n <= CELL_TEXT_MAX else 90)
    _mark_unseen(ax.get_xticklabels(), seen)
    ax.set_ylabel(metric)
    ax.set_xlabel("query language")
    ax.set_ylim(0, 1.15)  # headroom for the legend
    handles = [Patch(facecolor=SETTING_COLORS[k], label=k) for k in values]  # bars may carry the unseen hatch
    title = f"{metric} per query language" + (" (95% CI over questions)" if intervals else "")
    if seen and set(langs) - seen:
        handles.append(Patch(facecolor="white", edgecolor=UNSEEN_COLOR, hatch="///", label="unseen in training"))
        title += f" (seen: {_seen_note(seen)})"
    ax.legend(handles=handles, ncols=len(handles), fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def bias_histogram(per_query: pd.DataFrame, seen: set[str]) -> Figure:
    """Distribution over queries of the multilingual rank gap between a question's parallel answers."""
    bias = per_query[(per_query.setting == "multi") & (per_query.metric == "lang_bias")]
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
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
    return fig


def save_plots(rows: Sequence[ResultRow | Mapping], per_query: pd.DataFrame | None, out_dir: Path,
               seen_langs: Sequence[str] = (), prefix: str = "") -> list[Path]:
    """Write the PNGs of one evaluation (one stage) into ``out_dir``; returns their paths.

    ``seen_langs`` are the training languages: the others are drawn in red/hatched. Empty: none marked.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame, seen = _frame(rows), set(seen_langs)
    intervals = (language_intervals(per_query) if per_query is not None
                 and frame.query_lang.nunique() <= BAR_CI_MAX else None)
    figures = {"map_heatmap": pair_heatmap(frame, seen), "map_by_language": language_bars(frame, seen, "map", intervals)}
    if per_query is not None:
        figures["lang_bias_hist"] = bias_histogram(per_query, seen)
    paths = []
    for name, fig in figures.items():
        paths.append(out_dir / f"{prefix}{name}.png")
        fig.savefig(paths[-1], dpi=120)
    return paths
