"""End to end: the real ``python -m hybrid_sweep.run -m`` on the tiny model and real data, then aggregation;
plus the early configuration errors through ``plan(cfg)``."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from hybrid_sweep.analysis.summary import aggregate
from hybrid_sweep.evaluation.results import SCHEMA_VERSION, read_results
from hybrid_sweep.paths import CONFIG_DIR, PROJECT_ROOT
from hybrid_sweep.run import plan

TINY = ["model=tiny", "trainer.max_steps=2", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "data.eval_articles=2", "eval.batch_size=128"]


def compose_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("outputs")
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    env.update(HYBRID_SWEEP_OUTPUTS=str(out), HYBRID_SWEEP_CACHE=str(cache_dir), WANDB_DIR=str(out))
    cmd = [sys.executable, "-m", "hybrid_sweep.run", "-m", "langs=2,3", "sweep_name=e2e", *TINY]
    first = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    return out / "e2e", first, second


def test_multirun_writes_one_results_file_per_job(sweep):
    sweep_dir, first, _ = sweep
    results = sorted(sweep_dir.rglob("results.json"))
    job_keys = [dict(kv.split("=", 1) for kv in p.parent.name.split(",")) for p in results]
    assert [k["langs"] for k in job_keys] == ["2", "3"]  # the folder is named by the job's overrides
    assert job_keys[0]["model"] == "tiny"
    for path in results:
        assert json.loads(path.read_text())["schema"] == SCHEMA_VERSION
        rows = read_results(path)
        assert {r["eval_set"] for r in rows} == {"xquad_heldout"}
        assert {r["stage"] for r in rows} == {"zero_shot", "trained"}
        assert {r["setting"] for r in rows} == {"mono", "cross", "multi"}
        assert all(0.0 <= r["value"] <= 1.0 for r in rows if r["metric"] != "lang_bias")
        assert all(r["value"] >= 0 for r in rows if r["metric"] == "lang_bias")
        assert (path.parent / "per_query.parquet").exists() and list((path.parent / "plots").glob("*.png"))
        assert (path.parent / "config.yaml").exists()
        assert not (path.parent / "checkpoints").exists()
    run = json.loads(results[1].read_text())["run"]
    assert run["train_langs"] == "en,zh,ar" and run["langs"] == 3 and run["pairs_seen"] == 8
    # 2 held-out articles, all 11 languages evaluated: 110 cross-lingual pairs per job
    cross_pairs = {(r["query_lang"], r["doc_lang"]) for r in read_results(results[0])
                   if r["setting"] == "cross" and r["query_lang"] != "all"}
    assert len(cross_pairs) == 110


def test_multirun_prints_the_aggregated_table(sweep):
    sweep_dir, first, _ = sweep
    assert "zero-shot" in first.stdout and "mono" in first.stdout
    table = aggregate([sweep_dir])
    assert list(table.index) == ["zero-shot", 2, 3]
    assert list(table.columns) == ["mono", "cross", "multi", "n"]
    assert (sweep_dir / "summary.csv").exists() and (sweep_dir / "aggregate.csv").exists()


def test_relaunch_skips_finished_jobs(sweep, cache_dir):
    _, first, second = sweep
    # the untrained model's texts were encoded once for the whole sweep: one model state in the cache
    assert len(list((cache_dir / "embeddings").iterdir())) == 1
    assert (second.stdout + second.stderr).count("already finished") == 2


def test_wandb_runs_offline_without_an_api_key(sweep):
    sweep_dir, _, _ = sweep
    assert len(list(sweep_dir.glob("*/wandb/offline-run-*"))) == 2


@pytest.mark.parametrize("overrides, message", [
    (["train_langs=[en,xx]", "langs=null"], r"train_langs: unknown language code\(s\) 'xx'"),
    (["data=mlqa_to_xquad", "langs=9"], r"langs=9.*7"),
    (["batching.alpha=1.5"], r"batching.alpha=1.5: Input should be less than or equal to 1"),
    (["batching.batch_size=5000"], r"batching.batch_size=5000"),
    (["paths.data_root=/nonexistent"], r"No data at paths.data_root=/nonexistent"),
    (["data.eval_articles=48"], r"data.eval_articles=48"),
])
def test_bad_config_fails_before_any_model_is_loaded(overrides, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        plan(compose_cfg(*overrides))


def test_default_language_sets_are_nested():
    sets = [plan(compose_cfg(f"langs={n}")).train_langs for n in (4, 7, 11)]
    assert set(sets[0]) < set(sets[1]) < set(sets[2]) and len(sets[2]) == 11
    mlqa = plan(compose_cfg("data=mlqa_to_xquad", "langs=4")).train_langs
    assert mlqa == ("en", "zh", "ar", "hi")


def test_analysis_notebook_runs_on_the_sweep(sweep):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    sweep_dir, _, _ = sweep
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "analysis.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # committed clean
    os.environ["HYBRID_SWEEP_DIR"] = str(sweep_dir)
    try:
        NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}).execute()
    finally:
        del os.environ["HYBRID_SWEEP_DIR"]
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "2 jobs" in printed
    assert any("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))


def test_report_rebuilds_from_committed_runs(sweep, tmp_path):
    from hybrid_sweep.analysis.report import write_report

    sweep_dir, _, _ = sweep
    report = write_report("e2e", sweep_dir.parent, tmp_path)
    assert "| zero-shot |" in report.read_text() and (tmp_path / "e2e" / "scaling.png").exists()
    copied = sorted((tmp_path / "e2e" / "runs").rglob("results.json"))
    assert [dict(kv.split("=", 1) for kv in p.parent.name.split(","))["langs"] for p in copied] == ["2", "3"]
    rebuilt = write_report("e2e", tmp_path / "no-outputs", tmp_path)  # a fresh clone has no outputs/
    assert rebuilt.read_text() == report.read_text()


def test_aggregation_lists_broken_and_old_schema_files_and_keeps_the_rest(sweep, tmp_path, capsys):
    import shutil

    from hybrid_sweep.analysis.summary import collect

    sweep_dir, _, _ = sweep
    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy)
    jobs = sorted(copy.rglob("results.json"))
    jobs[0].write_text('{"schema": 1, "rows": [')  # a crash mid-write of an old, non-atomic writer
    old = json.loads(jobs[1].read_text())
    (jobs[1].parent.parent / "old_job").mkdir()
    (jobs[1].parent.parent / "old_job" / "results.json").write_text(json.dumps({**old, "schema": 0}))
    df, broken = collect([copy])
    assert {p.parent.name for p, _ in broken} == {jobs[0].parent.name, "old_job"}
    assert any("schema 0" in why for _, why in broken)
    assert df["job"].nunique() == 1
    aggregate([copy])
    err = capsys.readouterr().err
    assert "skipped broken results file" in err and "missing job" in err and "langs=2" in err


def test_paired_comparison_of_two_jobs(sweep):
    from hybrid_sweep.analysis.paired import compare_jobs

    sweep_dir, _, _ = sweep
    jobs = sorted(p.parent for p in sweep_dir.rglob("per_query.parquet"))
    same = compare_jobs(jobs[0], jobs[0])
    assert same.diff == 0 and same.p_value == 1.0
    trained_vs_zero = compare_jobs(jobs[1], jobs[1], setting="mono", stage_b="zero_shot")
    rows = read_results(jobs[1] / "results.json")
    headline = {r["stage"]: r["value"] for r in rows
                if r["setting"] == "mono" and r["query_lang"] == "all" and r["metric"] == "map"}
    assert trained_vs_zero.diff == pytest.approx(headline["trained"] - headline["zero_shot"], abs=1e-9)
    assert trained_vs_zero.low <= trained_vs_zero.diff <= trained_vs_zero.high


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")))
def test_every_experiment_preset_composes_with_its_swept_values(preset):
    """What ``-m +experiment=<preset>`` launches: the first and the last value of every swept key compose."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        params = compose("config", overrides=[f"+experiment={preset}"], return_hydra_config=True).hydra.sweeper.params
        assert params, f"{preset} sweeps nothing"
        for pick in (0, -1):
            job = [f"{key}={str(values).split(',')[pick]}" for key, values in params.items()]
            cfg = compose("config", overrides=[f"+experiment={preset}", *job])
            assert cfg.sweep_name == preset
            for override in job:
                key, value = override.split("=", 1)
                actual = OmegaConf.select(cfg, key)
                assert (actual.name if key in ("batching", "negatives") else str(actual)) == value


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", "x" * 101])
def test_a_sweep_name_never_leaves_the_output_root(name):
    from omegaconf.errors import InterpolationResolutionError

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"sweep_name={name}"], return_hydra_config=True)
    for key in ("hydra.run.dir", "hydra.sweep.dir"):
        with pytest.raises(InterpolationResolutionError, match="must be a plain folder name"):
            OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        ok = compose("config", overrides=["sweep_name=lang_scaling-v2"], return_hydra_config=True)
    assert ok.hydra.sweep.dir.endswith("/lang_scaling-v2") or ok.hydra.sweep.dir == "outputs/lang_scaling-v2"


