"""Model room: the bi-encoder and the sources its weights come from."""
from hybrid_sweep.model.biencoder import BiEncoder
from hybrid_sweep.model.sources import SOURCES, load_model


def build_biencoder(cfg) -> BiEncoder:
    """``cfg`` is the ``model`` config group: source options plus pooling, prefixes and max_length."""
    options = {k: v for k, v in dict(cfg).items() if k not in ("source", "pooling", "query_prefix",
                                                                "passage_prefix", "max_length", "label",
                                                                "freeze_word_embeddings")}
    tokenizer, encoder = load_model(cfg["source"], **options)
    if cfg.get("freeze_word_embeddings", False):
        # the 250k-piece embedding matrix is ~80% of me5-small: freezing it makes CPU steps ~1.6x faster
        # and leaves the vectors of languages absent from training untouched
        encoder.get_input_embeddings().weight.requires_grad_(False)
    return BiEncoder(tokenizer, encoder, pooling=cfg.get("pooling", "mean"), query_prefix=cfg.get("query_prefix", ""),
                     passage_prefix=cfg.get("passage_prefix", ""), max_length=cfg.get("max_length", 128))


__all__ = ["BiEncoder", "SOURCES", "build_biencoder", "load_model"]
