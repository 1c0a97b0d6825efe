import csv
import itertools
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from hybrid_sweep.languages import (
    NESTED_ORDER,
    Language,
    canonical_codes,
    choose_train_languages,
    distance_matrix,
    get_language,
    mean_pairwise_distance,
    select_languages,
    uriel_distance,
)
from hybrid_sweep.languages import selection
from hybrid_sweep.languages.typology import DISTANCE_FEATURES, TYPOLOGY, _load_lang2vec

SHARED_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "typology.csv"
XQUAD = tuple(TYPOLOGY)  # the 11 XQuAD-R languages of the WALS table
NUSAX = ("ace", "ban", "bjn", "bug", "id", "jv", "mad", "min", "nij", "su", "bbc", "en")  # NusaX-MT
NUSAX_JA = NUSAX + ("ja",)


@pytest.fixture(scope="module")
def syntactic():
    """Load lang2vec once; later calls hit the vector cache."""
    return distance_matrix(XQUAD, "syntactic")


def test_table_covers_xquad_r_languages():
    assert XQUAD == ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
    assert all(code == row.lang for code, row in TYPOLOGY.items())
    assert set(NESTED_ORDER) == set(XQUAD)


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="shared/data/typology.csv not present")
def test_embedded_table_matches_shared_csv():
    with SHARED_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [asdict(t) for t in TYPOLOGY.values()] == rows


def test_records_of_the_11_carry_the_table():
    for code, row in TYPOLOGY.items():
        lang = get_language(code)
        assert (lang.code, lang.iso639_3, lang.family, lang.genus, lang.script_name, lang.word_order) == (
            row.lang, row.iso639_3, row.family, row.genus, row.script, row.word_order)
    assert get_language("zh").script == "Hans" and get_language("hi").script == "Deva"


@pytest.mark.parametrize(("code", "expected"), [
    ("ja", Language("ja", "jpn", "Jpan", "Japanese", "Japanese", "jpn_Jpan", "Japonic", "Japanese", "SOV")),
    ("zul_Latn", Language("zu", "zul", "Latn", "Latin", "Zulu", "zul_Latn", "Atlantic-Congo", "Volta-Congo", "SVO")),
    ("swh", Language("sw", "swh", "Latn", "Latin", "Swahili", "swh_Latn", "Atlantic-Congo", "Volta-Congo", "SVO")),
    ("arb", Language("ar", "arb", "Arab", "Arabic", "Arabic", "arb_Arab", "Afro-Asiatic", "Semitic", "VSO")),
    ("cmn", Language("zh", "cmn", "Hans", "Han (Simplified)", "Chinese", "zho_Hans", "Sino-Tibetan", "Chinese", "SVO")),
    ("zho_Hans", Language("zh", "cmn", "Hans", "Han (Simplified)", "Chinese", "zho_Hans", "Sino-Tibetan", "Chinese",
                          "SVO")),
])
def test_get_language_resolves_any_code_to_the_canonical_record(code, expected):
    assert get_language(code) == expected
    assert get_language(code) == get_language(expected.code)


def test_get_language_keeps_a_flores_script_and_uriel_gaps():
    assert get_language("zho_Hant").flores == "zho_Hant" and get_language("zho_Hant").code == "zh"
    assert get_language("jpn") is get_language("jpn")  # cached
    basque = get_language("eu")  # an isolate: no family in Glottolog's tree
    assert (basque.family, basque.genus, basque.word_order) == (None, None, "SOV")


def test_canonical_codes_and_unknown_codes_name_the_key_and_closest():
    assert canonical_codes(["swh", "arb", "cmn", "zho_Hans", "jpn", "en"], "train_langs") == (
        "sw", "ar", "zh", "zh", "ja", "en")
    with pytest.raises(ValueError) as err:
        canonical_codes(["en", "xx", "English", "qqq"], "train_langs")
    message = str(err.value)
    assert message.startswith("train_langs: unknown language code(s) 'xx' (closest: ")
    assert "'English' (closest: en" in message and "'qqq' (closest: " in message
    with pytest.raises(ValueError, match=r"^unknown language code\(s\) 'xx'"):
        get_language("xx")


