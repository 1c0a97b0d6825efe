"""The rebuilt answer (#17) on a real tiny-model grid of the rebuild preset: 1 language (mono) and
2 languages (mono, hybrid), 2 seeds, with el, th, tr, vi never trained; a declared cell that never ran; bf16
twins; diverse and similar 2-language sets with zh held out too."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hybrid_sweep.analysis.rebuild import (DESIGN, REEVALUATE, Cell, comparison_pairs, missing_commands, phase7_commands,
                                           write_rebuild)
from hybrid_sweep.analysis.rebuild_answer import SETTING_NAMES, certainty, conclusions_moved, count_answer, marked
from hybrid_sweep.analysis.rebuild_labels import (PER_LANGUAGE, against_one, budget_label, design_order, diverse_similar,
                                                  hybrid_against, is_against_one, is_hybrid_against, is_past_two,
                                                  past_two, total_design)
from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import PROJECT_ROOT

TINY = ["model=tiny", "trainer.max_steps=2", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "data.eval_articles=2", "eval.batch_size=128", "data.eval.sib200.languages=stratified:12",
        "data.eval.sib200.max_ids=8"]
SMALL_DESIGN = (Cell("a", 1, "mono", 2, 2), Cell("a", 2, "mono", 2, 2), Cell("a", 2, "hybrid", 2, 2),
                Cell("b", 2, "cross", 2, 1),
                Cell("c", 2, "mono", 2, 2, (("precision", "bf16-mixed"),), ("trainer.precision=bf16-mixed",), False),
                *(Cell("d", 2, "mono", 2, 2, (("group", g), ("heldout_langs", "el,th,tr,vi,zh")), (), False)
                  for g in ("diverse", "similar")))
TYPOLOGY = ["langs=2", "batching=mono", "group=diverse,similar", "anchor=en", "heldout_langs=[el,th,tr,vi,zh]"]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory, cache_dir):
    outputs, experiments = tmp_path_factory.mktemp("outputs"), tmp_path_factory.mktemp("experiments")
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(outputs), "HYBRID_SWEEP_CACHE": str(cache_dir)}
    own = f"eval.embedding_cache={tmp_path_factory.mktemp('embeddings')}"  # test_run counts the shared one's states
    for grid in (["langs=1", "batching=mono"], ["langs=2", "batching=mono,hybrid"],
                 ["langs=2", "batching=mono", "trainer.precision=bf16-mixed"], TYPOLOGY):
        cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "+experiment=rebuild", "seed=1,2", *grid, *TINY, own]
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    return outputs, experiments, write_rebuild(outputs, experiments, SMALL_DESIGN)


def results(experiments) -> list[dict]:
    """Each committed job's ``run`` keys and tidy ``rows``."""
    return [{"run": json.loads(p.read_text())["run"], "rows": read_results(p)}
            for p in sorted((experiments / "rebuild" / "runs").rglob("results.json"))]


def test_progress_counts_finished_seeds_and_names_the_command_for_the_rest(rebuilt):
    _, experiments, report = rebuilt
    progress = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "progress.csv")
    assert progress.seeds_done.tolist() == [2, 2, 2, 0, 2, 2, 2]
    assert progress.command.fillna("").tolist() == ["", "", "", progress.command.iloc[3], "", "", ""]
    assert progress.command.iloc[3] == ("python -m hybrid_sweep.run -m +experiment=rebuild seed=1 langs=2 "
                                        "batching=cross trainer.max_steps=2")
    text = report.read_text()
    assert "**12 of 13 planned jobs have finished**" in text and progress.command.iloc[3] in text
    outputs, _, _ = rebuilt
    assert missing_commands(outputs, experiments, SMALL_DESIGN) == [progress.command.iloc[3]]  # no phase-7 job
    assert not list((experiments / "rebuild" / "runs").rglob("*.png"))  # per-job plots stay out of git
    for path in (experiments / "rebuild" / "runs").rglob("per_query.parquet"):  # and so do most metrics
        assert set(pd.read_parquet(path).metric) == {"map", "lang_bias"}


