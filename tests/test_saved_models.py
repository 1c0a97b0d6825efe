"""Evaluation at full length, trained models kept (only what training changed) and exported for
sentence-transformers, and re-evaluation of a finished sweep on a new evaluation set without training."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from hybrid_sweep.data.lareqa import read_lareqa_file
from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.model import build_biencoder
from hybrid_sweep.model.saving import MODEL_DIR, save_trained, weights_hash
from hybrid_sweep.paths import CONFIG_DIR
from tests.test_model import TEXTS, model_cfg


@pytest.fixture(scope="module")
def long_sentence(data_root):
    """The longest Thai sentence of XQuAD-R: far beyond 64 tokens."""
    th = read_lareqa_file(data_root / "xquad-r" / "th.json", "th")
    return max((c.text for c in th.candidates), key=len)


def test_evaluation_reads_the_whole_text_unless_asked_to_cut(cache_dir, long_sentence):
    from hybrid_sweep.data.records import Candidate, Question, RetrievalSet
    from hybrid_sweep.evaluation import encode

    model = build_biencoder(model_cfg("tiny", cache_dir))
    n_tokens = model.token_lengths([long_sentence], "passage")[0]
    assert n_tokens > 64 and model.max_length == 48 and model.readable_length == 512 > n_tokens
    rset = RetrievalSet("one", (Question("q", "th", "คำถาม"),), (Candidate("c", "th", long_sentence),), {"q": {"c": 1}})
    _, full = encode(model, rset)
    model.eval()  # a freshly built encoder is in training mode (dropout)
    with torch.no_grad():
        features = model.tokenizer(["passage: " + long_sentence], return_tensors="pt")
        reference = model(**features).numpy()
    assert features["input_ids"].shape[1] == n_tokens
    assert np.abs(full - reference).max() < 1e-5
    _, cut = encode(model, rset, max_length={"passage": 64})
    assert np.abs(cut - reference).max() > 1e-3


def test_length_report_counts_what_each_limit_cuts(cache_dir, xquad_split):
    from hybrid_sweep.evaluation.lengths import eval_lengths, length_report

    model = build_biencoder(model_cfg("tiny", cache_dir))
    rset = xquad_split.eval_set
    report = length_report(model, rset, eval_lengths(model, {"passage": 64}))
    assert report["passage_max_length"] == 64 and report["query_max_length"] == 512
    assert report["passage_texts"] == len({c.text for c in rset.candidates})
    assert 0 < report["passage_over_eval_length"] < report["passage_over_train_length"] < report["passage_texts"]
    assert report["query_over_eval_length"] == 0
    with pytest.raises(ValueError, match="eval.max_length.query must be a number of tokens"):
        eval_lengths(model, {"query": 0})


def trained_tiny(cache_dir):
    """The tiny model with its trainable weights moved, as training would."""
    model = build_biencoder(model_cfg("tiny", cache_dir))
    base_hash = weights_hash(model.encoder.state_dict())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.encoder.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return model, base_hash


def test_saved_model_keeps_only_trained_weights_and_loads_back(cache_dir, tmp_path):
    model, base_hash = trained_tiny(cache_dir)
    cfg = OmegaConf.to_container(model_cfg("tiny", cache_dir), resolve=True)
    saved = save_trained(model, cfg, base_hash, tmp_path / MODEL_DIR)
    meta = json.loads((saved / "model.json").read_text())
    frozen = model.encoder.get_input_embeddings().weight.numel()
    total = sum(p.numel() for p in model.encoder.parameters())
    assert meta["trained_parameters"] == total - frozen and meta["query_prefix"] == "query: "
    local = build_biencoder(OmegaConf.merge(OmegaConf.load(CONFIG_DIR / "model" / "local.yaml"),
                                            {"path": str(saved)}))
    assert local.prefixes == model.prefixes and local.max_length == model.max_length
    for role in ("query", "passage"):
        assert np.abs(local.encode(TEXTS, role) - model.encode(TEXTS, role)).max() < 1e-6


def test_saved_model_refuses_a_different_base(cache_dir, tmp_path):
    model, _ = trained_tiny(cache_dir)
    saved = save_trained(model, OmegaConf.to_container(model_cfg("tiny", cache_dir), resolve=True), "0" * 32,
                         tmp_path / MODEL_DIR)
    with pytest.raises(ValueError, match="the job trained on 0000"):
        build_biencoder({"source": "local", "path": str(saved)})


def test_export_loads_in_sentence_transformers_with_the_same_embeddings(cache_dir, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    from hybrid_sweep.export import export

    model, base_hash = trained_tiny(cache_dir)
    save_trained(model, OmegaConf.to_container(model_cfg("tiny", cache_dir), resolve=True), base_hash,
                 tmp_path / "job" / MODEL_DIR)
    out = export(tmp_path / "job", tmp_path / "st")
    loaded = st.SentenceTransformer(str(out), device="cpu", local_files_only=True)
    for role in ("query", "passage"):
        ours = model.encode(TEXTS, role)
        theirs = loaded.encode(TEXTS, prompt_name=role, convert_to_numpy=True)
        assert np.abs(ours - theirs).max() < 1e-5, role


def test_a_finished_sweep_is_reevaluated_on_a_new_set_without_training(tmp_path, cache_dir, caplog):
    from hybrid_sweep.reevaluate import reevaluate
    from hybrid_sweep.run import train
    from tests.test_run import compose_cfg

    job = tmp_path / "keep" / "langs=2"
    cfg = compose_cfg("langs=2", "model=tiny", "model.save=true", "trainer.max_steps=2", "optimizer.warmup_steps=1",
                      "batching.batch_size=4", "data.eval_articles=1", "logger=none", f"paths.cache_dir={cache_dir}")
    with caplog.at_level("INFO", logger="hybrid_sweep"):
        train(cfg, output_dir=job)
    assert re.search(r"done: train \d+s, encode \d+s, score \d+s", caplog.text)  # the job line's times
    results = job / "results.json"
    doc = json.loads(results.read_text())
    before = read_results(results)
    assert {"zero_shot_encode_seconds", "trained_encode_seconds", "trained_score_seconds"} <= set(doc["run"])
    assert (job / MODEL_DIR / "trained.safetensors").exists()
    overrides = ["data/eval=[nusax_mt]", "data.eval.nusax_mt.queries=[jv,su]", "eval.batch_size=256",
                 f"paths.cache_dir={cache_dir}"]
    assert reevaluate(tmp_path / "keep", overrides) == {"langs=2": ["nusax_mt"]}
    after = read_results(results)
    assert after[:len(before)] == before  # finished rows untouched
    added = after[len(before):]
    assert {(r["stage"], r["eval_set"]) for r in added} == {("zero_shot", "nusax_mt"), ("trained", "nusax_mt")}
    assert all(r["passage_over_eval_length"] == 0 for r in added)
    assert (job / "eval" / "nusax_mt" / "per_query.parquet").exists()
    assert reevaluate(tmp_path / "keep", overrides) == {} and read_results(results) == after
    with pytest.raises(ValueError, match="read the same data"):
        reevaluate(tmp_path / "keep", ["data/eval=[xquad_r]", f"paths.cache_dir={cache_dir}"])
    with pytest.raises(FileNotFoundError, match="whose name matches 'seed=9'"):
        reevaluate(tmp_path / "keep", overrides, match="seed=9")
    sib = ["data/eval=[sib200]", "data.eval.sib200.languages=[en,de]", "data.eval.sib200.max_ids=5",
           f"paths.cache_dir={cache_dir}"]
    assert reevaluate(tmp_path / "keep", sib, match="langs=[12]$") == {"langs=2": ["sib200"]}  # a regex
    rows = [r for r in read_results(results) if r.get("eval_set") == "sib200"]
    assert {r["n_queries"] for r in rows if r["setting"] == "multi" and r["query_lang"] != "all"} == {5}
    # the sets are read as the job's run reads them, declared leakage included: a job trained on SIB-200
    # sentences cannot be re-evaluated on Belebele x SIB-200, which is made of them
    job_cfg = OmegaConf.load(job / "config.yaml")
    job_cfg.data.train = {"path": "sib200/annotated/zul_Latn/train.tsv", "format": "pairs"}
    OmegaConf.save(job_cfg, job / "config.yaml")
    with pytest.raises(ValueError, match="built from sib-200, which data.train trains on"):
        reevaluate(tmp_path / "keep", ["data/eval=[belebele_sib200]", f"paths.cache_dir={cache_dir}"])