def test_missing_lang2vec_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "lang2vec", None)
    monkeypatch.setitem(sys.modules, "lang2vec.lang2vec", None)
    with pytest.raises(RuntimeError, match=r"pip install 'setuptools<82' lang2vec"):
        _load_lang2vec()


# genetic is covered below; its lang2vec query alone takes ~4 s
@pytest.mark.parametrize(
    "kind", ["syntactic", "phonological", "inventory", "featural", "geographic"]
)
def test_distance_matrix_is_a_metric_table(kind, syntactic):
    d = distance_matrix(XQUAD, kind).to_numpy()
    assert d.shape == (11, 11)
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0.0)
    off = d[~np.eye(11, dtype=bool)]
    assert np.all((off > 0.0) & (off <= 1.0))


@pytest.mark.parametrize("kind", ["syntactic", "featural", "geographic"])
def test_distance_matrix_is_the_cosine_distance_of_lang2vec_vectors(kind, syntactic):
    isos = [TYPOLOGY[c].iso639_3 for c in XQUAD]
    vectors = _load_lang2vec().get_features(isos, DISTANCE_FEATURES[kind])
    x = np.array([vectors[i] for i in isos], dtype=float)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    expected = np.clip(1.0 - x @ x.T, 0.0, None)
    expected = (expected + expected.T) / 2
    np.fill_diagonal(expected, 0.0)
    assert np.array_equal(distance_matrix(XQUAD, kind).to_numpy(), expected)  # exact: reports depend on it
    sub = ["zh", "en", "ar"]
    at = [XQUAD.index(c) for c in sub]
    assert np.array_equal(distance_matrix(sub, kind).to_numpy(), expected[np.ix_(at, at)])


def test_distance_matrix_follows_requested_order(syntactic):
    d = distance_matrix(["zh", "en"], "syntactic")
    assert list(d.index) == list(d.columns) == ["zh", "en"]
    assert d.at["zh", "en"] == uriel_distance("en", "zh") == syntactic.at["en", "zh"]


def test_distances_accept_any_code_of_a_language(syntactic):
    assert uriel_distance("cmn", "eng_Latn") == syntactic.at["zh", "en"]
    assert uriel_distance("swh", "sw") == 0.0
    assert list(distance_matrix(["jpn", "ko"]).index) == ["jpn", "ko"]


def test_syntactic_distances_reflect_typology(syntactic):
    # Spanish is syntactically closer to German than to Thai; Thai's nearest is Vietnamese.
    assert uriel_distance("es", "de") < uriel_distance("es", "th")
    assert syntactic["th"].drop("th").idxmin() == "vi"
    assert syntactic["en"].drop("en").idxmin() == "de"
    # beyond the 11: Japanese is closer to Korean (both SOV) than to Swahili, Indonesian closest to Malay
    assert uriel_distance("ja", "ko") < uriel_distance("ja", "sw")
    assert uriel_distance("id", "ms") < uriel_distance("id", "ja")


def test_genetic_distance_follows_family_tree():
    assert uriel_distance("en", "de", "genetic") < uriel_distance("en", "es", "genetic") < 1.0
    assert uriel_distance("en", "zh", "genetic") == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"has no genetic distance \(fam\) values for 'eu' \(eus\)"):
        uriel_distance("en", "eu", "genetic")
    lenient = distance_matrix(["en", "eu", "de"], "genetic", strict=False)  # a 205-language analysis keeps going
    assert np.isnan(lenient.at["en", "eu"]) and lenient.at["en", "de"] == pytest.approx(uriel_distance("en", "de", "genetic"))


def test_geographic_distance_reflects_location():
    assert uriel_distance("th", "vi", "geographic") < uriel_distance("th", "es", "geographic")


def test_unknown_kind_and_code_raise():
    with pytest.raises(ValueError, match="unknown distance kind 'lexical'"):
        uriel_distance("en", "de", "lexical")
    with pytest.raises(ValueError, match=r"unknown language code\(s\) 'xx' \(closest: "):
        uriel_distance("en", "xx")
    with pytest.raises(ValueError, match=r"has no syntactic distance \(syntax_knn\) values for 'bh' \(bih\)"):
        uriel_distance("en", "bh")  # Bihari languages: langcodes knows the code, URIEL does not


