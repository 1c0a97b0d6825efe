"""GradCache: the gradient of a full-batch contrastive loss with the activation memory of one chunk."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch

from hybrid_sweep.model import length_chunks

Features = dict[str, torch.Tensor]
Loss = Callable[..., torch.Tensor]  # (queries, passages[, negatives]) embeddings -> loss


def _rng_state(device: torch.device) -> tuple:
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _set_rng_state(state: tuple, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def cached_backward(encode: Callable[[Features], torch.Tensor], inputs: Sequence[Features], loss_fn: Loss,
                    chunk_size: int, backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
                    no_sync: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> torch.Tensor:
    """GradCache (Gao et al. 2021): accumulate into ``.grad`` the parameter gradients of ``loss_fn`` over the
    whole batch while holding the activations of only one chunk of ``chunk_size`` rows; returns the loss.
    ``inputs`` are the sides ``loss_fn`` takes in order: queries, passages and, with hard negatives, negatives.

    1. every chunk is encoded without a graph (embeddings are small; activations are not kept);
    2. the loss over the full batch and its gradient w.r.t. the embeddings (the only step that sees all rows);
    3. each chunk is encoded again with a graph and ``backward(sum(emb * d loss / d emb))`` — by the chain
       rule, the parameter gradient of the full-batch loss, chunk by chunk.
    Dropout: each chunk's RNG state is saved before step 1 and restored for step 3, so the re-forward draws
    the same masks and step 3 differentiates exactly the loss of step 2; afterwards the RNG continues from
    where step 1 left it. ``backward`` lets Lightning scale/hook it; ``no_sync`` (DDP's) keeps every chunk but
    the last from all-reducing gradients. Chunks are length-sorted and trimmed, as in :meth:`BiEncoder.embed`.
    """
    chunks = [(side, rows, chunk) for side, features in enumerate(inputs)
              for rows, chunk in length_chunks(features, chunk_size)]
    device = inputs[0]["input_ids"].device
    states, embedded = [], [[] for _ in inputs]
    with torch.no_grad():
        for side, rows, chunk in chunks:
            states.append(_rng_state(device))
            embedded[side].append(encode(chunk))
    after = _rng_state(device)
    sides = []
    for side in range(len(inputs)):
        rows = torch.cat([r for s, r, _ in chunks if s == side])
        sides.append(torch.cat(embedded[side])[torch.argsort(rows)].requires_grad_())
    loss = loss_fn(*sides)
    grads = torch.autograd.grad(loss, sides)
    for i, ((side, rows, chunk), state) in enumerate(zip(chunks, states)):
        _set_rng_state(state, device)
        with no_sync() if i < len(chunks) - 1 else contextlib.nullcontext():
            backward((encode(chunk) * grads[side][rows]).sum())
    _set_rng_state(after, device)
    return loss.detach()
