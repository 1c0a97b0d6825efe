"""The shared-weight bi-encoder: one HF encoder, pooling, L2 normalisation, query/passage prefixes."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase


class BiEncoder(nn.Module):
    def __init__(self, tokenizer: PreTrainedTokenizerBase, encoder: PreTrainedModel, pooling: str = "mean",
                 query_prefix: str = "", passage_prefix: str = "", max_length: int = 128):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"model.pooling must be 'mean' or 'cls', got {pooling!r}")
        if tokenizer.padding_side != "right":
            # length_chunks trims padding columns from the right
            raise ValueError(f"the tokenizer pads on the {tokenizer.padding_side}; BiEncoder needs right padding")
        self.tokenizer, self.encoder = tokenizer, encoder
        self.pooling, self.max_length = pooling, max_length
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}

    def tokenize(self, texts: Sequence[str], role: str, max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Prefixed, padded token ids, cut at ``max_length`` tokens (default: the training length)."""
        prefix = self.prefixes[role]
        return dict(self.tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                                   max_length=max_length or self.max_length, return_tensors="pt"))

    @property
    def readable_length(self) -> int:
        """The most tokens (specials included) the encoder has positions for: 512 for me5-small and XLM-R,
        whose 514 position embeddings reserve two for the padding offset."""
        config = self.encoder.config
        positions = config.max_position_embeddings
        if config.model_type in ("roberta", "xlm-roberta", "camembert"):
            positions -= config.pad_token_id + 1
        limit = self.tokenizer.model_max_length
        return min(positions, limit) if limit and limit < 1_000_000 else positions

    def token_lengths(self, texts: Sequence[str], role: str) -> list[int]:
        """Untruncated token counts (prefix and specials included), to report what a length limit cuts."""
        prefix = self.prefixes[role]
        ids = self.tokenizer([prefix + t for t in texts], truncation=False, verbose=False)["input_ids"]
        return [len(i) for i in ids]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1)

    def embed(self, features: dict[str, torch.Tensor], chunk_size: int | None = None) -> torch.Tensor:
        """Embeddings of a tokenised batch, in its row order.

        With ``chunk_size``, rows are encoded in length-sorted chunks, each padded only to its own longest
        row: a batch padded to its longest row spends much of its compute on padding (on XQuAD-R passages at
        max_length 128, the longest row is about twice the mean), and on CPU the cost is linear in tokens.
        The embeddings are the same (padding is masked); only dropout masks are drawn differently.
        """
        if chunk_size is None or chunk_size >= len(features["input_ids"]):
            return self(**features)
        chunks = length_chunks(features, chunk_size)
        embedded = torch.cat([self(**chunk) for _, chunk in chunks])
        return embedded[torch.argsort(torch.cat([rows for rows, _ in chunks]))]

    @torch.no_grad()
    def encode(self, texts: Sequence[str], role: str, batch_size: int = 64, progress: str | None = None,
               max_length: int | None = None):
        """Embed texts, returned in input order as float32 numpy; texts are cut at ``max_length`` tokens
        (default: the training length). Batches are formed in order of token count, not characters: the
        ratio of characters to tokens differs between scripts, so batches sorted by characters pad SIB-200
        ``stratified:40`` to 1.72x its real tokens and XQuAD-R passages to 1.86x (1.05x and 1.16x sorted by
        tokens); padding is masked, so only the cost changes."""
        import numpy as np
        from tqdm.auto import tqdm

        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        limit = max_length or self.max_length
        lengths = self.token_lengths(texts, role)
        order = sorted(range(len(texts)), key=lambda i: (min(lengths[i], limit), len(texts[i])))
        out = np.empty((len(texts), self.encoder.config.hidden_size), dtype=np.float32)
        for start in tqdm(range(0, len(order), batch_size), desc=progress, disable=progress is None,
                          unit="batch", mininterval=5):
            idx = order[start : start + batch_size]
            batch = {k: v.to(device) for k, v in self.tokenize([texts[i] for i in idx], role, max_length).items()}
            out[idx] = self(**batch).float().cpu().numpy()
        self.train(was_training)
        return out


def length_chunks(features: dict[str, torch.Tensor], chunk_size: int) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """``(row indices, features)`` per chunk of ``chunk_size`` rows, longest rows first, each chunk trimmed to
    its own longest row (right padding, which BiEncoder checks)."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be a positive number of rows, got {chunk_size}")
    lengths = features["attention_mask"].sum(1)
    order = torch.argsort(lengths, descending=True, stable=True)
    return [(rows, {k: v[rows, : int(lengths[rows[0]])] for k, v in features.items()})
            for rows in order.split(chunk_size)]