def test_mean_pairwise_distance(syntactic):
    assert mean_pairwise_distance(["en", "de"]) == pytest.approx(syntactic.at["en", "de"])
    trio = ["ar", "en", "th"]
    expected = (syntactic.at["ar", "en"] + syntactic.at["ar", "th"] + syntactic.at["en", "th"]) / 3
    assert mean_pairwise_distance(trio) == pytest.approx(expected)
    assert mean_pairwise_distance(["en"]) == 0.0


@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("anchor", [None, "en"])
def test_diverse_sets_are_more_spread_than_similar_sets(n, anchor, syntactic):
    diverse = select_languages(n, "diverse", XQUAD, anchor=anchor)
    similar = select_languages(n, "similar", XQUAD, anchor=anchor)
    for chosen in (diverse, similar):
        assert len(set(chosen)) == n and set(chosen) <= set(XQUAD)
        if anchor:
            assert chosen[0] == anchor
    assert mean_pairwise_distance(diverse) > mean_pairwise_distance(similar)


def test_greedy_starting_pairs(syntactic):
    d = syntactic.to_numpy()
    far = select_languages(2, "diverse", XQUAD)
    near = select_languages(2, "similar", XQUAD)
    assert syntactic.at[far[0], far[1]] == d.max()
    assert syntactic.at[near[0], near[1]] == d[~np.eye(11, dtype=bool)].min()
    assert near == ("th", "vi")


@pytest.mark.parametrize("n", [3, 4, 5])
@pytest.mark.parametrize("anchor", [None, "en"])
def test_similar_is_the_exact_minimum_mean_distance(n, anchor, syntactic):
    chosen = select_languages(n, "similar", XQUAD, anchor=anchor)
    candidates = [c for c in itertools.combinations(XQUAD, n) if anchor is None or anchor in c]
    assert mean_pairwise_distance(chosen) == pytest.approx(min(mean_pairwise_distance(c) for c in candidates))
    assert select_languages(4, "similar", XQUAD) == ("de", "el", "en", "es")


@pytest.mark.parametrize("anchor", [None, "th"])
def test_similar_beyond_the_exhaustive_limit_is_a_swap_local_minimum(anchor, monkeypatch, syntactic):
    monkeypatch.setattr(selection, "_EXHAUSTIVE_LIMIT", 1)  # the 11 take the greedy + swap path
    for n in (3, 4, 5):
        chosen = select_languages(n, "similar", XQUAD, anchor=anchor)
        assert len(set(chosen)) == n and (anchor is None or chosen[0] == anchor)
        assert chosen == select_languages(n, "similar", XQUAD[::-1], anchor=anchor)  # deterministic
        spread = mean_pairwise_distance(chosen)
        for out, into in itertools.product(chosen[1 if anchor else 0:], set(XQUAD) - set(chosen)):
            assert mean_pairwise_distance([into if c == out else c for c in chosen]) >= spread - 1e-12
    # the multi-start escapes the greedy th, vi trap the exhaustive search exists for
    assert select_languages(3, "similar", XQUAD) == ("el", "es", "ru")


def test_diverse_sets_are_nested():
    assert select_languages(7, "diverse", XQUAD)[:4] == select_languages(4, "diverse", XQUAD)


def test_diverse_adds_language_farthest_from_chosen_set(syntactic):
    chosen = select_languages(3, "diverse", XQUAD, anchor="en")
    first_two, third = list(chosen[:2]), chosen[2]
    rest = [c for c in XQUAD if c not in chosen]
    min_dist = syntactic.loc[rest + [third], first_two].min(axis=1)
    assert min_dist[third] == min_dist.max()


def test_selection_is_independent_of_input_order():
    forward = select_languages(5, "diverse", XQUAD)
    assert forward == select_languages(5, "diverse", XQUAD[::-1])


