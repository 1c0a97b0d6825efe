"""Contrastive losses as pure functions on embeddings."""
from __future__ import annotations

import torch
from torch.nn import functional as F


def in_batch_infonce(queries: torch.Tensor, passages: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE with in-batch negatives: query i's positive is passage i, every other passage a negative."""
    logits = queries @ passages.T / temperature
    return F.cross_entropy(logits, torch.arange(len(queries), device=queries.device))
