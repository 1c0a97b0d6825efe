"""Hard negatives on real XQuAD-R slices: never a positive, never evaluation data, deterministic, cached;
they travel with their pair in the language the config asks for."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hybrid_sweep.batching import PairSpace, build_strategy
from hybrid_sweep.data.protocols import restrict_items
from hybrid_sweep.negatives import mine_negatives
from hybrid_sweep.paths import CONFIG_DIR

LANGS = ("de", "en", "zh")


@pytest.fixture(scope="module")
def space(xquad_split):
    return PairSpace(restrict_items(xquad_split.train.items, LANGS), LANGS)


@pytest.fixture(scope="module")
def tiny_model(cache_dir):
    from hybrid_sweep.model import build_biencoder

    cfg = OmegaConf.load(CONFIG_DIR / "model" / "tiny.yaml")
    cfg.cache_dir = str(cache_dir / "models")
    return build_biencoder(cfg)


def settings(name: str, **overrides) -> dict:
    return {**OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "negatives" / f"{name}.yaml")), **overrides}


@pytest.mark.parametrize("miner", ["paragraph", "bm25", "model"])
def test_each_miner_gives_k_true_negatives_from_training_data_only(miner, space, xquad_split, tiny_model, tmp_path):
    negatives, seconds = mine_negatives(settings(miner), space, seed=1, model=tiny_model, cache_dir=tmp_path)
    training = {t for item in space.items for lang in item.languages
                for t in (item.answers[lang], *item.context.get(lang, ()))}
    evaluation = {c.text for c in xquad_split.eval_set.candidates} - training
    assert len(negatives.texts) == sum(len(item.languages) for item in space.items)
    for (i, li), texts in negatives.texts.items():
        item, lang = space.items[i], space.languages[li]
        assert len(texts) == len(set(texts)) == 3
        assert not set(texts) & set(item.answers.values())  # never the answer, in any language
        assert set(texts) <= training and not set(texts) & evaluation  # never evaluation text
        if miner == "paragraph" and len(item.context[lang]) - (item.answers[lang] in item.context[lang]) >= 3:
            assert set(texts) <= set(item.context[lang])  # the answer's own paragraph first
    again, cached = mine_negatives(settings(miner), space, seed=1, model=tiny_model, cache_dir=tmp_path)
    assert again.texts == negatives.texts and cached == 0.0 and seconds > 0
    fresh, _ = mine_negatives(settings(miner), space, seed=1, model=tiny_model)  # no cache: same seed, same texts
    assert fresh.texts == negatives.texts


def test_bm25_negatives_share_words_with_the_question(space):
    """A lexical miner must beat chance at overlap: its negatives share more pieces with the question than
    random answers of the same language do."""
    import numpy as np

    from hybrid_sweep.negatives.miners import _pieces

    bm25, _ = mine_negatives(settings("bm25"), space, seed=1)
    li = space.languages.index("en")
    overlap = {"bm25": 0.0, "random": 0.0}
    items = space.items_by_language[li][:200]
    rng = np.random.default_rng(0)
    answers = [space.items[i].answers["en"] for i in space.items_by_language[li]]
    for i in items:
        question = set(_pieces([space.items[i].questions["en"]])[0])
        overlap["bm25"] += np.mean([len(question & set(p)) for p in _pieces(list(bm25.texts[(int(i), li)]))])
        overlap["random"] += np.mean([len(question & set(p)) for p in _pieces(list(rng.choice(answers, 3)))])
    assert overlap["bm25"] > 1.5 * overlap["random"]


@pytest.mark.parametrize("language", ["passage", "query", "random"])
def test_negatives_travel_with_their_pair_in_the_language_asked_for(language, space):
    from hybrid_sweep.training.datamodule import PairDataset

    negatives, _ = mine_negatives(settings("bm25", language=language), space, seed=3)
    sampler = build_strategy("hybrid", space, seed=3, batch_size=8, alpha=0.5)
    dataset = PairDataset(space, negatives)
    langs_seen = set()
    for batch in list(sampler)[:20]:
        for index in batch:
            pair = dataset[index]
            lang = space.languages[negatives.language_of(space, index)]
            item, _, _ = space.decode(index)
            assert pair.negatives == negatives.texts[(int(item), space.languages.index(lang))]
            if language != "random":
                assert lang == (pair.passage_lang if language == "passage" else pair.query_lang)
            langs_seen.add((pair.query_lang, pair.passage_lang, lang))
    if language == "random":  # deterministic, and not simply one of the pair's languages
        assert any(n not in (q, p) for q, p, n in langs_seen)
        assert negatives.language_of(space, 5) == negatives.language_of(space, 5)


def test_paragraph_negatives_need_paragraphs_and_bitext_is_refused(space):
    from hybrid_sweep.data.records import QAItem

    flat = PairSpace([QAItem(i.qid, i.questions, i.answers) for i in space.items[:50]], LANGS)
    with pytest.raises(ValueError, match="needs paragraphs around each answer.*use negatives=bm25"):
        mine_negatives(settings("paragraph"), flat, seed=1)
    with_bitext = PairSpace(space.items[:20], LANGS, bitext=[object()])
    with pytest.raises(ValueError, match="bitext_fraction"):
        mine_negatives(settings("bm25"), with_bitext, seed=1)


def test_a_job_trains_with_hard_negatives_and_records_them(tmp_path):
    import json

    import pandas as pd

    from hybrid_sweep.run import train
    from tests.conftest import compose_cfg

    cfg = compose_cfg("model=tiny", "logger=none", "trainer.max_steps=3", "optimizer.warmup_steps=1",
                      "batching.batch_size=4", "data.eval_articles=1", "eval.batch_size=128", "eval.zero_shot=false",
                      "negatives=paragraph", "negatives.per_pair=2", "negatives.language=query",
                      f"paths.cache_dir={tmp_path / 'cache'}", "trainer.grad_cache_chunk=3")
    train(cfg, tmp_path / "job")
    run = json.loads((tmp_path / "job" / "results.json").read_text())["run"]
    assert (run["negatives"], run["negatives_per_pair"], run["negatives_language"]) == ("paragraph", 2, "query")
    seen = pd.read_csv(tmp_path / "job" / "pairs_seen.csv")
    assert (seen.negative_lang == seen.query_lang).all() and (seen.negatives == 2 * seen.pairs).all()
    assert seen.pairs.sum() == 12


def test_the_composition_figure_shows_the_negatives_languages(space):
    from hybrid_sweep.batching.plot import sampler_figure

    negatives, _ = mine_negatives(settings("bm25", language="query"), space, seed=3)
    sampler = build_strategy("cross", space, seed=3, batch_size=8)
    plain, with_negs = sampler_figure(sampler, 12), sampler_figure(sampler, 12, negatives)
    assert len(plain.axes) == 3 and len(with_negs.axes) == 4
    strip = with_negs.axes[3]
    assert "hard negative" in strip.get_title(loc="left") and "3 bm25 negatives/pair (query)" in with_negs._suptitle.get_text()
    query_langs = {c.get_label() for c in with_negs.axes[1].containers}
    assert {c.get_label() for c in strip.containers} == query_langs  # query mode: the query's language
