"""Trained models a researcher can keep: a job stores only what training changed, and ``export`` turns that
into a sentence-transformers folder (Transformer + Pooling + Normalize, the prefixes as prompts).

me5-small is 470 MB in float32 and its frozen word embeddings are 80% of it; a job therefore writes
``<job>/model/``: ``trained.safetensors`` (the weights that had gradients), and ``model.json`` (the base
model's config, a hash of the base weights, pooling, prefixes and lengths). The ``local`` model source
rebuilds the encoder from those (the base, checked against the hash, with the trained weights on top), so
``model=local model.path=<job>/model`` and ``python -m hybrid_sweep.export <job> <dir>`` work from ~90 MB a job.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

MODEL_DIR = "model"
WEIGHTS_FILE = "trained.safetensors"
META_FILE = "model.json"


def weights_hash(state: Mapping) -> str:
    """blake2b over every tensor's name, dtype, shape and bytes: equal only for identical weights."""
    import torch

    h = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(state.items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def base_config(model_cfg: Mapping) -> dict:
    """What rebuilds the base encoder: the model config group minus what training or saving adds."""
    return {k: v for k, v in dict(model_cfg).items() if k not in ("save", "freeze_word_embeddings",
                                                                   "gradient_checkpointing")}


def save_trained(model, model_cfg: Mapping, base_hash: str, out_dir: Path) -> Path:
    """Write the trained weights (those with ``requires_grad``) and the recipe, atomically, into ``out_dir``."""
    from safetensors.torch import save_file

    trained = {name: p.detach().cpu().contiguous() for name, p in model.encoder.named_parameters() if p.requires_grad}
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(trained, str(tmp / WEIGHTS_FILE))
    meta = {"base": base_config(model_cfg), "base_weights_hash": base_hash, "pooling": model.pooling,
            "query_prefix": model.prefixes["query"], "passage_prefix": model.prefixes["passage"],
            "train_max_length": model.max_length, "readable_length": model.readable_length,
            "trained_tensors": len(trained), "trained_parameters": int(sum(t.numel() for t in trained.values()))}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def is_saved(path: Path) -> bool:
    return (Path(path) / META_FILE).is_file() and (Path(path) / WEIGHTS_FILE).is_file()


def read_meta(path: Path) -> dict:
    return json.loads((Path(path) / META_FILE).read_text())


def export_sentence_transformers(model, out_dir: Path) -> Path:
    """A full sentence-transformers folder of a ``BiEncoder`` (``SentenceTransformer(out_dir)`` loads it
    offline; ``encode(..., prompt_name="query")`` adds the query prefix)."""
    try:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError as exc:
        raise RuntimeError("export needs sentence-transformers: pip install -e '.[export]'") from exc

    out_dir = Path(out_dir)
    hf_dir = out_dir.with_name(out_dir.name + ".hf-tmp")
    shutil.rmtree(hf_dir, ignore_errors=True)
    model.encoder.save_pretrained(str(hf_dir))
    model.tokenizer.save_pretrained(str(hf_dir))
    transformer = Transformer(str(hf_dir), max_seq_length=model.readable_length)
    pooling = Pooling(model.encoder.config.hidden_size, pooling_mode=model.pooling)
    st = SentenceTransformer(modules=[transformer, pooling, Normalize()],
                             prompts={"query": model.prefixes["query"], "passage": model.prefixes["passage"]},
                             similarity_fn_name="cosine", device="cpu")
    st.save(str(out_dir))
    shutil.rmtree(hf_dir, ignore_errors=True)
    return out_dir
