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


DISTANCE_KINDS = ("syntactic", "genetic", "geographic", "featural")
SEEN_GROUPS = ("trained language", "seen family", "seen script only", "unseen family and script")
RUN_KEYS = ("sweep", "job")


def family(lang: str) -> str | None:
    """A language's family as URIEL (Glottolog) names it, for every language alike: the WALS table of the
    11 XQuAD-R languages spells some differently (Austro-Asiatic / Austroasiatic), which would split one
    family in two when they are compared or grouped with the other 190."""
    from hybrid_sweep.languages import get_language
    from hybrid_sweep.languages.typology import uriel_genealogy

    language = get_language(lang)
    return uriel_genealogy(language.iso639_3)[0] or language.family


def language_values(rows: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """One value per (run, stage, evaluation set, language): what the set says about that language.
    Where questions come in many languages (SIB-200, Tatoeba, AfriQA, XQuAD-R) it is the language's
    pooled multilingual row (its queries against every language); where they come in one or two (Belebele:
    en, de) it is the row from the query language with the most rows (en, the pivot) into that language's
    passages."""
    keep = (rows.metric == metric) & (rows.query_lang != "all")
    out = []
    for eval_set, part in rows[keep].groupby("eval_set" if "eval_set" in rows else "eval_data", sort=False):
        queries = part.query_lang.value_counts()  # most rows first: the pivot (en) has a row per language
        if len(queries) > 2:
            sub = part[part.setting == "multi"].assign(lang=lambda f: f.query_lang)
        else:
            sub = part[(part.setting != "multi") & (part.query_lang == queries.index[0])].assign(lang=lambda f: f.doc_lang)
        out.append(sub.assign(eval_set=eval_set))
    return pd.concat(out, ignore_index=True) if out else rows.iloc[:0].assign(lang=[])


def transfer_table(rows: pd.DataFrame, metric: str = "map", kinds: Sequence[str] = DISTANCE_KINDS) -> pd.DataFrame:
    """Per run, evaluation set and language: zero-shot and trained value, the gain (absolute, and ``relative``
    to the zero-shot headroom, gain / (1 − zero-shot)), the language's URIEL
    distances to its nearest training language (``<kind>_nearest``) and to the training set on average
    (``<kind>_mean``), and whether it, its family or its script was trained on (``seen_group``). NaN where
    URIEL has no vector for the language."""
    from hybrid_sweep.languages import get_language

    values = language_values(rows, metric)
    keys = [k for k in RUN_KEYS if k in values] + ["eval_set", "lang"]
    extra = [c for c in ("batching", "langs", "group", "steps", "model", "train_langs", "seed")
             if c in values and c not in keys]
    wide = values.pivot_table(index=keys + extra, columns="stage", values="value", aggfunc="first").reset_index()
    if not {"zero_shot", "trained"} <= set(wide.columns):
        raise ValueError("the transfer analysis needs zero_shot and trained rows of the same runs")
    wide = wide.dropna(subset=["zero_shot", "trained"])
    wide["gain"] = wide.trained - wide.zero_shot
    # what share of its headroom a language gained: distant languages start lower, so absolute gains alone
    # would read their larger headroom as better transfer
    wide["relative"] = (wide.gain / (1 - wide.zero_shot)).where(wide.zero_shot < 1)
    langs = sorted(set(wide.lang) | {l for t in wide.train_langs for l in _trained(t)})
    matrices = {k: distance_matrix(langs, k, strict=False) for k in kinds}
    info = {l: get_language(l) for l in langs}
    families = {l: family(l) for l in langs}
    for kind, d in matrices.items():
        wide[f"{kind}_nearest"] = [d.loc[l, sorted(_trained(t))].min() for l, t in zip(wide.lang, wide.train_langs)]
        wide[f"{kind}_mean"] = [d.loc[l, sorted(_trained(t))].mean() for l, t in zip(wide.lang, wide.train_langs)]

    def group(lang: str, trained: str) -> str:
        seen = _trained(trained)
        if lang in seen:
            return SEEN_GROUPS[0]
        if families[lang] is not None and families[lang] in {families[t] for t in seen}:
            return SEEN_GROUPS[1]
        return SEEN_GROUPS[2] if info[lang].script in {info[t].script for t in seen} else SEEN_GROUPS[3]

    wide["family"] = [families[l] for l in wide.lang]
    wide["script"] = [info[l].script for l in wide.lang]
    wide["seen_group"] = pd.Categorical([group(l, t) for l, t in zip(wide.lang, wide.train_langs)],
                                        categories=SEEN_GROUPS)
    return wide


def _spearman_rows(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair (Pearson on average ranks, as ``scipy.stats.spearmanr``), NaN for a
    row without spread: one vectorised pass over every bootstrap resample."""
    from scipy import stats

    rx, ry = (stats.rankdata(v, axis=1) for v in (xs, ys))
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))


def gain_correlation(table: pd.DataFrame, by: Sequence[str] = (), kinds: Sequence[str] = DISTANCE_KINDS,
                     n_boot: int = 1000, seed: int = 0, value: str = "gain") -> pd.DataFrame:
    """Spearman rank correlation of ``value`` (the gain, or ``relative``: its share of the headroom) with each
    distance (to the nearest training language), with a 95% bootstrap interval over languages, overall and per
    ``seen_group``, within each ``by`` group. Each language counts once: its value and distances are averaged
    over the group's runs (seeds), so neither the estimate nor the resampling treats a language's seeds as
    independent languages."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    out = []
    columns = {"y": (value, "mean"), "seen_group": ("seen_group", "first"),
               **{f"{k}_nearest": (f"{k}_nearest", "mean") for k in kinds}}
    for key, runs in table.groupby(["eval_set", *by], observed=True):
        key = key if isinstance(key, tuple) else (key,)
        part = runs.groupby("lang", observed=True).agg(**columns)
        for seen, sub in [("all", part)] + [(s, part[part.seen_group == s]) for s in SEEN_GROUPS]:
            for kind in kinds:
                x, y = sub[f"{kind}_nearest"].to_numpy(), sub.y.to_numpy()
                ok = np.isfinite(x) & np.isfinite(y)
                x, y = x[ok], y[ok]
                row = {**dict(zip(["eval_set", *by], key)), "value": value, "seen_group": seen, "distance": kind,
                       "n": len(x)}
                if len(x) >= 5 and np.ptp(x) > 0 and np.ptp(y) > 0:
                    draws = rng.integers(0, len(x), (n_boot, len(x)))  # one draw of languages for both columns
                    boot = _spearman_rows(x[draws], y[draws])
                    row.update(spearman=float(stats.spearmanr(x, y)[0]), ci_low=float(np.nanpercentile(boot, 2.5)),
                               ci_high=float(np.nanpercentile(boot, 97.5)))
                out.append(row)
    return pd.DataFrame(out)


def pair_correlation(pairs: pd.DataFrame, value: str = "value", n_boot: int = 1000, seed: int = 0) -> dict:
    """Spearman correlation of a per-pair ``value`` with the pair's ``distance`` (one row per ordered pair
    ``query_lang, doc_lang``), with a 95% interval from a bootstrap over languages: each resample draws the
    languages with replacement and keeps every ordered pair of two different drawn languages. Pairs that share
    a language move together, as they should: each of L languages is in 2(L − 1) of the L(L − 1) pairs, so
    resampling pairs as if independent would make the interval too narrow."""
    from scipy import stats

    langs = sorted(set(pairs.query_lang) | set(pairs.doc_lang))
    at = {lang: i for i, lang in enumerate(langs)}
    v, d = (np.full((len(langs), len(langs)), np.nan) for _ in range(2))
    q, p = pairs.query_lang.map(at).to_numpy(), pairs.doc_lang.map(at).to_numpy()
    v[q, p], d[q, p] = pairs[value].to_numpy(dtype=float), pairs.distance.to_numpy(dtype=float)
    ok = np.isfinite(v) & np.isfinite(d)
    out = {"pairs": int(ok.sum()), "languages": len(langs), "spearman": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if ok.sum() < 5 or np.ptp(v[ok]) == 0 or np.ptp(d[ok]) == 0:
        return out
    out["spearman"] = float(stats.spearmanr(d[ok], v[ok])[0])
    rng, boot = np.random.default_rng(seed), []
    for _ in range(n_boot):
        draw = rng.integers(0, len(langs), len(langs))
        a, b = np.meshgrid(draw, draw, indexing="ij")
        keep = (a != b) & ok[a, b]
        x, y = d[a, b][keep], v[a, b][keep]
        if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            boot.append(stats.spearmanr(x, y)[0])
    if boot:
        out["ci_low"], out["ci_high"] = (float(np.percentile(boot, pct)) for pct in (2.5, 97.5))
    return out


def gain_bins(table: pd.DataFrame, by: Sequence[str] = (), kind: str = "syntactic", bins: int = 4) -> pd.DataFrame:
    """Mean gain (and zero-shot, trained values) per quantile bin of the distance to the nearest training
    language, within each evaluation set and ``by`` group."""
    out = []
    for key, part in table.groupby(["eval_set", *by], observed=True):
        part = part.dropna(subset=[f"{kind}_nearest"])
        if part.empty:
            continue
        binned = pd.qcut(part[f"{kind}_nearest"].rank(method="first"), min(bins, len(part)), labels=False)
        for b, sub in part.groupby(binned):
            key_ = key if isinstance(key, tuple) else (key,)
            out.append({**dict(zip(["eval_set", *by], key_)), "bin": int(b) + 1,
                        f"{kind}_from": sub[f"{kind}_nearest"].min(), f"{kind}_to": sub[f"{kind}_nearest"].max(),
                        "languages": sub.lang.nunique(), "zero_shot": sub.zero_shot.mean(),
                        "trained": sub.trained.mean(), "gain": sub.gain.mean()})
    return pd.DataFrame(out)


def plot_gain_vs_distance(table: pd.DataFrame, path: str | Path | None = None, kind: str = "syntactic",
                          col: str | None = None, metric_label: str = "mAP"):
    """Gain over zero-shot against the distance to the nearest training language, one point per
    (run, language), coloured by what of the language was seen, with a least-squares trend per panel."""
    from matplotlib.figure import Figure

    panels = [(None, table)] if col is None else list(table.groupby(col, observed=True))
    fig = Figure(figsize=(4.8 * len(panels), 4))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)
    colours = dict(zip(SEEN_GROUPS, ("tab:green", "tab:blue", "tab:orange", "tab:red")))
    for ax, (name, part) in zip(axes[0], panels):
        part = part.dropna(subset=[f"{kind}_nearest"])
        for seen in SEEN_GROUPS:
            sub = part[part.seen_group == seen]
            if len(sub):
                ax.scatter(sub[f"{kind}_nearest"], sub.gain, s=12, alpha=0.6, color=colours[seen],
                           label=f"{seen} (n={len(sub)})")
        if len(part) >= 2 and part[f"{kind}_nearest"].nunique() > 1:
            slope, intercept = np.polyfit(part[f"{kind}_nearest"], part.gain, 1)
            xs = np.linspace(part[f"{kind}_nearest"].min(), part[f"{kind}_nearest"].max(), 20)
            ax.plot(xs, slope * xs + intercept, color="black", lw=1.2, label=f"trend {slope:+.3f} per unit")
        ax.axhline(0.0, color="grey", lw=0.8)
        sets = ", ".join(map(str, part.eval_set.unique())) if "eval_set" in part else ""
        ax.set_title(f"{sets}: " + (f"{col}={name}" if col else "gain over zero-shot"), fontsize=10)
        ax.set_xlabel(f"URIEL {kind} distance to the nearest training language")
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{metric_label}: trained - zero-shot")
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
