"""Hard negatives: the ``negatives`` config group (none, paragraph, bm25, model), mined once per job before
training and cached by data, languages, miner settings, seed and (for ``model``) the model state."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hybrid_sweep.batching import PairSpace
from hybrid_sweep.negatives.base import HardNegatives, clean
from hybrid_sweep.negatives.miners import MINERS

log = logging.getLogger("hybrid_sweep")
__all__ = ["HardNegatives", "MINERS", "mine_negatives"]


def _key(cfg: Mapping, space: PairSpace, seed: int, model) -> str:
    h = hashlib.blake2b(digest_size=16)
    options = {k: v for k, v in cfg.items() if k != "language"}  # one mining serves every language mode
    h.update(json.dumps([options, seed, space.languages], sort_keys=True, default=str).encode())
    for item in space.items:
        h.update(json.dumps([item.qid, item.questions, item.answers, item.context], sort_keys=True).encode())
    if cfg["name"] == "model":
        from hybrid_sweep.evaluation.cache import model_fingerprint

        h.update(model_fingerprint(model).encode())
    return h.hexdigest()


def mine_negatives(cfg: Mapping, space: PairSpace, seed: int, model=None,
                   cache_dir: str | Path | None = None) -> tuple[HardNegatives | None, float]:
    """The job's hard negatives (``None`` for ``negatives=none``) and the seconds mining took (0 when cached).

    Only ``space`` is mined: the training ids of the training languages, never evaluation data."""
    name, k = cfg["name"], int(cfg.get("per_pair", 0))
    if name == "none":
        return None, 0.0
    if space.bitext:
        raise ValueError("negatives and batching.bitext_fraction > 0 do not combine yet: bitext pairs have no "
                         "mined negatives; set one of them off")
    options = {key: v for key, v in cfg.items() if key not in ("name", "per_pair", "language", "depth")}
    path = Path(cache_dir) / "negatives" / f"{name}-{_key(cfg, space, seed, model)}.json" if cache_dir else None
    if path is not None and path.exists():
        texts = {(int(i), int(li)): tuple(t) for i, li, t in json.loads(path.read_text())}
        log.info("hard negatives: %s, read from %s", name, path)
        return HardNegatives(name, k, cfg["language"], seed, texts), 0.0
    started = time.perf_counter()
    candidates = MINERS.get(name)(space, int(cfg.get("depth", 4 * k + 8)), model=model, **options)
    rng = np.random.default_rng(seed)
    texts = {key: clean(found, key[0], space.languages[key[1]], space, k, rng)
             for key, found in sorted(candidates.items())}
    seconds = time.perf_counter() - started
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([[i, li, list(t)] for (i, li), t in texts.items()], ensure_ascii=False))
        os.replace(tmp, path)
    log.info("hard negatives: %s, %d per pair for %d (id, language) pairs in %.1fs", name, k, len(texts), seconds)
    return HardNegatives(name, k, cfg["language"], seed, texts), seconds
