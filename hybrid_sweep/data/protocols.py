"""A run's data: one training corpus (``data.train``) and one or more evaluation sets (``data.eval``), chosen
apart and checked together, so N corpora and M evaluation sets need N + M configs, not N x M protocols.

The presets in ``conf/data/`` are compositions: ``xquad_split`` trains on the XQuAD-R articles outside the
seeded held-out split and evaluates on the held-out ones; ``mlqa_to_xquad`` trains on MLQA-R dev and
evaluates on the whole of XQuAD-R; ``xquad_to_mlqa`` the reverse. A pairing that would evaluate on what it
trains on fails before anything loads a model.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hybrid_sweep.data.catalog import CATALOG, dataset
from hybrid_sweep.data.corpora import TrainCorpus, load_corpus, resolve_path
from hybrid_sweep.data.evalsets import EvalSet, load_eval_set
from hybrid_sweep.data.records import QAItem, RetrievalSet


@dataclass(frozen=True)
class DataPlan:
    train: TrainCorpus
    evals: dict[str, EvalSet] = field(hash=False)  # in config order; the first is the headline set

    @property
    def eval_set(self) -> RetrievalSet:
        """The first (headline) evaluation set."""
        return next(iter(self.evals.values())).rset

    @property
    def eval_languages(self) -> tuple[str, ...]:
        return tuple(sorted({l for e in self.evals.values() for l in (*e.rset.languages, *e.rset.query_languages)}))

    @property
    def info(self) -> dict:
        """Provenance recorded with every result: the corpus, the headline set, the split."""
        first = next(iter(self.evals.values()))
        return {**self.train.info, **first.info, "eval_sets": ",".join(self.evals)}


def split_settings(cfg: Mapping) -> dict:
    return {"seed": int(cfg.get("split_seed", 0)), "held_out": int(cfg.get("eval_articles", 16))}


def load_data(cfg: Mapping, data_root: Path, max_questions: int | None = None, langs=None) -> DataPlan:
    """Read the training corpus and every evaluation set of a ``data`` config, then check they do not leak.
    ``max_questions`` keeps that many parallel question ids per set (``eval.max_questions``, for a quick look);
    ``langs`` (``eval.langs``: all, a list or stratified:N), when set, replaces every set's ``languages``."""
    if not cfg.get("train"):
        raise ValueError("data.train is not set: choose a training corpus, e.g. data/train=xquad_articles")
    evals_cfg = cfg.get("eval") or {}
    if not evals_cfg:
        raise ValueError("data.eval is empty: choose at least one evaluation set, e.g. data/eval=[xquad_heldout]")
    if langs is not None:
        evals_cfg = {name: {**ecfg, "languages": langs} for name, ecfg in evals_cfg.items()}
    for name, ecfg in evals_cfg.items():
        check_declared_leakage(cfg["train"], name, ecfg, data_root)
    split = split_settings(cfg)
    corpus = load_corpus(cfg["train"], data_root, split)
    evals = {name: load_eval_set(name, ecfg, data_root, split) for name, ecfg in evals_cfg.items()}
    for name, ev in evals.items():
        check_leakage(corpus, cfg["train"], name, ev, evals_cfg[name])
    evals = {name: capped(ev, evals_cfg[name].get("max_ids"), f"data.eval.{name}.max_ids")
             for name, ev in evals.items()}
    if max_questions is not None:
        evals = {name: replace(ev, rset=fewer_questions(ev.rset, max_questions)) for name, ev in evals.items()}
    return DataPlan(corpus, evals)


