"""Evaluate the saved models of finished jobs on further evaluation sets, without training again:

    python -m hybrid_sweep.reevaluate outputs/<sweep> data/eval=[mlqa_r,nusax_mt] [eval.batch_size=...] [--match seed=1]

For every job folder under the sweep that has ``results.json`` and a saved model (``model/``, kept when
``model.save=true``), each requested set the job has no rows for is evaluated twice: the job's base model
(``zero_shot``; its embeddings cached, so the sweep's jobs share one encode) and the trained model
(``trained``). The rows are appended to the job's ``results.json`` (rewritten atomically after each set, so
an interrupted re-evaluation resumes where it stopped), the per-query files and plots go into
``<job>/eval/<set>/``. Sets a job already has are skipped; finished rows are never touched. A set that
would evaluate on the job's own training data fails, as it does before training.
"""
from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from omegaconf import OmegaConf

from hybrid_sweep import paths
from hybrid_sweep.evaluation import encode, evaluate, read_results, write_evaluation
from hybrid_sweep.evaluation.export import set_dir
from hybrid_sweep.evaluation.lengths import eval_lengths, set_columns
from hybrid_sweep.evaluation.results import rewrite_results
from hybrid_sweep.model.saving import MODEL_DIR, is_saved, read_meta

log = logging.getLogger("hybrid_sweep")


def finished_jobs(sweep: Path, match: str | None = None) -> list[Path]:
    """Job folders with results and a saved model, in name order; with ``match`` (a regular expression), those
    whose name it matches anywhere (``seed=1``; ``langs=[17],seed=1,trainer.max_steps=(24|384)$``)."""
    return sorted(p.parent for p in Path(sweep).rglob("results.json") if is_saved(p.parent / MODEL_DIR)
                  and (match is None or re.search(match, p.parent.name)))


def reevaluate(sweep: Path, overrides: list[str], match: str | None = None) -> dict[str, list[str]]:
    """Evaluate every finished job (whose folder name ``match`` matches, e.g. ``seed=1``) on the ``data.eval``
    sets of ``overrides``, each set's own ``max_ids`` applied; returns job -> sets added."""
    from hydra import compose, initialize_config_dir

    from hybrid_sweep.data.protocols import load_data
    from hybrid_sweep.model import build_biencoder
    from hybrid_sweep.runtime import quiet_libraries

    quiet_libraries()
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    root = paths.data_root(cfg.paths.data_root)
    wanted = OmegaConf.to_container(cfg.data.eval, resolve=True, throw_on_missing=True)
    jobs = finished_jobs(sweep, match)
    if not jobs:
        raise FileNotFoundError(f"no finished job with a saved model ({MODEL_DIR}/) under {sweep}"
                                + (f" whose name matches {match!r}" if match else "") + "; jobs keep one when "
                                "model.save=true")
    added: dict[str, list[str]] = {}
    for job in jobs:
        rows = read_results(job / "results.json")
        have = {r.get("eval_set", r.get("eval_data")) for r in rows}
        todo = [name for name in wanted if name not in have]
        if not todo:
            log.info("skip: %s has every requested set", job.name)
            continue
        job_cfg = OmegaConf.load(job / "config.yaml")
        job_data = OmegaConf.to_container(job_cfg.data, resolve=True)
        # the sets as the job's own run would read them: its split, leakage checks, max_ids, max_questions
        sets = load_data({**job_data, "eval": {name: wanted[name] for name in todo}}, root,
                         cfg.eval.get("max_questions")).evals
        trained = build_biencoder({"source": "local", "path": str(job / MODEL_DIR)})  # settings from the saved model
        base = build_biencoder(OmegaConf.create(read_meta(job / MODEL_DIR)["base"]))
        lengths = eval_lengths(trained, cfg.eval.max_length)
        seen = [l for l in str(rows[0].get("train_langs", "")).split(",") if l]
        for name, ev in sets.items():
            evals = {}
            for stage, model, cache in (("zero_shot", base, cfg.eval.embedding_cache), ("trained", trained, None)):
                log.info("%s: %s on %s (%d questions, %d candidates)", job.name, stage, name,
                         len(ev.rset.questions), len(ev.rset.candidates))
                evals[stage] = evaluate(ev.rset, *encode(model, ev.rset, cfg.eval.batch_size, cache, lengths,
                                                                 cfg.eval.precision))
            write_evaluation(set_dir(job, name, headline=False), ev.rset, evals, seen_langs=seen,
                             trec_depth=cfg.eval.trec_depth)
            rewrite_results(job / "results.json", {(stage, name): list(e.rows) for stage, e in evals.items()},
                            set_columns(trained, ev.rset, lengths, cfg.eval.precision))
            added.setdefault(job.name, []).append(name)
            log.info("%s: added %s", job.name, name)
    return added


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hybrid_sweep.reevaluate", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder (outputs/<sweep_name>) or one job folder")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data/eval=[mlqa_r] eval.batch_size=32")
    parser.add_argument("--match", help="only job folders whose name this regular expression matches (anywhere), "
                        "e.g. seed=1 or 'langs=[17],seed=1,trainer.max_steps=(24|384)$'")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    added = reevaluate(args.sweep, args.overrides, args.match)
    print(f"added {sum(map(len, added.values()))} evaluation(s) to {len(added)} job(s)")


if __name__ == "__main__":
    main()
