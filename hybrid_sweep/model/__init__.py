"""Model room: the bi-encoder and the sources its weights come from."""
from hybrid_sweep.model.biencoder import BiEncoder, length_chunks
from hybrid_sweep.model.sources import SOURCES, load_model


def build_biencoder(cfg) -> BiEncoder:
    """``cfg`` is the ``model`` config group: source options plus pooling, prefixes and max_length."""
    options = {k: v for k, v in dict(cfg).items() if k not in ("source", "pooling", "query_prefix",
                                                                "passage_prefix", "max_length", "label",
                                                                "freeze_word_embeddings", "gradient_checkpointing")}
    tokenizer, encoder = load_model(cfg["source"], **options)
    if cfg.get("freeze_word_embeddings", False):
        # the 250k-piece embedding matrix is ~80% of me5-small: freezing it makes CPU steps ~1.6x faster
        # and leaves the vectors of languages absent from training untouched
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if cfg.get("gradient_checkpointing", False):
        # activations are recomputed in backward instead of stored: less memory for ~1/3 more compute.
        # Non-reentrant: the reentrant form gives no gradients when the (frozen) embeddings need none,
        # and it needs DDP's static_graph
        kwargs = {"use_reentrant": False}
        if hasattr(encoder, "activation_checkpointing_enable"):  # transformers >= 5 (the old name warns)
            encoder.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    return BiEncoder(tokenizer, encoder, pooling=cfg.get("pooling", "mean"), query_prefix=cfg.get("query_prefix", ""),
                     passage_prefix=cfg.get("passage_prefix", ""), max_length=cfg.get("max_length", 128))


__all__ = ["BiEncoder", "SOURCES", "build_biencoder", "length_chunks", "load_model"]
