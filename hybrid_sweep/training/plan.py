"""Everything a job decides before any model loads: data, training languages, pairs, this rank's sampler.

Config errors (wrong types and ranges, checked by :mod:`hybrid_sweep.schema`; unknown codes, a language
count the data cannot fill, leaking data, a batch the data cannot fill) surface here in seconds.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from omegaconf import DictConfig, OmegaConf

from hybrid_sweep import paths
from hybrid_sweep.batching import BatchStrategy, PairSpace, build_strategy
from hybrid_sweep.data.protocols import DataPlan, load_data, restrict_items
from hybrid_sweep.data.tatoeba import load_bitext
from hybrid_sweep.languages import canonical_codes, choose_train_languages
from hybrid_sweep.schema import check_config


@dataclass(frozen=True)
class Plan:
    data: DataPlan
    train_langs: tuple[str, ...]
    space: PairSpace
    sampler: BatchStrategy
    make_sampler: Callable[..., BatchStrategy]  # (rank=, world_size=) -> that rank's sampler, for DDP


def plan(cfg: DictConfig, rank: int = 0, world_size: int = 1) -> Plan:
    check_config(cfg)
    root = paths.data_root(cfg.paths.data_root)
    data = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True), root,
                     cfg.eval.get("max_questions"), cfg.eval.get("langs"))
    train_langs = choose_train_languages(
        cfg.langs, trainable(data.train.languages, cfg.get("heldout_langs"), cfg.train_langs),
        canonical_codes(list(cfg.train_langs), "train_langs") if cfg.train_langs else None,
        cfg.group, canonical_codes([cfg.anchor], "anchor")[0] if cfg.anchor else None)
    options = {k: v for k, v in OmegaConf.to_container(cfg.batching, resolve=True).items() if k != "name"}
    bitext = (load_bitext(root, options.get("bitext_langs", "untrained"), train_langs, data.eval_languages)
              if options.get("bitext_fraction", 0) > 0 else ())
    space = PairSpace(restrict_items(data.train.items, train_langs), train_langs, bitext)
    make_sampler = partial(build_strategy, cfg.batching.name, space, seed=cfg.seed, **options)
    return Plan(data, train_langs, space, make_sampler(rank=rank, world_size=world_size), make_sampler)


def trainable(available: tuple[str, ...], heldout, explicit) -> tuple[str, ...]:
    """The training data's languages minus ``heldout_langs``, which no job may train on."""
    if not heldout:
        return available
    codes = set(canonical_codes(list(heldout), "heldout_langs"))
    clash = [l for l in (explicit or []) if canonical_codes([l], "train_langs")[0] in codes]
    if clash:
        raise ValueError(f"train_langs={list(explicit)} includes held-out language(s) {clash} (heldout_langs="
                         f"{list(heldout)}); drop them from one list")
    left = tuple(l for l in available if canonical_codes([l], "training data")[0] not in codes)
    if not left:
        raise ValueError(f"heldout_langs={list(heldout)} leaves no training language of {list(available)}")
    return left


def world_size(trainer_cfg) -> int:
    return paths.device_count(trainer_cfg.devices)


def run_keys(cfg: DictConfig, plan_: Plan, job: str) -> dict:
    """The metadata on every result row: what aggregation groups and pivots by."""
    evals = list(plan_.data.evals)
    return {
        "sweep": cfg.sweep_name, "job": job, "model": cfg.model.label,
        "data": f"{plan_.data.train.name}->{'+'.join(evals)}", "train_data": plan_.data.train.name,
        "eval_data": evals[0], "langs": len(plan_.train_langs),
        "train_langs": ",".join(plan_.train_langs), "group": "explicit" if cfg.train_langs else cfg.group,
        "heldout_langs": ",".join(cfg.heldout_langs) if cfg.get("heldout_langs") else None,
        "batching": cfg.batching.name, "alpha": cfg.batching.get("alpha"), "same_pair": cfg.batching.get("same_pair"),
        "lang_weights": str(cfg.batching.get("lang_weights")), "bitext_fraction": cfg.batching.get("bitext_fraction", 0.0),
        "bitext_langs": ",".join(sorted({b.lang for b in plan_.space.bitext})), "seed": cfg.seed,
        "negatives": cfg.negatives.name, "negatives_per_pair": cfg.negatives.per_pair,
        "negatives_language": cfg.negatives.language if cfg.negatives.name != "none" else None,
        "train_max_length": cfg.model.get("max_length"),
        "freeze_word_embeddings": cfg.model.get("freeze_word_embeddings"), "precision": cfg.trainer.precision,
        "steps": cfg.trainer.max_steps, "batch_size": cfg.batching.batch_size,
        "pairs_seen": cfg.trainer.max_steps * cfg.batching.batch_size * world_size(cfg.trainer),
    }