def test_held_out_gains_are_the_mean_over_the_never_trained_languages(rebuilt):
    _, experiments, _ = rebuilt
    gains = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "heldout_gains.csv")
    for doc in results(experiments):
        run = doc["run"]
        assert set(run["train_langs"].split(",")).isdisjoint({"el", "th", "tr", "vi"})
        if run["precision"] != "32-true" or run["group"] != "nested":
            assert run["job"] not in set(gains.job)  # neither the precision check nor typology is in the grid
            continue
        value = {(r["stage"], r["query_lang"]): r["value"] for r in doc["rows"] if r["eval_set"] == "xquad_heldout"
                 and r["setting"] == "multi" and r["metric"] == "map" and r["doc_lang"] == "all"}
        expected = np.mean([value["trained", q] - value["zero_shot", q] for q in ("el", "th", "tr", "vi")])
        relative = np.mean([(value["trained", q] - value["zero_shot", q]) / (1 - value["zero_shot", q])
                            for q in ("el", "th", "tr", "vi")])
        row = gains[(gains.job == run["job"]) & (gains.setting == "multi") & (gains.group == "held out")]
        assert row.gain.item() == pytest.approx(expected, abs=1e-12)
        assert row.relative.item() == pytest.approx(relative, abs=1e-12)


def test_paired_tests_are_headline_differences_with_bh_and_the_report_rebuilds_alone(rebuilt, tmp_path):
    _, experiments, report = rebuilt
    paired = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "paired_counts.csv")
    assert set(paired.comparison) == {"mono at 2 − mono at 1", "hybrid at 2 − mono at 1", "hybrid − mono at 2"}
    head = {}
    for doc in results(experiments):
        run = doc["run"]
        if run["precision"] != "32-true" or run["group"] != "nested":
            continue
        for r in doc["rows"]:
            if (r["stage"] == "trained" and r["eval_set"] == "xquad_heldout" and r["query_lang"] == "all"
                    and r["doc_lang"] == "all"):
                head.setdefault((run["langs"], run["batching"], r["setting"], r["metric"]), []).append(r["value"])
    arms = {"mono at 2 − mono at 1": ((2, "mono"), (1, "mono")), "hybrid at 2 − mono at 1": ((2, "hybrid"), (1, "mono")),
            "hybrid − mono at 2": ((2, "hybrid"), (2, "mono"))}
    for row in paired.itertuples():
        a, b = arms[row.comparison]
        expected = np.mean(head[(*a, row.setting, row.metric)]) - np.mean(head[(*b, row.setting, row.metric)])
        assert row.diff == pytest.approx(expected, abs=1e-9) and row.p <= row.q <= 1
    assert len(paired) == 12 and paired.seed_p.isna().all()  # 2 seeds: no t-test over seeds
    assert (experiments / "lang_scaling" / "rebuild" / "counts.png").stat().st_size > 0
    assert (experiments / "lang_scaling" / "rebuild" / "transfer_correlation.csv").exists()
    assert write_rebuild(tmp_path / "no-outputs", experiments, SMALL_DESIGN).read_text() == report.read_text()


def test_the_answer_and_the_report_sit_above_their_tables_and_say_what_is_missing(rebuilt):
    """``answer.md`` is the report's opening (the answer, deviations, what changed) and the report's figure
    links resolve from where it is written; with cells missing both say so."""
    _, experiments, report = rebuilt
    assert report == experiments / "lang_scaling" / "report.md"
    answer = (experiments / "lang_scaling" / "answer.md").read_text()
    opening = answer.removesuffix("The evidence for every number: `report.md`.\n")
    assert opening != answer and report.read_text().startswith(opening)
    for heading in ("## The answer so far", "## Deviations from the paper", "## What changed from the previous"):
        assert heading in opening
    assert "## Progress per cell" not in answer
    assert re.search(r"\*\*\d+ of \d+ planned jobs have finished\*\*", answer)
    assert "## Missing cells and the commands that fill them" in report.read_text()
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report.read_text()):
        assert (report.parent / link).stat().st_size > 0


