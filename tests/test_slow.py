"""Real-model run (minutes on CPU): a short me5_small fine-tune must beat its own zero-shot numbers."""
from __future__ import annotations

import pytest

from hybrid_sweep.run import train
from tests.test_run import compose_cfg


@pytest.mark.slow
def test_short_me5_training_improves_multilingual_map(tmp_path, cache_dir):
    cfg = compose_cfg("model=me5_small", "trainer.max_steps=12", "batching.batch_size=16", "data.eval_articles=4",
                      "logger=none", f"paths.cache_dir={cache_dir}", f"paths.output_root={tmp_path}")
    summary = train(cfg, output_dir=tmp_path / "job")
    from hybrid_sweep.evaluation import read_results

    rows = read_results(tmp_path / "job" / "results.json")
    zero = {r["setting"]: r["value"] for r in rows
            if r["stage"] == "zero_shot" and r["query_lang"] == "all" and r["metric"] == "map"}
    assert summary["multi_map"] > zero["multi"] + 0.02
    assert summary["cross_map"] > zero["cross"]


@pytest.mark.slow
def test_a_real_job_keeps_a_model_sentence_transformers_loads(tmp_path, cache_dir):
    """me5_small: the job keeps only its trained weights; the exported folder gives the job's embeddings."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from hybrid_sweep.export import export
    from hybrid_sweep.model import build_biencoder
    from tests.test_model import TEXTS

    cfg = compose_cfg("model=me5_small", "trainer.max_steps=2", "batching.batch_size=8", "data.eval_articles=1",
                      "eval.max_questions=20", "logger=none", f"paths.cache_dir={cache_dir}",
                      f"paths.output_root={tmp_path}")
    train(cfg, output_dir=tmp_path / "job")
    saved = tmp_path / "job" / "model"
    assert sum(p.stat().st_size for p in saved.iterdir()) < 0.25 * 470e6  # the frozen embeddings are not kept
    model = build_biencoder({"source": "local", "path": str(saved)})
    loaded = SentenceTransformer(str(export(tmp_path / "job", tmp_path / "st")), device="cpu", local_files_only=True)
    for role in ("query", "passage"):
        assert np.abs(loaded.encode(TEXTS, prompt_name=role) - model.encode(TEXTS, role)).max() < 1e-5
