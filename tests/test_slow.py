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