def test_the_declared_design_is_the_plan():
    """Shared cells are declared once (the per-language design's 2 languages x 24 steps is the total budget's
    too, with the larger seed count); the controls are there with their seeds."""
    keys = [(c.langs, c.batching, c.steps, c.keys) for c in DESIGN]
    assert len(keys) == len(set(keys))
    seeds = {(c.langs, c.batching, c.steps): c.seeds for c in DESIGN if not c.keys}
    assert seeds[(1, "mono", 24)] == seeds[(7, "hybrid", 24)] == 5 and seeds[(7, "cross", 384)] == 2
    assert seeds[(2, "mono", 24)] == 3 and seeds[(7, "mono", 84)] == 3 and (7, "cross", 84) not in seeds
    assert seeds[(7, "cross", 96)] == 2 and (4, "cross", 96) not in seeds  # the middle budget at counts 1 and 7


def test_counts_past_two_are_compared_with_two_languages_in_each_design_and_answered_apart():
    """Past two languages each strategy is compared with itself at two, at the design's own steps (the total
    budget's, or 12 a language); the answer reads those comparisons in their own block."""
    cells = [(24, 1, "mono"), (24, 2, "hybrid"), (24, 7, "hybrid"), (24, 7, "mono"), (84, 7, "hybrid")]
    configs = pd.DataFrame(cells, columns=["steps", "langs", "batching"])
    pairs = {(design, label): (a, b) for design, label, a, b in comparison_pairs(configs)}
    assert pairs["total, 24 steps", "hybrid at 7 − hybrid at 2"] == ((24, 7, "hybrid"), (24, 2, "hybrid"))
    assert pairs["total, 24 steps", "mono at 7 − mono at 2"] == ((24, 7, "mono"), (24, 2, "mono"))
    assert pairs["per-language, 12 steps a language", "hybrid at 7 − hybrid at 2"] == ((84, 7, "hybrid"),
                                                                                       (24, 2, "hybrid"))
    assert not any(label.endswith(" at 2") and " at 2 − " in label for _, label in pairs)  # two is the base
    row = {"metric": "map", "ci_low": -0.02, "ci_high": -0.01, "q": 0.01, "robust": True, "seed_p": 0.01,
           "per_seed": "-0.01 -0.02 -0.01", "design": "total, 24 steps", "diff": -0.015}
    paired = pd.DataFrame([{**row, "comparison": c, "setting": s, **({"diff": 0.1, "ci_low": 0.09, "ci_high": 0.11}
                                                                       if c.endswith("mono at 1") else {})}
                           for c in ("hybrid at 7 − mono at 1", "hybrid at 7 − hybrid at 2") for s in SETTING_NAMES])
    lines = count_answer(paired, pd.DataFrame(), 32)
    first, past = lines[:3], lines[lines.index("Past two languages, each strategy at 4 and 7 languages against itself "
                                               "at 2:") + 2:]
    assert all("more languages help at 768 pairs." in x and "hybrid at 7 **+0.100**" in x for x in first)
    assert all("more than two languages help at no budget" in x and "they hurt at 768 pairs" in x
               and "hybrid at 7 **-0.015**" in x for x in past) and len(past) == 3


