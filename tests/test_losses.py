"""Training maths: GradCache, length buckets and gradient checkpointing give the gradients of the plain loss;
the loss stays float32 under bf16 autocast; manual (GradCache) optimisation steps like automatic."""
from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from hybrid_sweep.training.losses import in_batch_infonce
from hybrid_sweep.model import BiEncoder, build_biencoder, length_chunks
from hybrid_sweep.training.gradcache import cached_backward
from hybrid_sweep.training.module import BiEncoderModule
from hybrid_sweep.paths import CONFIG_DIR

QUERIES = ["Who won?", "How many points did the Panthers defense surrender in the whole season?",
           "Wann wurde die Stadt gegründet?", "城市是什么时候建立的？", "Когда был основан город?", "¿Quién ganó el partido?"]
PASSAGES = ["The Broncos won.", "The defense surrendered only 308 points, sixth in the league.", "Die Stadt wurde 1200 gegründet.",
            "这座城市建于1200年。", "Город был основан в 1200 году, на берегу реки.", "Ganó el equipo local."]
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices gain nothing from a second thread, and on a busy 2-core machine OpenMP's spin-waiting
    makes each op ~100x slower (measured: 1.3 s vs 5 ms per tiny step)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_cfg(cache_dir):
    cfg = OmegaConf.load(CONFIG_DIR / "model" / "tiny.yaml")
    cfg.cache_dir = str(cache_dir / "models")
    cfg.freeze_word_embeddings = False  # every parameter gets a gradient to compare
    return cfg


@pytest.fixture(scope="module")
def tiny(tiny_cfg):
    """Fresh copies of one tiny model (loading the 250k-piece tokenizer takes seconds)."""
    base = build_biencoder(tiny_cfg)

    def fresh(dropout: bool = False) -> BiEncoder:
        model = copy.deepcopy(base)
        return (model if dropout else no_dropout(model)).train()
    return fresh


def no_dropout(model: BiEncoder) -> BiEncoder:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def batch(model):
    return model.tokenize(QUERIES, "query"), model.tokenize(PASSAGES, "passage")


def grads(model) -> dict[str, torch.Tensor]:
    out = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def assert_same(a: dict, b: dict, tol: dict = TOL):
    assert a.keys() == b.keys() and a
    for name in a:
        torch.testing.assert_close(a[name], b[name], **tol, msg=name)


def loss_fn(q, p):
    return in_batch_infonce(q, p, 0.05)


def test_label_offset_points_each_query_at_its_own_passage():
    torch.manual_seed(0)
    q, p = torch.randn(3, 4), torch.randn(9, 4)
    expected = torch.nn.functional.cross_entropy(q @ p.T / 0.1, torch.tensor([3, 4, 5]))
    torch.testing.assert_close(in_batch_infonce(q, p, 0.1, label_offset=3), expected)


def test_grad_cache_equals_the_uncached_loss(tiny):
    model = tiny()
    q, p = batch(model)
    reference = loss_fn(model.embed(q), model.embed(p))
    reference.backward()
    expected = grads(model)
    for chunk in (1, 4, 6):
        loss = cached_backward(model.embed, [q, p], loss_fn, chunk)
        torch.testing.assert_close(loss, reference.detach(), **TOL)
        assert_same(grads(model), expected)


def test_grad_cache_replays_dropout(tiny):
    """With dropout on, the re-forward must draw the masks of the no-grad pass: the result equals a chunked
    forward that keeps every graph (same RNG draws in the same order), not an arbitrary re-draw."""
    model = tiny(dropout=True)
    q, p = batch(model)
    torch.manual_seed(1)
    embedded = [[], []]
    for side, features in enumerate((q, p)):
        chunks = length_chunks(features, 4)
        rows = torch.cat([r for r, _ in chunks])
        embedded[side] = torch.cat([model(**c) for _, c in chunks])[torch.argsort(rows)]
    reference = loss_fn(*embedded)
    reference.backward()
    expected, rng_after = grads(model), torch.get_rng_state()
    torch.manual_seed(1)
    loss = cached_backward(model.embed, [q, p], loss_fn, 4)
    torch.testing.assert_close(loss, reference.detach(), **TOL)
    assert_same(grads(model), expected)
    assert torch.equal(torch.get_rng_state(), rng_after)  # training continues on the same RNG stream
    with torch.no_grad():
        assert abs(loss_fn(model.eval().embed(q), model.embed(p)) - loss) > 1e-3  # dropout was really on


