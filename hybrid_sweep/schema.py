"""The typed schema of a composed run config, checked before any data or model loads.

Hydra composes; Pydantic checks the result. Every wrong type or out-of-range value is reported at once,
each with its key, its value and what is allowed, in the planning step (seconds), not deep inside
Lightning after the zero-shot evaluation. Settings that run but cannot mean what they say (no in-batch
negative, a learning rate that stays 0, a GPU trainer without a GPU) are refused here too, and those a
user may mean are warned about loudly. Keys that depend on the chosen option of a group (a dataset
format's fields, a model source's options) are typed loosely here and checked where they are used.
"""
from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path
from typing import Annotated, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hybrid_sweep import paths

log = logging.getLogger("hybrid_sweep")

Positive = Annotated[int, Field(gt=0)]
Steps = Annotated[int, Field(ge=0)]
Unit = Annotated[float, Field(ge=0, le=1)]
STRATIFIED = re.compile(r"stratified:\d+")


class ConfigError(ValueError):
    """A composed config that cannot run; the message lists every offending key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class _Open(BaseModel):
    """A group whose options add keys of their own (data formats, model sources, strategies)."""
    model_config = ConfigDict(extra="allow", strict=False)


class Trainer(_Section):
    max_steps: Positive
    accelerator: Literal["cpu", "gpu", "cuda", "mps", "auto"]
    devices: Positive | Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
    strategy: str
    precision: Literal["32-true", "32", "16-mixed", "bf16-mixed", "bf16-true", "16-true", "64-true"]
    checkpoint_every_n_steps: Positive
    log_every_n_steps: Positive
    grad_cache_chunk: Positive | None = None
    length_bucket: Positive | None = None
    threads: Positive | None = None


class Optimizer(_Section):
    name: Literal["adamw"]
    lr: Annotated[float, Field(gt=0)]
    weight_decay: Annotated[float, Field(ge=0)]
    warmup_steps: Steps


class Loss(_Section):
    name: Literal["infonce"]
    temperature: Annotated[float, Field(gt=0)]
    gather_negatives: bool


class Batching(_Open):
    name: str
    batch_size: Positive
    batches_per_epoch: Positive | None = None
    lang_weights: Literal["uniform", "size"] | dict[str, Annotated[float, Field(ge=0)]] = "uniform"
    size_temperature: Annotated[float, Field(ge=0)] = 0.7
    alpha: Unit | None = None
    same_pair: bool | None = None
    bitext_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.0
    bitext_langs: Literal["untrained", "all"] | list[str] = "untrained"


class Negatives(_Open):
    name: str
    per_pair: Annotated[int, Field(ge=0)]
    language: Literal["passage", "query", "random"]
    depth: Positive | None = None


class MaxLength(_Section):
    query: Annotated[int, Field(ge=2)] | None = None
    passage: Annotated[int, Field(ge=2)] | None = None


class Eval(_Section):
    batch_size: Positive
    precision: Literal["fp32", "int8", "bf16"]
    zero_shot: bool
    embedding_cache: str | None
    trec_depth: Positive | None = None
    seen_langs: list[str] | None = None
    max_length: MaxLength = MaxLength()
    langs: Literal["all"] | list[str] | str | None = None
    max_questions: Positive | None = None

    @field_validator("langs")
    @classmethod
    def _langs(cls, value):
        if isinstance(value, str) and value != "all" and not STRATIFIED.fullmatch(value):
            raise ValueError("use all, a list of languages, or stratified:<N>")
        return value


class Logger(_Section):
    name: Literal["wandb", "none"]
    project: str | None = None
    mode: Literal["auto", "offline", "online", "disabled"] = "auto"


class Model(_Open):
    label: str
    source: str
    pooling: Literal["mean", "cls"] = "mean"
    max_length: Annotated[int, Field(ge=2)] = 512
    freeze_word_embeddings: bool = False
    gradient_checkpointing: bool = False
    save: bool = False


class Data(_Open):
    split_seed: int | None = None
    eval_articles: Positive | None = None


class Paths(_Section):
    data_root: str
    output_root: str
    cache_dir: str


class RunConfig(_Open):
    paths: Paths
    data: Data
    batching: Batching
    model: Model
    trainer: Trainer
    optimizer: Optimizer
    loss: Loss
    negatives: Negatives
    logger: Logger
    eval: Eval
    langs: Positive | None
    train_langs: list[str] | None = None
    group: str
    anchor: str | None = None
    heldout_langs: list[str] | None = None
    seed: int
    sweep_name: str

    @field_validator("sweep_name")
    @classmethod
    def _plain(cls, value):
        return paths.plain_name(value)


def _describe(errors: list[dict]) -> list[str]:
    """One line per bad key: its value and every way it could be valid (a union's branches joined by 'or')."""
    by_key: dict[str, tuple[object, list[str]]] = {}
    for error in errors:
        key = ".".join(str(p) for p in error["loc"] if not _is_branch(p))
        message = error["msg"].removeprefix("Value error, ")
        by_key.setdefault(key, (error.get("input"), []))[1].append(message)
    # a union's other branch that failed deeper (lang_weights.en='a') says more than its "not a literal"
    return [f"{key}={value!r}: {' or '.join(dict.fromkeys(msgs))}" for key, (value, msgs) in by_key.items()
            if not any(other.startswith(key + ".") for other in by_key)]


def _is_branch(part) -> bool:
    """Pydantic names a union member in an error's location (``int``, ``list[str]``); the key does not."""
    return isinstance(part, str) and (part in ("int", "float", "str", "bool", "dict", "none")
                                      or "[" in part or part.startswith(("literal", "function", "constrained")))


def check_config(cfg: DictConfig) -> RunConfig:
    """The typed run config, or one :class:`ConfigError` listing every bad key; degenerate settings a user
    may mean are logged as warnings."""
    raw = OmegaConf.to_container(cfg, resolve=True)
    try:
        typed = RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = _describe(exc.errors())
        raise ConfigError("the config has {} bad value(s):\n  {}".format(len(lines), "\n  ".join(lines))) from None
    problems, warnings = degenerate(typed)
    for warning in warnings:
        log.warning("config: %s", warning)
    if problems:
        raise ConfigError("the config cannot train as set:\n  " + "\n  ".join(problems))
    return typed


def degenerate(cfg: RunConfig) -> tuple[list[str], list[str]]:
    """(errors, warnings) for settings that type-check but would report an untrained or unlogged model."""
    t, opt = cfg.trainer, cfg.optimizer
    errors, warnings = [], []
    if cfg.negatives.name != "none" and cfg.negatives.per_pair < 1:
        errors.append(f"negatives={cfg.negatives.name} with negatives.per_pair={cfg.negatives.per_pair}: "
                      f"mine at least 1 per pair, or use negatives=none")
    if cfg.batching.batch_size == 1 and cfg.negatives.per_pair == 0:
        errors.append("batching.batch_size=1 leaves no in-batch negative: the contrastive loss is 0 at every step "
                      "and nothing is learned; use 2 or more")
    if opt.warmup_steps >= 1 and t.max_steps == 1:
        errors.append(f"trainer.max_steps=1 with optimizer.warmup_steps={opt.warmup_steps}: the only step has "
                      f"learning rate 0, so the 'trained' model is the untrained one; raise max_steps or set "
                      f"optimizer.warmup_steps=0")
    elif opt.warmup_steps >= t.max_steps:
        warnings.append(f"optimizer.warmup_steps={opt.warmup_steps} >= trainer.max_steps={t.max_steps}: the "
                        f"learning rate never reaches optimizer.lr={opt.lr}")
    if cfg.logger.name == "wandb" and t.max_steps < t.log_every_n_steps:
        warnings.append(f"trainer.max_steps={t.max_steps} < trainer.log_every_n_steps={t.log_every_n_steps}: no "
                        f"training curve point reaches W&B; lower trainer.log_every_n_steps")
    if t.accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            errors.append(f"trainer.accelerator={t.accelerator} but this machine has no CUDA GPU; use trainer=cpu")
        elif isinstance(t.devices, int) and t.devices > torch.cuda.device_count():
            errors.append(f"trainer.devices={t.devices} but this machine has {torch.cuda.device_count()} GPU(s)")
    return errors, warnings


def _group_keys(conf_dir: Path) -> dict[str, set[str]]:
    """Top-level names of the config (its keys and config groups) -> the keys their options define."""
    root = OmegaConf.load(conf_dir / "config.yaml")
    keys: dict[str, set[str]] = {k: set() for k in root if k not in ("defaults", "hydra")}
    for group in (p for p in conf_dir.iterdir() if p.is_dir()):
        names = keys.setdefault(group.name, set())
        names.update(sub.name for sub in group.iterdir() if sub.is_dir())  # nested groups: data.train, data.eval
        for option in group.glob("*.yaml"):
            node = OmegaConf.load(option)
            if isinstance(node, DictConfig):
                names.update(k for k in node if k != "defaults")
    keys["hydra"] = set()
    return keys


def check_overrides(args: list[str], conf_dir: Path = paths.CONFIG_DIR) -> None:
    """Refuse an override whose key is a near miss of a real one (``lang=4`` -> ``langs``) before Hydra
    composes, naming the key to use; keys with no close match are left to Hydra's own error."""
    known = _group_keys(conf_dir)
    for arg in args:
        if arg.startswith(("-", "+", "~")) or "=" not in arg:
            continue
        key = arg.split("=", 1)[0].split("@", 1)[0]
        head, _, rest = key.replace("/", ".").partition(".")
        if head not in known:
            close = difflib.get_close_matches(head, list(known), n=1)
            if close:
                raise ConfigError(f"{arg}: there is no config key {head!r}; did you mean {close[0]!r}? "
                                  f"(top-level keys: {', '.join(sorted(known))})")
        elif rest and "/" not in key and known[head]:
            sub = rest.split(".")[0]
            close = difflib.get_close_matches(sub, sorted(known[head]), n=1)
            if sub not in known[head] and close:
                raise ConfigError(f"{arg}: {head} has no key {sub!r}; did you mean {head}.{close[0]}?")


def cli_guard(argv: list[str]) -> None:
    """Entry-point wrapper for :func:`check_overrides`: print the error and exit 2, as a CLI should."""
    import sys

    try:
        check_overrides(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