def fewer_questions(rset: RetrievalSet, n: int, seed: int = 0, key: str = "eval.max_questions",
                    pool: bool = False) -> RetrievalSet:
    """The set with ``n`` of its parallel question ids (seeded; in every language they are asked in) and
    the whole candidate pool, so rankings stay as hard as on the full set; with ``pool``, only the
    candidates those ids judge relevant (or ask from) stay in the pool."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{key} must be a positive number of question ids or null, got {n!r}")
    ids = sorted({q.qid for q in rset.questions})
    if n >= len(ids):
        return rset
    keep = set(random.Random(seed).sample(ids, n))
    questions = tuple(q for q in rset.questions if q.qid in keep)
    if not pool:
        return replace(rset, questions=questions)
    kept = {cid for qid in keep for cid in rset.qrels.get(qid, {})} | {q.own for q in questions if q.own}
    return replace(rset, questions=questions, candidates=tuple(c for c in rset.candidates if c.cid in kept),
                   qrels={qid: rel for qid, rel in rset.qrels.items() if qid in keep})


def judged_pool(rset: RetrievalSet) -> bool:
    """Whether every candidate is some question's relevant item or own text: a pool of parallel items (a
    translation set's sentences, Belebele's passages in every language) rather than one with distractors
    (XQuAD-R's non-answer sentences)."""
    judged = {cid for rel in rset.qrels.values() for cid in rel} | {q.own for q in rset.questions if q.own}
    return all(c.cid in judged for c in rset.candidates)


def capped(ev: EvalSet, n: int | None, key: str) -> EvalSet:
    """A set's own ``max_ids``: ``n`` parallel ids (seeded), the same in every job. Where the pool holds only
    judged items (:func:`judged_pool`: SIB-200 sentences, Belebele passages), it shrinks to those ids' items
    too, so the evaluation costs ~n/N of the full set's; a pool with distractors (XQuAD-R) stays whole, as
    ``eval.max_questions`` keeps it."""
    if n is None:
        return ev
    rset = fewer_questions(ev.rset, n, key=key, pool=judged_pool(ev.rset))
    return replace(ev, rset=rset, info={**ev.info, "max_ids": n})


def check_declared_leakage(train_cfg: Mapping, name: str, eval_cfg: Mapping, data_root: Path) -> None:
    """Before anything loads: an evaluation set declared as built from a dataset (``DatasetMeta.contains``:
    Belebele x SIB-200 is made of SIB-200 sentences of every split) never meets training on that dataset,
    named or given by a path inside its folder."""
    if not eval_cfg.get("dataset"):
        return
    for source in dataset(eval_cfg["dataset"]).contains:
        if source not in CATALOG:
            continue
        folder = resolve_path(data_root, CATALOG[source].path).resolve()
        train_path = resolve_path(data_root, train_cfg["path"]).resolve() if train_cfg.get("path") else None
        if train_cfg.get("dataset") == source or (train_path is not None and train_path.is_relative_to(folder)):
            raise ValueError(f"data.eval.{name} ({eval_cfg['dataset']}) is built from {source}, which data.train "
                             f"trains on: the model would be evaluated on text it trained on. Evaluate on another "
                             f"set or train on other data")


def check_leakage(corpus: TrainCorpus, train_cfg: Mapping, name: str, ev: EvalSet, eval_cfg: Mapping) -> None:
    """Training and evaluation may share a source only as the two sides of one article split; then no
    evaluation question id may reach training (checked on the loaded data, not only the settings)."""
    if corpus.source != ev.source and corpus.meta.name not in ev.meta.contains:
        return
    if train_cfg.get("articles") == "train" and eval_cfg.get("articles") == "held_out":
        train_ids = {item.qid for item in corpus.items}
        leaked = [q.qid for q in ev.rset.questions if q.qid in train_ids]
        if leaked:  # pragma: no cover - guarded by the split itself
            raise AssertionError(f"data.eval.{name}: {len(leaked)} evaluation question ids are in training")
        return
    raise ValueError(
        f"data.train ({corpus.name}) and data.eval.{name} read the same data ({corpus.meta.name}): the model "
        f"would be evaluated on what it trains on. Use an article split (data/train=xquad_articles with "
        f"data/eval=[xquad_heldout]) or evaluate on another set")


def load_preset(preset: str, data_root: Path, **options) -> DataPlan:
    """The ``conf/data/<preset>.yaml`` composition with ``data.<key>=value`` overrides (for tests and benches)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.paths import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"data={preset}", *(f"data.{k}={v}" for k, v in options.items())])
    return load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True), data_root)


def restrict_items(items: Sequence[QAItem], languages: Sequence[str]) -> tuple[QAItem, ...]:
    """Keep only the chosen training languages; drop ids left with none."""
    keep = set(languages)
    out = []
    for item in items:
        langs = item.languages & keep
        if langs:
            out.append(QAItem(item.qid, {l: item.questions[l] for l in langs}, {l: item.answers[l] for l in langs},
                              {l: item.context[l] for l in langs if l in item.context}))
    return tuple(out)