def test_length_buckets_and_checkpointing_keep_embeddings_and_gradients(tiny, tiny_cfg):
    model = tiny()
    q, p = batch(model)
    reference = loss_fn(model.embed(q), model.embed(p))
    reference.backward()
    expected = grads(model)
    bucketed = loss_fn(model.embed(q, chunk_size=2), model.embed(p, chunk_size=2))
    bucketed.backward()
    torch.testing.assert_close(bucketed, reference, **TOL)
    assert_same(grads(model), expected)
    checkpointed = no_dropout(build_biencoder(OmegaConf.merge(tiny_cfg, {"gradient_checkpointing": True}))).train()
    assert checkpointed.encoder.is_activation_checkpointing
    loss = loss_fn(checkpointed.embed(q), checkpointed.embed(p))
    loss.backward()
    torch.testing.assert_close(loss, reference, **TOL)
    assert_same(grads(checkpointed), expected)


def test_loss_is_float32_under_bf16_autocast():
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    p = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    module = BiEncoderModule(torch.nn.Identity(), temperature=0.05)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = module.loss(q.bfloat16(), p.bfloat16())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, in_batch_infonce(q.bfloat16().float(), p.bfloat16().float(), 0.05))


def test_grad_cache_training_steps_like_automatic_optimisation(tiny):
    """Two Lightning steps (optimizer + linear schedule) with GradCache end at the same weights as without."""
    def train(**options):
        model = tiny()
        q, p = batch(model)
        batches = [{"query": q, "passage": p, "mono": torch.zeros(len(QUERIES), dtype=torch.bool)}] * 2
        module = BiEncoderModule(model, lr=1e-3, warmup_steps=1, total_steps=2, **options)
        trainer = pl.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(module, DataLoader(batches, batch_size=None))
        assert trainer.global_step == 2
        return {n: t.detach().clone() for n, t in model.named_parameters()}

    cached, plain = train(grad_cache_chunk=4), train()
    assert cached.keys() == plain.keys()
    for name in cached:  # Adam turns float noise on zero-gradient parameters (attention key biases) into ~1e-6 steps
        torch.testing.assert_close(cached[name], plain[name], rtol=1e-5, atol=1e-5, msg=name)
    with pytest.raises(ValueError, match="trainer.grad_cache_chunk must be a positive"):
        BiEncoderModule(torch.nn.Identity(), grad_cache_chunk=0)


HARD = ["The city lies on the river.", "Die Mannschaft verlor.", "这座城市很大。", "Le match a eu lieu hier.",
        "Полиция прибыла.", "Points were scored late.", "It rained.", "Die Stadt ist alt.", "Он выиграл.",
        "El río es largo.", "The season ended.", "街道很窄。"]


def test_hard_negatives_are_scored_like_a_larger_batch_built_by_hand():
    """Each query against all passages plus every hard negative of the batch: the same cross-entropy as
    logits written out one query at a time over the concatenated candidates."""
    torch.manual_seed(2)
    q, p, n = torch.randn(3, 5), torch.randn(3, 5), torch.randn(6, 5)  # k = 2 per pair
    loss = in_batch_infonce(q, p, 0.05, negatives=n)
    by_hand = []
    for i in range(3):
        logits = torch.stack([q[i] @ c / 0.05 for c in [*p, *n]])
        by_hand.append(-torch.log_softmax(logits, 0)[i])
    torch.testing.assert_close(loss, torch.stack(by_hand).mean())
    assert loss > in_batch_infonce(q, p, 0.05)  # more negatives: a harder problem, never an easier one


def test_grad_cache_equals_the_uncached_loss_with_hard_negatives(tiny):
    model = tiny()
    q, p = batch(model)
    n = model.tokenize(HARD, "passage")  # 2 per pair

    def with_negatives(queries, passages, negatives):
        return in_batch_infonce(queries, passages, 0.05, negatives=negatives)

    reference = with_negatives(model.embed(q), model.embed(p), model.embed(n))
    reference.backward()
    expected = grads(model)
    for chunk in (1, 5, 12):
        loss = cached_backward(model.embed, [q, p, n], with_negatives, chunk)
        torch.testing.assert_close(loss, reference.detach(), **TOL)
        # 30 rows summed chunk by chunk: the token-type row (every token's gradient) differs by ~2e-6 of 1.3
        assert_same(grads(model), expected, dict(rtol=1e-5, atol=5e-6))
