"""The hard-negatives report on a real (tiny-model) grid: in-batch only vs paragraph negatives in the query's
and the passage's language, 2 seeds."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hybrid_sweep.analysis.negatives_study import write_negatives_report
from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import PROJECT_ROOT

TINY = ["model=tiny", "trainer.max_steps=2", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "data.eval_articles=2", "eval.batch_size=128", "logger=none", "langs=2", "negatives.per_pair=1"]


@pytest.fixture(scope="module")
def report(tmp_path_factory, cache_dir):
    outputs, experiments = tmp_path_factory.mktemp("outputs"), tmp_path_factory.mktemp("experiments")
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(outputs), "HYBRID_SWEEP_CACHE": str(cache_dir)}
    own = f"eval.embedding_cache={tmp_path_factory.mktemp('embeddings')}"  # test_run counts the shared one's states
    for grid in (["negatives=paragraph", "negatives.language=passage,query"], ["negatives=none"]):
        cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "seed=1,2", *grid, "sweep_name=negatives", *TINY, own]
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    return experiments, write_negatives_report(outputs, experiments)


def headline(runs_dir, negatives: str, language: str | None, setting: str, metric: str) -> float:
    """The seed mean of the jobs' own headline value, read from their results files."""
    values = []
    for path in runs_dir.rglob("results.json"):
        doc = json.loads(path.read_text())
        run = doc["run"]
        if run["negatives"] == negatives and (language is None or run["negatives_language"] == language):
            values += [r["value"] for r in read_results(path) if r["stage"] == "trained" and r["setting"] == setting
                       and r["query_lang"] == "all" and r["doc_lang"] == "all" and r["metric"] == metric]
    assert len(values) == 2
    return float(np.mean(values))


def test_paired_differences_are_the_headline_differences_with_a_bh_column(report):
    experiments, path = report
    runs = experiments / "negatives" / "runs"
    paired = pd.read_csv(experiments / "negatives" / "paired_negatives.csv")
    assert set(paired.comparison) == {"paragraph, passage − none", "paragraph, query − none",
                                      "paragraph: query − passage language"}
    assert set(zip(paired.setting, paired.metric)) == {("mono", "map"), ("cross", "map"), ("multi", "map"),
                                                        ("multi", "lang_bias")}
    assert len(paired) == 12
    for row in paired.itertuples():
        a, b = {"paragraph, passage − none": (("paragraph", "passage"), ("none", None)),
                "paragraph, query − none": (("paragraph", "query"), ("none", None)),
                "paragraph: query − passage language": (("paragraph", "query"), ("paragraph", "passage"))}[row.comparison]
        expected = headline(runs, *a, row.setting, row.metric) - headline(runs, *b, row.setting, row.metric)
        assert row.diff == pytest.approx(expected, abs=1e-9)
        assert row.ci_low <= row.diff <= row.ci_high and row.p <= row.q <= 1 and len(row.per_seed.split()) == 2
    # Benjamini–Hochberg by hand: q_(i) = min over j >= i of p_(j) * m / j
    p = np.sort(paired.p.to_numpy())
    q = np.minimum.accumulate((p * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    assert np.allclose(np.sort(paired.q.to_numpy()), np.minimum(q, 1))
    text = path.read_text()
    for heading in ("## Headline", "## Paired tests", "## What holds", "## Deviations"):
        assert heading in text
    assert "| zero-shot |" in text and "| none (in-batch only) |" in text and "| paragraph, query language |" in text
    assert f"over all {len(paired)} tests" in text and "1 hard negative per pair in the mined arms" in text


def test_the_report_rebuilds_from_the_committed_runs_alone(report, tmp_path):
    experiments, path = report
    assert write_negatives_report(tmp_path / "no-outputs", experiments).read_text() == path.read_text()
