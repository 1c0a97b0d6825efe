"""Contrastive losses as pure functions on embeddings, and their cross-device (DDP) form."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.distributed._functional_collectives import all_gather_single
from torch.nn import functional as F


def in_batch_infonce(queries: torch.Tensor, passages: torch.Tensor, temperature: float,
                     label_offset: int = 0, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE with in-batch negatives: query i's positive is passage ``label_offset + i``, every other
    passage a negative (``passages`` may hold more rows than ``queries``: other ranks' passages), and so is
    every row of ``negatives`` (hard negatives of any pair of the batch, after all passages)."""
    candidates = passages if negatives is None else torch.cat([passages, negatives])
    logits = queries @ candidates.T / temperature
    labels = torch.arange(len(queries), device=queries.device) + label_offset
    return F.cross_entropy(logits, labels)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def cross_device_infonce(queries: torch.Tensor, passages: torch.Tensor, temperature: float,
                         negatives: torch.Tensor | None = None) -> torch.Tensor:
    """In-batch InfoNCE over the global batch: this rank's queries against every rank's passages (and every
    rank's hard negatives).

    Only passages are gathered: the loss is query -> passage, so other ranks' queries would enter no logit.
    The gather's backward sums every rank's gradient for a passage onto the rank that encoded it, so DDP's
    averaging of the per-rank gradients is exactly the gradient of the global-batch loss, and the mean of
    the per-rank losses is that loss. Every rank must hold the same number of pairs (the batch samplers
    slice equal shares) and of negatives (``negatives.per_pair`` each). Outside a process group of two or
    more ranks this is :func:`in_batch_infonce`.
    """
    if not is_distributed():
        return in_batch_infonce(queries, passages, temperature, negatives=negatives)
    # differentiable; it replaces the deprecated torch.distributed.nn.functional.all_gather
    everyone = all_gather_single(passages, 0, dist.group.WORLD)
    hard = None if negatives is None else all_gather_single(negatives, 0, dist.group.WORLD)
    return in_batch_infonce(queries, everyone, temperature, label_offset=dist.get_rank() * len(queries), negatives=hard)
