"""Tatoeba bitext: reading, grouping of shared sentences, language selection, and how batches use it."""
from __future__ import annotations

from collections import Counter

import pytest

from hybrid_sweep.batching import PairSpace, build_strategy, sample_composition
from hybrid_sweep.data.protocols import restrict_items
from hybrid_sweep.data.tatoeba import TATOEBA_LANGS, bitext_languages, load_bitext, read_tatoeba

XQUAD = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


@pytest.fixture(scope="module")
def bitext(data_root):
    return read_tatoeba(data_root / "train" / "tatoeba")


def test_reads_every_language_with_two_letter_codes(bitext):
    counts = Counter(b.lang for b in bitext)
    assert counts == {**dict.fromkeys(TATOEBA_LANGS, 1000), "th": 548}
    de = next(b for b in bitext if b.source == "tatoeba.deu-eng.deu:1")
    assert (de.lang, de.text, de.english) == ("de", "Maria sagte, sie wisse nicht, wo Tom sei.",
                                              "Mary said she didn't know where Tom was.")
    assert all(b.text.strip() == b.text and b.text.casefold() != b.english.casefold() for b in bitext)


def test_pairs_sharing_an_english_sentence_share_a_group(bitext):
    by_english: dict[str, set[str]] = {}
    for b in bitext:
        by_english.setdefault(" ".join(b.english.split()).casefold(), set()).add(b.pid)
    assert all(len(pids) == 1 for pids in by_english.values())
    sizes = Counter(Counter(b.pid for b in bitext).values())
    assert sizes[1] > 9000 and max(sizes) >= 2  # 231 English sentences recur in 2-4 languages


def test_identical_and_empty_lines_are_dropped_and_bad_files_named(tmp_path):
    (tmp_path / "tatoeba.deu-eng.deu").write_text("Hallo Welt\nTom!\n\nGleich\n", encoding="utf-8")
    (tmp_path / "tatoeba.deu-eng.eng").write_text("Hello world\ntom!\nEmpty\nSame\n", encoding="utf-8")
    pairs = read_tatoeba(tmp_path, ("de",))
    assert [(p.text, p.english, p.source) for p in pairs] == [
        ("Hallo Welt", "Hello world", "tatoeba.deu-eng.deu:1"), ("Gleich", "Same", "tatoeba.deu-eng.deu:4")]
    (tmp_path / "tatoeba.deu-eng.eng").write_text("Hello world\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tatoeba.deu-eng.deu has 4 lines but .*tatoeba.deu-eng.eng has 1"):
        read_tatoeba(tmp_path, ("de",))
    with pytest.raises(FileNotFoundError, match="tatoeba.spa-eng.spa"):
        read_tatoeba(tmp_path, ("es",))
    with pytest.raises(ValueError, match=r"batching.bitext_langs: no Tatoeba bitext for \['fr'\]"):
        read_tatoeba(tmp_path, ("fr",))


def test_bitext_language_selection():
    assert bitext_languages("untrained", ("en", "zh", "ar", "hi"), XQUAD) == ("de", "el", "es", "ru", "th", "tr", "vi")
    assert bitext_languages("untrained", ("en", "de"), ("de", "en", "es")) == ("es",)
    assert bitext_languages("all", ("en",), XQUAD) == TATOEBA_LANGS
    assert bitext_languages(["el", "ru"], ("en",), XQUAD) == ("el", "ru")
    with pytest.raises(ValueError, match="batching.bitext_langs='untrained' selects no Tatoeba language"):
        bitext_languages("untrained", XQUAD, XQUAD)
    with pytest.raises(ValueError, match="batching.bitext_langs='some'"):
        bitext_languages("some", ("en",), XQUAD)


def test_bitext_enters_only_cross_batches_as_x_to_english(xquad_split, data_root):
    langs = ("en", "zh", "ar", "hi")
    pairs = load_bitext(data_root, "untrained", langs, XQUAD)
    space = PairSpace(restrict_items(xquad_split.train.items, langs), langs, pairs)
    sampler = build_strategy("hybrid", space, batch_size=16, seed=0, batches_per_epoch=300, bitext_fraction=0.25)
    table = sample_composition(sampler)
    bt = table[table.bitext]
    assert set(bt.passage_lang) == {"en"} and set(bt.query_lang) <= {"de", "el", "es", "ru", "th", "tr", "vi"}
    assert not (table.mono & table.bitext).any()
    per_batch = table.groupby("batch").agg(bitext=("bitext", "sum"), mono=("mono", "all"))
    assert set(per_batch[per_batch.mono].bitext) == {0} and set(per_batch[~per_batch.mono].bitext) == {4}
    first = space.pair(int(bt["index"].iloc[0]))
    source = next(b for b in pairs if b.pid == first.qid and b.text == first.query)
    assert (first.query_lang, first.passage_lang, first.passage) == (source.lang, "en", source.english)
    assert bt["index"].is_unique  # 1,200 of 6,548 bitext pairs drawn: each at most once per pass
