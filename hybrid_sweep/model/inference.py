"""Lower-precision copies of a bi-encoder for large evaluations (``eval.precision``), off by default.

``int8``: PyTorch dynamic quantisation of every ``nn.Linear`` (weights int8, activations quantised on the
fly; CPU only). ``bf16``: the encoder's weights and activations in bfloat16, fast on GPUs and on CPUs with
AVX512-BF16/AMX, slow elsewhere. Both change the embeddings slightly; ``bench.manylang_bench`` measures
the speed-up and the mAP difference to fp32 per evaluation set, so a user can decide.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

PRECISIONS = ("fp32", "int8", "bf16")


def for_inference(model, precision: str = "fp32"):
    """``model`` itself for fp32; otherwise a converted copy (the model being trained is never touched)."""
    if precision not in PRECISIONS:
        raise ValueError(f"eval.precision={precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return model
    if precision == "int8" and next(model.parameters()).device.type != "cpu":
        raise ValueError("eval.precision=int8 is PyTorch's CPU dynamic quantisation; on a GPU use bf16")
    fast = copy.deepcopy(model).eval()  # checked first: a refused precision copies nothing
    if precision == "int8":
        fast.encoder = torch.ao.quantization.quantize_dynamic(fast.encoder, {nn.Linear}, dtype=torch.qint8)
    else:
        fast.encoder.to(torch.bfloat16)
    return fast
