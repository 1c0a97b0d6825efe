"""Model room: the bi-encoder and the sources its weights come from."""
from hybrid_sweep.model.biencoder import BiEncoder, length_chunks
from hybrid_sweep.model.saving import is_saved, read_meta
from hybrid_sweep.model.sources import SOURCES, load_model


# keys of the model config group that are not options of the model source
BIENCODER_KEYS = ("source", "pooling", "query_prefix", "passage_prefix", "max_length", "label", "save",
                  "freeze_word_embeddings", "gradient_checkpointing")
DEFAULTS = {"pooling": "mean", "query_prefix": "", "passage_prefix": "", "max_length": 128}


def build_biencoder(cfg) -> BiEncoder:
    """``cfg`` is the ``model`` config group: source options plus pooling, prefixes and max_length. A saved job
    model (``model=local model.path=<job>/model``) brings its own pooling, prefixes and training length for
    every one of them the config leaves null."""
    options = {k: v for k, v in dict(cfg).items() if k not in BIENCODER_KEYS}
    settings = {k: cfg.get(k) for k in DEFAULTS}
    if cfg["source"] == "local" and is_saved(options.get("path", "")):
        meta = read_meta(options["path"])
        saved = {"pooling": meta["pooling"], "query_prefix": meta["query_prefix"],
                 "passage_prefix": meta["passage_prefix"], "max_length": meta["train_max_length"]}
        settings = {k: saved[k] if v is None else v for k, v in settings.items()}
    tokenizer, encoder = load_model(cfg["source"], **options)
    settings = {k: DEFAULTS[k] if v is None else v for k, v in settings.items()}
    if cfg.get("freeze_word_embeddings", False):
        # the 250k-piece embedding matrix is ~80% of me5-small: freezing it makes CPU steps 1.5x faster (frozen_bench)
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
    return BiEncoder(tokenizer, encoder, **settings)


__all__ = ["BiEncoder", "SOURCES", "build_biencoder", "length_chunks", "load_model"]