def test_attribute_groups():
    assert select_languages(3, "script=latin", XQUAD) == ("de", "en", "es")
    assert select_languages(3, "script:Latin", XQUAD) == ("de", "en", "es")  # Hydra CLI spelling
    assert select_languages(3, "script=Latin", XQUAD, anchor="vi") == ("vi", "de", "en")
    assert select_languages(2, "word_order=SOV", XQUAD) == ("hi", "tr")
    assert select_languages(6, "family=indo-european", XQUAD, anchor="ru") == (
        "ru", "de", "el", "en", "es", "hi"
    )
    assert select_languages(1, "family=Turkic", XQUAD) == ("tr",)


def test_anchor_outside_the_attribute_group_names_the_combination():
    with pytest.raises(ValueError, match="anchor=en with group=family=Turkic: en has family 'Indo-European'"):
        select_languages(1, "family=Turkic", XQUAD, anchor="en")


def test_unknown_attribute_value_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"group=script=Latn: no language has script 'Latn'; known: Arabic, "):
        select_languages(2, "script=Latn", XQUAD)


@pytest.mark.parametrize(("langs", "group", "data_langs", "message"), [
    (7, "script=Latin", XQUAD, r"langs=7 with group=script=Latin: only 5"),
    (7, "family=Indo-European", XQUAD, r"langs=7 with group=family=Indo-European: only 6"),
    (5, "script=Latin", ("ar", "de", "en", "es", "hi", "vi", "zh"), r"langs=5 with group=script=Latin: only 4"),
])
def test_impossible_grid_points_fail_in_choose_train_languages(langs, group, data_langs, message):
    with pytest.raises(ValueError, match=message):
        choose_train_languages(langs, data_langs, group=group)


def test_impossible_attribute_combination_names_it():
    msg = (
        r"langs=7 with group=script=Latin: "
        r"only 5 of the available languages \(de, en, es, tr, vi\) match"
    )
    with pytest.raises(ValueError, match=msg):
        select_languages(7, "script=Latin", XQUAD)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n": 0, "group": "diverse"}, r"langs=0 must be between 1 and 11"),
        ({"n": 12, "group": "diverse"}, r"langs=12 must be between 1 and 11"),
        ({"n": 2, "group": "random"}, r"group='random' is unknown"),
        ({"n": 2, "group": "genus=Germanic"}, r"group='genus=Germanic' is unknown"),
        ({"n": 1, "group": "diverse", "available": ["en", "xx"]},
         r"train_langs: unknown language code\(s\) 'xx' \(closest: "),
        ({"n": 1, "group": "diverse", "available": ["en", "en"]}, r"train_langs: duplicate"),
        ({"n": 1, "group": "diverse", "available": ["en", "eng"]}, r"train_langs: duplicate"),
        ({"n": 1, "group": "diverse", "available": ["en", "de"], "anchor": "ar"},
         r"anchor='ar' is not among the available languages \(de, en\)"),
    ],
)
def test_invalid_configs_raise(kwargs, pattern):
    kwargs.setdefault("available", XQUAD)
    with pytest.raises(ValueError, match=pattern):
        select_languages(**kwargs)


def test_nested_sets_take_every_available_language():
    assert choose_train_languages(4, XQUAD) == ("en", "zh", "ar", "hi")
    assert choose_train_languages(3, ("de", "en", "ja")) == ("en", "de", "ja")  # ja is not in NESTED_ORDER
    assert choose_train_languages(2, ("de", "en", "ja"), anchor="ja") == ("ja", "en")
    assert choose_train_languages(12, XQUAD + ("fr",)) == NESTED_ORDER + ("fr",)
    with pytest.raises(ValueError, match=r"langs=13 but the training data has only 12 languages: \['ar', .*'fr'\]"):
        choose_train_languages(13, XQUAD + ("fr",))
    # beyond NESTED_ORDER: greedy max-min syntactic distance, so the sets stay nested
    sets = [choose_train_languages(n, NUSAX_JA) for n in range(1, len(NUSAX_JA) + 1)]
    assert sets[0] == ("en",) and sets[-1][1] == "ja" and sorted(sets[-1]) == sorted(NUSAX_JA)
    assert all(small == large[:len(small)] for small, large in zip(sets, sets[1:]))
    assert choose_train_languages(2, ("ace", "ban", "ja")) == ("ace", "ja")  # none in NESTED_ORDER