def test_the_answer_reads_back_the_budgets_and_kinds_the_design_names():
    """The paired tables store designs and comparisons as text; the answer's readers must parse what the
    builders write, and tell the kinds of comparison apart."""
    assert [budget_label(d, 32) for d in sorted([PER_LANGUAGE, total_design(384), total_design(24)],
                                                key=design_order)] == ["768 pairs", "12,288 pairs",
                                                                       "384 pairs a language"]
    labels = pd.Series([against_one("hybrid", 7), past_two("cross", 4), hybrid_against("mono", 7),
                        diverse_similar("mono"), "alpha=0.3 (7 langs, hybrid, 24 steps) − grid", "hybrid − mono"])
    assert is_against_one(labels).tolist() == [True, False, False, False, False, False]
    assert is_past_two(labels).tolist() == [False, True, False, False, False, False]
    assert is_hybrid_against(labels).tolist() == [False, False, True, False, False, False]


def test_each_previous_conclusion_is_set_beside_the_rebuilt_number_or_says_it_is_not_run_yet():
    row = {"metric": "map", "setting": "multi", "ci_low": -0.02, "ci_high": -0.01, "q": 0.01, "robust": True,
           "seed_p": 0.01, "per_seed": "-0.01 -0.02 -0.01"}
    past_two = {**row, "comparison": "hybrid at 7 − hybrid at 2"}
    paired = pd.DataFrame([{**past_two, "design": "total, 24 steps", "diff": -0.015},
                           {**past_two, "design": "per-language, 12 steps a language", "diff": 0.02, "ci_low": 0.01,
                            "ci_high": 0.03, "seed_p": 0.2}])
    gains = pd.DataFrame({"setting": "multi", "steps": 24, "langs": 7, "batching": "hybrid", "seed": [1, 2, 1, 2],
                          "group": ["held out", "held out", "trained", "trained"], "gain": [0.2, 0.3, 0.1, 0.2]})
    typology = pd.DataFrame({"steps": 24, "langs": 4, "batching": ["cross", "cross", "mono", "mono"],
                             "gain": [0.01, 0.02, -0.01, 0.0]})
    count, hybrid, seen, kinds = conclusions_moved(paired, gains, typology)
    assert "**-0.015** (3 seeds) with the 768 pairs shared, +0.020† (3 seeds) with 384 pairs a language" in count
    assert "against one language: not run yet" in count and hybrid.count("not run yet") == 3
    assert "+0.250 on el, th, tr, vi" in seen and "against +0.150 on the trained languages" in seen
    assert "cross +0.015 [" in kinds and "mono -0.005 [" in kinds and "(2 seeds)" in kinds


def test_bf16_jobs_are_compared_with_their_fp32_twins_and_kept_out_of_the_grid(rebuilt):
    _, experiments, report = rebuilt
    check = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "precision_check.csv").set_index("cell")
    value = {}
    for doc in results(experiments):
        run = doc["run"]
        if run["langs"] == 2 and run["batching"] == "mono" and run["group"] == "nested":
            for r in doc["rows"]:
                if (r["stage"] == "trained" and r["eval_set"] == "xquad_heldout" and r["query_lang"] == "all"
                        and r["doc_lang"] == "all" and r["setting"] == "multi" and r["metric"] == "map"):
                    value[run["precision"], run["seed"]] = r["value"]
    assert len(value) == 4 and check.loc["multi map", "pairs"] == 2
    diffs = [abs(value["bf16-mixed", s] - value["32-true", s]) for s in (1, 2)]
    assert check.loc["multi map", "mean_abs_diff"] == pytest.approx(np.mean(diffs), abs=1e-12)
    assert check.loc["multi map", "seed_spread"] == pytest.approx(abs(value["32-true", 1] - value["32-true", 2]), abs=1e-12)
    assert "## bf16 training against fp32" in report.read_text()
    # the grid's (2, mono) cell holds the two fp32 jobs only
    gains = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "heldout_gains.csv")
    assert gains[(gains.langs == 2) & (gains.batching == "mono")].job.nunique() == 2


