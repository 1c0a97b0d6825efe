"""The standalone ``python -m hybrid_sweep.evaluate`` on the tiny model and two held-out XQuAD-R
articles: every output file is written, outside the training jobs' folders, and agrees with itself."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from hybrid_sweep.evaluation import read_per_query, read_results
from hybrid_sweep.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("outputs")
    env = {**os.environ, "HYBRID_SWEEP_OUTPUTS": str(out), "HYBRID_SWEEP_CACHE": str(cache_dir)}
    cmd = [sys.executable, "-m", "hybrid_sweep.evaluate", "model=tiny", "data.eval_articles=2", "eval.batch_size=128",
           "eval.trec_depth=100",
           "eval.seen_langs=[en,zh,ar,hi]"]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "evaluate" / "data.eval_articles=2,eval.seen_langs=[en,zh,ar,hi],eval.trec_depth=100,model=tiny", done


def test_results_have_every_setting_language_bias_and_intervals(evaluated):
    job, _ = evaluated
    rows = read_results(job / "results.json")
    assert {r["stage"] for r in rows} == {"zero_shot"} and {r["setting"] for r in rows} == {"mono", "cross", "multi"}
    assert rows[0]["model"] == "tiny" and rows[0]["n_questions"] % 11 == 0  # 11-way parallel questions
    macro = {(r["setting"], r["metric"]): r for r in rows if r["query_lang"] == "all"}
    assert ("multi", "lang_bias") in macro and ("mono", "lang_bias") not in macro
    for r in macro.values():
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
    assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"] != "lang_bias")
    assert (job / "config.yaml").exists()


def test_per_query_values_agree_with_the_results(evaluated):
    job, _ = evaluated
    rows = read_results(job / "results.json")
    pq = read_per_query(job / "per_query.parquet")
    means = pq.groupby(["setting", "query_lang", "doc_lang", "metric"], observed=True).value.mean()
    for r in rows:
        if r["query_lang"] != "all":
            assert means[(r["setting"], r["query_lang"], r["doc_lang"], r["metric"])] == pytest.approx(r["value"])
    n_questions = rows[0]["n_questions"]
    assert len(pq[(pq.setting == "multi") & (pq.metric == "map")]) == n_questions


def test_trec_files_and_plots(evaluated):
    job, done = evaluated
    run = gzip.decompress((job / "run.zero_shot.trec.gz").read_bytes()).decode().splitlines()
    n_questions = read_results(job / "results.json")[0]["n_questions"]
    assert len(run) == n_questions * 100 and run[0].split()[1:4:2] == ["Q0", "1"]
    assert len((job / "qrels.trec").read_text().splitlines()) == n_questions * 11
    pngs = sorted(p.name for p in (job / "plots").glob("*.png"))
    assert pngs == ["zero_shot_lang_bias_hist.png", "zero_shot_map_by_language.png", "zero_shot_map_heatmap.png"]
    assert all((job / "plots" / p).stat().st_size > 10_000 for p in pngs)
    assert "multi_map=" in done.stderr + done.stdout


def test_embeddings_are_cached_per_model_state(evaluated, cache_dir):
    tiny = [f for f in (cache_dir / "embeddings").glob("*/*.npy") if np.load(f).shape[1] == 32]  # hidden 32
    assert {f.name.split("-")[0] for f in tiny} == {"query", "passage"}