def test_selection_returns_codes_as_the_data_writes_them():
    data = ("zho_Hans", "eng_Latn", "swh_Latn")
    assert choose_train_languages(None, data, train_langs=["sw", "zh"]) == ("swh_Latn", "zho_Hans")
    assert choose_train_languages(2, data) == ("eng_Latn", "zho_Hans")
    with pytest.raises(ValueError, match=r"train_langs: \['ja'\] not in the training data"):
        choose_train_languages(None, data, train_langs=["ja"])


def test_groups_work_for_any_languages():
    assert select_languages(1, "family:Japonic", NUSAX_JA) == ("ja",)
    assert select_languages(3, "script:Latin", NUSAX_JA) == ("ace", "ban", "bbc")
    assert select_languages(3, "family=Austronesian", NUSAX_JA, anchor="id") == ("id", "ace", "ban")
    with pytest.raises(ValueError, match="anchor=ja with group=script:Latin: ja has script 'Japanese'"):
        select_languages(3, "script:Latin", NUSAX_JA, anchor="ja")
    diverse = select_languages(4, "diverse", NUSAX_JA)
    similar = select_languages(4, "similar", NUSAX_JA)
    assert {"ja", "en"} <= set(diverse) and not {"ja", "en"} & set(similar)
    assert mean_pairwise_distance(diverse) > mean_pairwise_distance(similar)
    assert choose_train_languages(3, NUSAX_JA, group="similar", anchor="ja") == ("ja", "ban", "id")


def result_rows():
    """Two runs' rows as results.json holds them: per-pair cross rows plus rows the analysis must skip."""
    import pandas as pd

    rows = []
    for train in ("en,de", "en,zh"):
        for q in ("en", "de", "zh", "ar"):
            for d in ("en", "de", "zh", "ar"):
                setting = "mono" if q == d else "cross"
                rows.append(dict(stage="trained", setting=setting, query_lang=q, doc_lang=d, metric="map",
                                 value=1 - uriel_distance(q, d), train_langs=train, batching="hybrid"))
        rows.append(dict(stage="trained", setting="cross", query_lang="all", doc_lang="all", metric="map",
                         value=0.5, train_langs=train, batching="hybrid"))
    rows.append(dict(stage="zero_shot", setting="cross", query_lang="en", doc_lang="de", metric="map", value=0.0,
                     train_langs="en,de", batching="hybrid"))
    return pd.DataFrame(rows)


def test_pair_distances_and_seen_flags():
    from hybrid_sweep.analysis.typology_analysis import pair_distances

    table = pair_distances(result_rows())
    assert len(table) == 2 * 12  # two runs x 12 ordered cross pairs; mono, macro and zero-shot rows dropped
    row = table[(table.train_langs == "en,de") & (table.query_lang == "de") & (table.doc_lang == "zh")].iloc[0]
    assert row.distance == pytest.approx(uriel_distance("de", "zh"))
    assert (row.query_seen, row.doc_seen, row.seen) == (True, False, "one")
    counts = table[table.train_langs == "en,de"].seen.value_counts()
    assert (counts["both"], counts["one"], counts["neither"]) == (2, 8, 2)
    with pytest.raises(ValueError, match="no per-pair rows with setting='cross', metric='recall@1'"):
        pair_distances(result_rows(), metric="recall@1")


def test_distance_correlation_and_scatter(tmp_path):
    pytest.importorskip("scipy")
    from hybrid_sweep.analysis.typology_analysis import distance_correlation, pair_distances, plot_distance_scatter

    table = pair_distances(result_rows())
    corr = distance_correlation(table, by=["train_langs"]).set_index(["train_langs", "seen"])
    assert corr.loc[("en,de", "all"), "spearman"] == pytest.approx(-1.0)
    assert corr.loc[("en,de", "all"), "pearson"] == pytest.approx(-1.0)
    assert corr.loc[("en,de", "all"), "n"] == 12 and np.isnan(corr.loc[("en,de", "both"), "spearman"])
    path = tmp_path / "scatter.png"
    plot_distance_scatter(table, path, col="train_langs")
    assert path.stat().st_size > 10_000
