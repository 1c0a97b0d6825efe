"""The research report on a real (tiny-model) lang_scaling grid: 2 language counts x mono/hybrid x 2 seeds."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import PROJECT_ROOT
from hybrid_sweep.analysis.committed import PREVIOUS, load_sweep
from hybrid_sweep.analysis.study import write_study

TINY = ["model=tiny", "trainer.max_steps=2", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "data.eval_articles=2", "eval.batch_size=128", "logger=none"]


@pytest.fixture(scope="module")
def study(tmp_path_factory, cache_dir):
    outputs, experiments = tmp_path_factory.mktemp("outputs"), tmp_path_factory.mktemp("experiments")
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(outputs), "HYBRID_SWEEP_CACHE": str(cache_dir)}
    cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "seed=1,2", "langs=2,3", "batching=mono,hybrid",
           "sweep_name=lang_scaling", *TINY]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return outputs, experiments, write_study(outputs, experiments)


def headline_maps(runs_dir, batching: str, langs: int, setting: str) -> list[float]:
    """The jobs' own headline mAP for one configuration (one value per seed), read from their results files."""
    values = []
    for path in runs_dir.rglob("results.json"):
        doc = json.loads(path.read_text())
        if doc["run"]["batching"] == batching and doc["run"]["langs"] == langs:
            values += [r["value"] for r in read_results(path) if r["stage"] == "trained" and r["setting"] == setting
                       and r["query_lang"] == "all" and r["doc_lang"] == "all" and r["metric"] == "map"]
    return values


def headline_map(experiments, batching: str, langs: int, setting: str) -> float:
    """Mean over the two seeds."""
    values = headline_maps(experiments / "lang_scaling" / "runs", batching, langs, setting)
    assert len(values) == 2
    return sum(values) / 2


def test_report_has_every_section_and_rebuilds_from_committed_runs(study, tmp_path):
    outputs, experiments, report = study
    text = report.read_text()
    for heading in ("## Setup", "## Deviations from the paper", "## Headline", "## Hybrid vs mono and cross",
                    "## More languages at the same budget", "## Seen vs unseen languages",
                    "## Typological distance", "## Pairs seen per job"):
        assert heading in text
    assert "| zero-shot |" in text and " ± " in text
    for png in ("scaling.png", "seen_unseen.png", "pair_heatmaps.png", "gain_distance_scatter.png"):
        assert (experiments / "lang_scaling" / PREVIOUS / png).stat().st_size > 0
    # a fresh clone has no outputs/: the same report from the committed runs/
    rebuilt = write_study(tmp_path / "no-outputs", experiments)
    assert rebuilt.read_text() == text


def test_paired_seed_pooled_differences_equal_the_headline_differences(study):
    _, experiments, _ = study
    paired = pd.read_csv(experiments / "lang_scaling" / PREVIOUS / "paired_strategies.csv")
    assert set(paired.langs) == {2, 3} and set(paired.comparison) == {"hybrid − mono"}
    for row in paired.itertuples():
        expected = (headline_map(experiments, "hybrid", row.langs, row.setting)
                    - headline_map(experiments, "mono", row.langs, row.setting))
        assert row.diff == pytest.approx(expected, abs=1e-9)
        assert row.ci_low <= row.diff <= row.ci_high and 0 < row.p <= 1
        assert len(row.per_seed.split()) == 2
    counts = pd.read_csv(experiments / "lang_scaling" / PREVIOUS / "paired_language_counts.csv")
    assert set(counts.comparison) == {"3 − 2 languages"} and set(counts.batching) == {"mono", "hybrid"}


def test_arms_with_unequal_seeds_are_compared_on_the_seeds_both_ran(study):
    from hybrid_sweep.analysis.paired import compare_configs
    from hybrid_sweep.analysis.study import jobs_table

    _, experiments, _ = study
    runs_dir = experiments / "lang_scaling" / "runs"
    jobs = jobs_table(load_sweep("lang_scaling", experiments / "none", experiments)[0])
    mono_seed_2 = jobs[(jobs.batching == "mono") & (jobs.langs == 2) & (jobs.seed == 2)].index
    one_mono_seed = jobs.drop(mono_seed_2)
    (row,) = compare_configs(runs_dir, one_mono_seed, {"batching": "hybrid", "langs": 2},
                             {"batching": "mono", "langs": 2}, "hybrid − mono", [("multi", "map")])
    hybrid, mono = (headline_maps(runs_dir, batching, 2, "multi") for batching in ("hybrid", "mono"))
    seed_1 = {batching: jobs[(jobs.batching == batching) & (jobs.langs == 2) & (jobs.seed == 1)].index.item()
              for batching in ("hybrid", "mono")}
    per_seed_1 = [v for b in ("hybrid", "mono") for v in headline_maps(runs_dir / seed_1[b], b, 2, "multi")]
    assert row["seeds"] == "1 vs 1" and row["diff"] == pytest.approx(per_seed_1[0] - per_seed_1[1], abs=1e-9)
    assert row["per_seed"] == f"{per_seed_1[0] - per_seed_1[1]:+.3f}"
    assert row["diff"] != pytest.approx(sum(hybrid) / 2 - mono[0], abs=1e-9)  # not the 2-seed mean − seed 1


