"""Embedding cache: each distinct text is encoded once per model state, and re-evaluating the same
checkpoint on the same texts (plots, new metrics, a second command) costs a file read, not an encode.

The key is a hash of everything that shapes an embedding: every tensor of the model state, the
tokenizer, pooling, prefixes and training max_length, plus the role, the evaluation length and the texts
themselves. A changed weight
or text therefore never reads a stale file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger("hybrid_sweep")
CHUNK_TEXTS = 8192  # distinct texts per cached file: ~2-4 minutes of me5-small encoding on 2 CPU cores


def model_fingerprint(model) -> str:
    """Hash of a BiEncoder's state and encoding settings (~0.5 s for me5-small's 118M parameters)."""
    import torch

    h = hashlib.blake2b(digest_size=16)
    settings = (type(model.encoder).__name__, model.pooling, model.max_length, sorted(model.prefixes.items()),
                type(model.tokenizer).__name__, len(model.tokenizer))
    h.update(repr(settings).encode())
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is not None:  # the vocabulary and normalisation rules, not only their size; not the
        # truncation and padding state, which the tokenizer sets on itself at each call
        spec = {k: v for k, v in json.loads(backend.to_str()).items() if k not in ("truncation", "padding")}
        h.update(json.dumps(spec, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def texts_key(texts: Sequence[str], role: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(role.encode())
    for t in texts:
        h.update(b"\0" + t.encode())
    return h.hexdigest()


def encode_texts(model, texts: Sequence[str], role: str, batch_size: int = 64, cache_dir: str | Path | None = None,
                 fingerprint: str | None = None, progress: str | None = None, max_length: int | None = None) -> np.ndarray:
    """Embeddings of ``texts`` in order, cut at ``max_length`` tokens (default: the model's training length);
    duplicates are encoded once, and with ``cache_dir`` each chunk of ``CHUNK_TEXTS`` distinct texts is
    stored under ``cache_dir/<model fingerprint>/`` (keyed by role, length and its texts) as soon as it is
    encoded and read back next time, so an interrupted evaluation of 100k texts resumes where it stopped."""
    index: dict[str, int] = {}
    inverse = np.array([index.setdefault(t, len(index)) for t in texts], dtype=np.int64)
    unique = list(index)
    chunks = [unique[i: i + CHUNK_TEXTS] for i in range(0, len(unique), CHUNK_TEXTS)] or [[]]
    if cache_dir is not None:
        fingerprint = fingerprint or model_fingerprint(model)
    parts = []
    for n, chunk in enumerate(chunks, 1):
        label = progress if len(chunks) == 1 or progress is None else f"{progress} {n}/{len(chunks)}"
        parts.append(_encode_chunk(model, chunk, role, batch_size, cache_dir, fingerprint, label, max_length))
    return np.concatenate(parts)[inverse] if len(parts) > 1 else parts[0][inverse]


def _encode_chunk(model, texts: list[str], role: str, batch_size: int, cache_dir: str | Path | None,
                  fingerprint: str | None, progress: str | None, max_length: int | None) -> np.ndarray:
    path = None
    if cache_dir is not None:
        length = f"-L{max_length}" if max_length is not None else ""
        path = Path(cache_dir) / fingerprint / f"{role}{length}-{texts_key(texts, role)}.npy"
        emb = _read_entry(path, len(texts))
        if emb is not None:
            return emb
    emb = model.encode(texts, role, batch_size, progress=progress, max_length=max_length)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: jobs sharing a cache never mix writes
        with tmp.open("wb") as fh:
            np.save(fh, emb)
        os.replace(tmp, path)
    return emb


def _read_entry(path: Path, n_texts: int) -> np.ndarray | None:
    """A cached chunk, or ``None`` to encode it; a damaged entry (truncated, wrong shape, NaN) is deleted,
    with its name in the log, and encoded again."""
    if not path.exists():
        return None
    try:
        emb = np.load(path)
        if emb.ndim != 2 or emb.shape[0] != n_texts or not np.isfinite(emb).all():
            raise ValueError(f"shape {emb.shape} for {n_texts} texts or non-finite values")
    except (OSError, ValueError, EOFError) as exc:
        log.warning("embedding cache entry %s is damaged (%s); encoding it again", path, str(exc)[:120])
        path.unlink(missing_ok=True)
        return None
    return emb
