"""Evaluate a model as it is, without training: ``python -m hybrid_sweep.evaluate model=me5_small data=mlqa_to_xquad``.

Composes the same ``conf/`` as ``hybrid_sweep.run`` and evaluates the chosen model on every evaluation set
of ``data.eval``, writing ``results.json`` (stage ``zero_shot``), ``per_query.parquet``, TREC
run and qrels files and plots into ``outputs/evaluate/<overrides>/`` (``-m``: one folder per job there).
Embeddings are cached under ``eval.embedding_cache``, so evaluating the same model again takes seconds.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from hybrid_sweep import paths
from hybrid_sweep.evaluation import encode, evaluate, headline, write_evaluation, write_results
from hybrid_sweep.evaluation.export import set_dir
from hybrid_sweep.evaluation.lengths import eval_lengths, set_columns
from hybrid_sweep.schema import check_config, cli_guard

log = logging.getLogger("hybrid_sweep")
# the shared config puts runs into training job folders; a results.json there would make run.py skip the job
OUTPUT_DIRS = {"hydra.run.dir": "'${paths.output_root}/evaluate/${hs_job_dir:${hydra:job.override_dirname}}'",
               "hydra.sweep.dir": "${paths.output_root}/evaluate"}


def evaluate_command(cfg: DictConfig, output_dir: str | Path) -> dict:
    """Evaluate ``cfg.model`` on every evaluation set of ``cfg.data``; returns the first set's headline numbers."""
    from hybrid_sweep.data.protocols import load_data
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries, set_threads

    quiet_libraries()
    check_config(cfg)
    threads = set_threads(cfg.trainer.get("threads"))
    output_dir = Path(output_dir)
    data = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True),
                     paths.data_root(cfg.paths.data_root), cfg.eval.get("max_questions"), cfg.eval.get("langs"))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    model = build_biencoder(cfg.model)
    seen = list(cfg.eval.seen_langs) if cfg.eval.seen_langs is not None else list(data.train.languages)
    keys = {"sweep": "evaluate", "job": output_dir.name, "model": cfg.model.label,
            "data": f"{data.train.name}->{'+'.join(data.evals)}", "train_data": data.train.name,
            "eval_data": next(iter(data.evals)), "threads": threads, **{f"data_{k}": v for k, v in data.info.items() if not isinstance(v, list)}}
    lengths = eval_lengths(model, cfg.eval.max_length)
    rows, summary, set_info = {}, {}, {}
    for i, (name, ev) in enumerate(data.evals.items()):
        rset = ev.rset
        started = time.perf_counter()
        set_info[name] = set_columns(model, rset, lengths, cfg.eval.precision)
        q_emb, c_emb = encode(model, rset, cfg.eval.batch_size, cfg.eval.embedding_cache, lengths,
                              cfg.eval.precision)
        encoded = time.perf_counter()
        result = evaluate(rset, q_emb, c_emb)
        scored = time.perf_counter()
        prefix = "" if i == 0 else f"{name}_"  # the headline set's numbers keep the plain names
        keys.update({f"{prefix}n_questions": len(rset.questions), f"{prefix}n_candidates": len(rset.candidates),
                     f"{prefix}encode_seconds": round(encoded - started, 1),
                     f"{prefix}score_seconds": round(scored - encoded, 2)})
        folder = set_dir(output_dir, name, headline=i == 0)
        pngs = write_evaluation(folder, rset, {"zero_shot": result}, seen_langs=seen, trec_depth=cfg.eval.trec_depth)
        rows[("zero_shot", name)] = list(result.rows)
        numbers = headline(result.rows)
        summary = summary or numbers
        log.info("evaluated %s on %s (%d questions, %d candidates) in %.0fs encode + %.1fs scoring: %s; files in %s",
                 cfg.model.label, name, len(rset.questions), len(rset.candidates), encoded - started,
                 scored - encoded, " ".join(f"{k}={v:.4f}" for k, v in numbers.items()), folder)
        log.info("plots: %s", ", ".join(p.name for p in pngs))
    write_results(output_dir / "results.json", rows, keys, set_info)  # last: marks the job done
    return {**keys, **summary}


@hydra.main(config_path=str(paths.CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    evaluate_command(cfg, hydra.core.hydra_config.HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    cli_guard(sys.argv[1:])
    sys.argv += [f"{k}={v}" for k, v in OUTPUT_DIRS.items() if not any(a.startswith(f"{k}=") for a in sys.argv)]
    if {"-m", "--multirun"} & set(sys.argv):
        sys.argv += ["~hydra.callbacks.aggregate"]  # the training table has no rows for an evaluation
    main()