def test_typology_effect_is_read_on_the_languages_both_arms_hold_out(rebuilt):
    _, experiments, report = rebuilt
    held = ("el", "th", "tr", "vi", "zh")
    gain, relative, langs = {}, {}, {}
    for doc in results(experiments):
        run = doc["run"]
        if run["group"] == "nested":
            continue
        assert run["heldout_langs"] == ",".join(held) and run["train_langs"].startswith("en,")
        value = {(r["stage"], r["query_lang"]): r["value"] for r in doc["rows"] if r["eval_set"] == "xquad_heldout"
                 and r["setting"] == "multi" and r["metric"] == "map" and r["doc_lang"] == "all"}
        gain[run["group"], run["seed"]] = np.mean([value["trained", q] - value["zero_shot", q] for q in held])
        relative[run["group"], run["seed"]] = np.mean([(value["trained", q] - value["zero_shot", q])
                                                       / (1 - value["zero_shot", q]) for q in held])
        langs[run["group"]] = run["train_langs"]
    assert len(gain) == 4 and langs["diverse"] != langs["similar"]
    effect = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "typology_effect.csv")
    assert len(effect) == 1 and effect.seeds.item() == 2 and effect["diverse langs"].item() == langs["diverse"]
    for table, column in ((gain, "multi gain"), (relative, "relative gain")):
        diff = np.mean([table["diverse", s] - table["similar", s] for s in (1, 2)])
        assert float(effect[f"diverse − similar, {column}"].item().split()[0]) == pytest.approx(diff, abs=5e-4)
    paired = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "paired_typology.csv")
    assert set(paired.comparison) == {"diverse − similar, mono"} and len(paired) == 4 and (paired.p <= paired.q).all()
    assert "## Typology matched on headroom" in report.read_text()


def test_an_ablation_is_paired_with_its_grid_twin(rebuilt):
    """The ablation machinery on real jobs: an alpha=0.5 cell is its own grid twin (difference 0), and a
    labelled pair of arms (bf16 against fp32 at 2 languages) differs by the mean of the jobs' headline values."""
    from hybrid_sweep.analysis.committed import load_sweep
    from hybrid_sweep.analysis.rebuild import (ablation_arms, ablation_comparisons, arm_table, embedding_ablation,
                                               heldout_gains, jobs_of)

    _, experiments, _ = rebuilt
    df, _ = load_sweep("rebuild", experiments / "none", experiments)
    jobs = jobs_of(df)
    assert heldout_gains(df.iloc[:0]).empty  # a phase with no jobs yet has no rows, not an error
    runs = experiments / "rebuild" / "runs"
    (label, twin, cell_jobs, twin_jobs), = ablation_arms(jobs, [Cell("e", 2, "hybrid", 2, 2, (("alpha", "0.5"),))])
    assert label == "alpha=0.5 (2 langs, hybrid, 2 steps)" and list(cell_jobs) == list(twin_jobs) and len(cell_jobs) == 2
    assert (ablation_comparisons(runs, jobs, [(label, twin, cell_jobs, twin_jobs)])["diff"] == 0).all()
    mono2 = jobs[(jobs.langs == 2) & (jobs.batching == "mono") & (jobs.group == "nested")]
    bf16, fp32 = (mono2.index[mono2.precision == p] for p in ("bf16-mixed", "32-true"))
    paired = ablation_comparisons(runs, jobs, [("bf16", "fp32", bf16, fp32)]).set_index(["setting", "metric"])
    head = df[(df.stage == "trained") & (df.query_lang == "all") & (df.doc_lang == "all") & (df.setting == "multi")
              & (df.metric == "map")].set_index("job").value
    assert paired.loc[("multi", "map"), "diff"] == pytest.approx(head[bf16].mean() - head[fp32].mean(), abs=1e-9)
    table = arm_table(df, [("bf16", bf16), ("fp32", fp32)])
    assert list(table.index) == ["zero-shot", "bf16", "fp32"] and (table.loc[["bf16", "fp32"], "seeds"] == 2).all()
    assert table.loc["bf16", "multi"].startswith(f"{head[bf16].mean():.3f} [")
    # the deviation line reads a trainable-embedding cell against its twin (here bf16, marked trainable, stands in)
    trainable = jobs.assign(freeze_word_embeddings=[str(j not in bf16) for j in jobs.index])
    stand_in = ablation_comparisons(runs, trainable, [("stand-in", "fp32", bf16, fp32)])
    pairs = int(jobs.loc[bf16, "steps"].iloc[0]) * 4
    assert embedding_ablation(stand_in, 4) == ("training them (phase 5) changes multilingual mAP by "
                                               f"{paired.loc[('multi', 'map'), 'diff']:+.3f} at {pairs:,} pairs "
                                               "(2 seeds)")
    assert embedding_ablation(paired.reset_index(), 4) == "phase 5 trains them, none finished yet"