def test_job_folder_names_stay_one_level_deep_and_bounded():
    from hybrid_sweep.paths import JOB_NAME_LIMIT, job_dirname

    name = job_dirname("data/eval=[xquad_heldout,sib200],data.eval.x.path=/data/../../etc")
    assert "/" not in name and ".." not in name and name.startswith("data.eval=[xquad_heldout,sib200]")
    long_a, long_b = job_dirname("langs=4," + "a" * 300), job_dirname("langs=4," + "a" * 299 + "b")
    assert len(long_a) == JOB_NAME_LIMIT and long_a != long_b  # a hash of the whole keeps them apart
    assert job_dirname("langs=4,seed=1") == "langs=4,seed=1"  # short plain names are unchanged


def test_compare_names_the_valid_metrics_and_prints_small_differences(sweep, capsys):
    from hybrid_sweep.analysis.compare import main, signed

    sweep_dir, _, _ = sweep
    job = sorted(p.parent for p in sweep_dir.rglob("per_query.parquet"))[0]
    with pytest.raises(SystemExit) as exit_info:
        main([str(job), str(job), "--metric", "mrr"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--metric mrr" in err and "map" in err and "mrr@10" in err and "Traceback" not in err
    assert signed(3.2e-5) == "+3.20e-05" and signed(-0.01234) == "-0.0123" and signed(0.0) == "+0.0000"


def test_heldout_languages_are_never_trained_whatever_the_count():
    heldout = ["el", "th", "tr", "vi"]
    for langs in (1, 2, 4, 7):
        p = plan(compose_cfg(f"langs={langs}", f"heldout_langs=[{','.join(heldout)}]", "batching=mono"))
        assert len(p.train_langs) == langs and not set(p.train_langs) & set(heldout)
    nested = [plan(compose_cfg(f"langs={n}", "heldout_langs=[el,th,tr,vi]")).train_langs for n in (2, 4, 7)]
    assert set(nested[0]) <= set(nested[1]) <= set(nested[2])  # still nested
    with pytest.raises(ValueError, match=r"langs=8 but the training data has only 7"):
        plan(compose_cfg("langs=8", "heldout_langs=[el,th,tr,vi]"))
    with pytest.raises(ValueError, match=r"train_langs=\['en', 'el'\] includes held-out language\(s\) \['el'\]"):
        plan(compose_cfg("train_langs=[en,el]", "langs=null", "heldout_langs=[el]"))