def test_seen_and_unseen_gains_split_the_languages_by_the_training_set(study):
    _, experiments, _ = study
    rows = pd.read_csv(experiments / "lang_scaling" / PREVIOUS / "aggregate.csv")
    seen = pd.read_csv(experiments / "lang_scaling" / PREVIOUS / "seen_unseen.csv")
    # by hand, for mono batches at 2 languages (en, zh): mono mAP gain on unseen query languages
    mono = rows[(rows.batching == "mono") & (rows.langs == 2) & (rows.setting == "mono") & (rows.metric == "map")
                & (rows.query_lang != "all")]
    value = mono.pivot_table(index=["seed", "query_lang"], columns="stage", values="value")
    value = value[~value.index.get_level_values("query_lang").isin(["en", "zh"])]
    expected = (value.trained - value.zero_shot).groupby("seed").mean().mean()
    got = seen[(seen.batching == "mono") & (seen.langs == 2) & (seen.setting == "mono") & (seen.status == "unseen")]
    assert got.gain.item() == pytest.approx(expected, abs=1e-12)
    assert set(seen[seen.setting == "cross"].status) == {"both", "one", "neither"}


def test_every_job_trains_the_same_number_of_pairs(study):
    _, experiments, _ = study
    for path in (experiments / "lang_scaling" / "runs").rglob("pairs_seen.csv"):
        seen = pd.read_csv(path)
        assert seen.pairs.sum() == 8  # 2 steps x 4 pairs, whatever the language count
        config = (path.parent / "config.yaml").read_text()
        if "name: mono" in config:
            assert (seen.query_lang == seen.passage_lang).all()


def test_the_mlqa_check_section_compares_strategies_on_its_own_runs(study, tmp_path):
    """Seed-1 jobs filed as ``mlqa_check`` runs: the section's paired differences are those jobs' headline
    differences, and with one seed nothing is called robust."""
    _, experiments, _ = study
    copy = tmp_path / "experiments"
    shutil.copytree(experiments, copy)
    mlqa_runs = copy / "mlqa_check" / "runs"
    for run in (copy / "lang_scaling" / "runs").iterdir():
        if "seed=1" in run.name:
            shutil.copytree(run, mlqa_runs / run.name)
    text = write_study(tmp_path / "no-outputs", copy).read_text()
    section = text.split("## Dataset-level zero-shot check")[1].split("\n## ")[0]
    assert "4 finished jobs (seed 1)" in section and "one seed, so no difference can be called robust" in section
    assert "| zero-shot |" in section and "unseen" in section
    paired = pd.read_csv(copy / "mlqa_check" / "paired_strategies.csv")
    assert set(paired.comparison) == {"hybrid − mono"} and len(paired) == 6 and not paired.robust.any()
    for row in paired.itertuples():
        (hybrid,), (mono,) = (headline_maps(mlqa_runs, b, row.langs, row.setting) for b in ("hybrid", "mono"))
        assert row.diff == pytest.approx(hybrid - mono, abs=1e-9)
    assert set(pd.read_csv(copy / "mlqa_check" / "seen_unseen.csv").langs) == {2, 3}


def test_a_difference_is_called_robust_only_when_questions_and_seeds_agree():
    from hybrid_sweep.analysis.paired import robust

    assert robust(0.01, 0.03, 0.02, [0.01, 0.03])
    assert robust(-0.03, -0.01, -0.02, [-0.01, -0.02, -0.03])
    assert not robust(-0.01, 0.03, 0.01, [0.01, 0.02])  # the CI over questions includes 0
    assert not robust(0.01, 0.03, 0.02, [0.03, -0.01])  # the seeds disagree
    assert not robust(0.01, 0.03, 0.02, [0.02])  # one seed says nothing about training noise