def test_phase_7_picks_phase_1s_seed_1_jobs_by_folder_name():
    """The ``--match`` of phase 7 against the committed rebuild jobs and the names other phases give."""
    import re

    from hybrid_sweep.analysis.rebuild import PHASE7_JOBS

    names = [p.name for p in (PROJECT_ROOT / "experiments" / "rebuild" / "runs").iterdir() if p.is_dir()]
    names += ["batching=hybrid,batching.alpha=0.3,langs=7,seed=1,trainer.max_steps=24",
              "anchor=en,batching=mono,group=diverse,heldout_langs=[el,th,tr,vi,zh],langs=4,seed=1,trainer.max_steps=24",
              "batching=hybrid,langs=7,model.freeze_word_embeddings=false,seed=1,trainer.max_steps=384",
              "batching=mono,langs=1,seed=1,trainer.max_steps=2400", "batching=mono,langs=2,seed=1,trainer.max_steps=24"]
    picked = {n for n in names if re.search(PHASE7_JOBS, n)}
    assert {f"batching={b},langs=7,seed=1,trainer.max_steps=24" for b in ("mono", "cross", "hybrid")} <= picked
    assert "batching=mono,langs=1,seed=1,trainer.max_steps=24" in picked
    assert all(re.fullmatch(r"batching=(mono|cross|hybrid),langs=[17],seed=1,trainer.max_steps=(24|384)", n)
               for n in picked)


def test_transfer_gains_by_seen_group_average_languages_over_seeds(rebuilt):
    _, experiments, report = rebuilt
    table = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "transfer_distance.csv")
    part = table[(table.eval_set == "sib200") & (table.langs == 2) & (table.batching == "hybrid")
                 & (table.seen_group == "unseen family and script")]
    expected = part.groupby("lang").gain.mean()
    assert part.seed.nunique() == 2 and len(expected) > 0
    assert f"{expected.mean():+.3f} ({len(expected)})" in report.read_text()
    bins = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "transfer_bins.csv")
    nearest = bins[(bins.eval_set == "sib200") & (bins.langs == 2) & (bins.batching == "hybrid") & (bins.bin == 1)].iloc[0]
    assert f"{nearest.gain:+.3f} ({nearest.syntactic_from:.2f}–{nearest.syntactic_to:.2f})" in report.read_text()


def test_held_out_differences_pair_the_cells_by_seed(rebuilt):
    _, experiments, report = rebuilt
    gains = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "heldout_gains.csv")
    held = gains[(gains.group == "held out") & (gains.setting == "multi")].set_index(["langs", "batching", "seed"]).gain
    diffs = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "heldout_differences.csv").set_index("comparison")
    for label, a, b in (("hybrid − mono at 2", (2, "hybrid"), (2, "mono")), ("mono at 2 − mono at 1", (2, "mono"), (1, "mono"))):
        expected = np.mean([held[(*a, s)] - held[(*b, s)] for s in (1, 2)])
        assert float(diffs.loc[label, "multi gain, held out"].split()[0]) == pytest.approx(expected, abs=5e-4)
    assert diffs.seeds.eq(2).all() and "### The count and strategy effects on the held-out languages" in report.read_text()


def test_hybrids_advantage_is_the_seed_paired_difference_per_pair_and_per_language(rebuilt):
    _, experiments, report = rebuilt
    advantage = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "hybrid_advantage.csv")
    assert set(zip(advantage.eval_set, advantage.unit)) == {("xquad_heldout", "pairs"), ("xquad_heldout", "languages"),
                                                            ("sib200", "languages")}
    assert set(advantage.comparison) == {"hybrid − mono"} and advantage.langs.eq(2).all() and advantage.seeds.eq(2).all()
    value = {}
    for doc in results(experiments):
        run = doc["run"]
        if run["precision"] != "32-true" or run["group"] != "nested" or run["langs"] != 2:
            continue
        for r in doc["rows"]:
            if (r["stage"] == "trained" and r["eval_set"] == "xquad_heldout" and r["setting"] == "cross"
                    and r["metric"] == "map" and "all" not in (r["query_lang"], r["doc_lang"])):
                value[run["batching"], run["seed"], r["query_lang"], r["doc_lang"]] = r["value"]
    pairs = {(q, d) for _, _, q, d in value}
    expected = np.mean([np.mean([value["hybrid", s, q, d] - value["mono", s, q, d] for s in (1, 2)]) for q, d in pairs])
    row = advantage[advantage.unit == "pairs"].iloc[0]
    assert len(pairs) == 110 == row.n and row["mean"] == pytest.approx(expected, abs=1e-12)
    assert -1 <= row.ci_low <= row.spearman <= row.ci_high <= 1
    assert "## Hybrid's advantage by typological distance and budget" in report.read_text()


def test_phase_7_trains_a_finished_job_again_only_where_its_saved_model_is_gone(tmp_path):
    """Phase 7 reads saved models, which git never holds: of its finished jobs, one lacking a set trains again
    unless ``outputs/`` still has its model; a job with both sets needs nothing; none left, no command."""
    design = (Cell("1", 1, "mono", 24, 5), Cell("1", 7, "hybrid", 24, 5), Cell("1", 7, "mono", 384, 2),
              Cell("3", 7, "mono", 96, 2))
    names = [c.job(1) for c in design]
    jobs = pd.DataFrame(index=names)
    rows = pd.DataFrame({"job": names[:3] * 3, "eval_set": ["xquad_heldout"] * 3 + ["afriqa"] * 3
                         + ["belebele_sib200", "xquad_heldout", "xquad_heldout"]})
    kept = tmp_path / "rebuild" / names[1] / "model"
    kept.mkdir(parents=True)
    (kept / "model.json").write_text("{}")
    (kept / "trained.safetensors").write_bytes(b"")
    assert phase7_commands(tmp_path, rows, jobs, design) == [design[2].command([1]), REEVALUATE]
    assert phase7_commands(None, rows, jobs, design) == [design[1].command([1]), design[2].command([1]), REEVALUATE]
    done = pd.concat([rows, pd.DataFrame({"job": names[1:3] * 2, "eval_set": ["belebele_sib200"] * 2 + ["afriqa"] * 2})])
    assert phase7_commands(None, done, jobs, design) == []


def test_the_phase_7_command_composes_with_belebele_capped():
    """Every override of the re-evaluation command names a key the configs have (Hydra refuses others)."""
    import shlex

    from hydra import compose, initialize_config_dir

    from hybrid_sweep import paths

    args = shlex.split(REEVALUATE)
    overrides = [a for a in args[4:] if "=" in a and not a.startswith("--") and a != args[-1]]
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    assert set(cfg.data.eval) == {"afriqa", "belebele_sib200"} and cfg.data.eval.belebele_sib200.max_ids == 64


def test_how_sure_a_paired_difference_is_needs_questions_bh_and_seeds():
    sure = dict(diff=0.02, ci_low=0.01, ci_high=0.03, q=0.01, robust=True, seed_p=0.01, per_seed="+0.02 +0.01 +0.03")
    rows = pd.DataFrame([sure, {**sure, "seed_p": np.nan, "per_seed": "+0.02 +0.01"}, {**sure, "robust": False},
                         {**sure, "q": 0.2}, {**sure, "ci_low": -0.01}, {**sure, "seed_p": 0.2}])
    assert [certainty(r) for r in rows.itertuples()] == ["established", "questions", "questions", "none", "none",
                                                         "questions"]
    assert [marked(r) for r in rows.iloc[:2].itertuples()] == ["**+0.020**", "+0.020†"]


def test_the_answer_states_the_paired_tables_numbers_and_verdicts(rebuilt):
    """The generated answer quotes each count and hybrid comparison of the paired tests in its setting's line,
    calls a setting helped only where a comparison is established, and reads the typology effect's seeds."""
    _, experiments, report = rebuilt
    answer = report.read_text().split("## The answer so far")[1].split("## Deviations")[0]
    lines = answer.splitlines()
    paired = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "paired_counts.csv")
    counts = paired[paired.comparison.str.endswith(" − mono at 1") & (paired.metric == "map")]
    assert len(counts) == 6  # mono and hybrid at 2 against mono at 1, three settings
    for r in counts.itertuples():
        line = next(x for x in lines if x.startswith(f"- **{SETTING_NAMES[r.setting]}**"))
        assert f"{r.comparison.split(' − ')[0]} {marked(r)}" in line and "8 pairs: " in line
        helped = any(certainty(o) == "established" and o.diff > 0 for o in counts[counts.setting == r.setting].itertuples())
        assert ("help at no budget" not in line) == helped
    for r in paired[(paired.comparison == "hybrid − mono at 2") & (paired.metric == "map")].itertuples():
        line = next(x for x in lines if x.startswith("- **hybrid − mono at 2** by budget"))
        assert f"{marked(r)} at 8 pairs (2 seeds)" in line
    effect = pd.read_csv(experiments / "lang_scaling" / "rebuild" / "typology_effect.csv")
    typology = next(x for x in lines if x.startswith("- **mono, 2 languages, 2 steps**"))
    for column, label in (("multi gain", "multi gain"), ("relative gain", "relative gain")):
        assert f"{label} {effect[f'diverse − similar, {column}'].item().split()[0]}" in typology
    assert "(2 seeds)" in typology and "held-out languages" in typology


def test_the_count_effect_by_distance_pairs_seeds_per_language_against_the_one_languages_distance(rebuilt):
    _, experiments, report = rebuilt
    out = experiments / "lang_scaling" / "rebuild"
    by_distance = pd.read_csv(out / "count_by_distance.csv")
    transfer = pd.read_csv(out / "transfer_distance.csv")
    assert set(zip(by_distance.eval_set, by_distance.comparison)) == {
        (s, c) for s in ("sib200", "xquad_heldout") for c in ("mono at 2 − mono at 1", "hybrid at 2 − mono at 1")}
    gain = transfer.set_index(["eval_set", "langs", "batching", "seed", "lang"]).gain
    for r in by_distance.itertuples():
        langs = transfer[transfer.eval_set == r.eval_set].lang.unique()
        batching = r.comparison.split()[0]
        expected = np.mean([np.mean([gain[r.eval_set, 2, batching, s, lang] - gain[r.eval_set, 1, "mono", s, lang]
                                     for s in (1, 2)]) for lang in langs])
        assert r.seeds == 2 and r.n == len(langs) and r.mean == pytest.approx(expected, abs=1e-12)
    one = transfer[(transfer.langs == 1) & (transfer.eval_set == "sib200")].drop_duplicates("lang")
    assert one.loc[one.lang == one.train_langs, "syntactic_nearest"].eq(0).all()  # the distance to the one language
    assert "the multilingual gain of more languages changes with distance in" in report.read_text()
