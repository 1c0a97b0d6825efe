import csv
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from hybrid_sweep.typology import (
    LANGUAGES,
    TYPOLOGY,
    _load_lang2vec,
    distance_matrix,
    mean_pairwise_distance,
    select_languages,
    uriel_distance,
)

SHARED_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "typology.csv"


@pytest.fixture(scope="module")
def syntactic():
    """Load lang2vec once; later calls hit the lru_cache."""
    return distance_matrix(LANGUAGES, "syntactic")


def test_table_covers_xquad_r_languages():
    assert LANGUAGES == ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
    assert all(code == row.lang for code, row in TYPOLOGY.items())


@pytest.mark.skipif(not SHARED_CSV.exists(), reason="shared/data/typology.csv not present")
def test_embedded_table_matches_shared_csv():
    with SHARED_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [asdict(t) for t in TYPOLOGY.values()] == rows


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
    d = distance_matrix(LANGUAGES, kind).to_numpy()
    assert d.shape == (11, 11)
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0.0)
    off = d[~np.eye(11, dtype=bool)]
    assert np.all((off > 0.0) & (off <= 1.0))


def test_distance_matrix_follows_requested_order(syntactic):
    d = distance_matrix(["zh", "en"], "syntactic")
    assert list(d.index) == list(d.columns) == ["zh", "en"]
    assert d.at["zh", "en"] == uriel_distance("en", "zh") == syntactic.at["en", "zh"]


def test_syntactic_distances_reflect_typology(syntactic):
    # Spanish is syntactically closer to German than to Thai; Thai's nearest is Vietnamese.
    assert uriel_distance("es", "de") < uriel_distance("es", "th")
    assert syntactic["th"].drop("th").idxmin() == "vi"
    assert syntactic["en"].drop("en").idxmin() == "de"


def test_genetic_distance_follows_family_tree():
    assert uriel_distance("en", "de", "genetic") < uriel_distance("en", "es", "genetic") < 1.0
    assert uriel_distance("en", "zh", "genetic") == pytest.approx(1.0)


def test_geographic_distance_reflects_location():
    assert uriel_distance("th", "vi", "geographic") < uriel_distance("th", "es", "geographic")


def test_unknown_kind_and_code_raise():
    with pytest.raises(ValueError, match="unknown distance kind 'lexical'"):
        uriel_distance("en", "de", "lexical")
    with pytest.raises(ValueError, match="unknown language code.*'fr'"):
        uriel_distance("en", "fr")


def test_mean_pairwise_distance(syntactic):
    assert mean_pairwise_distance(["en", "de"]) == pytest.approx(syntactic.at["en", "de"])
    trio = ["ar", "en", "th"]
    expected = (syntactic.at["ar", "en"] + syntactic.at["ar", "th"] + syntactic.at["en", "th"]) / 3
    assert mean_pairwise_distance(trio) == pytest.approx(expected)
    assert mean_pairwise_distance(["en"]) == 0.0


@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("anchor", [None, "en"])
def test_diverse_sets_are_more_spread_than_similar_sets(n, anchor, syntactic):
    diverse = select_languages(n, "diverse", LANGUAGES, anchor=anchor)
    similar = select_languages(n, "similar", LANGUAGES, anchor=anchor)
    for chosen in (diverse, similar):
        assert len(set(chosen)) == n and set(chosen) <= set(LANGUAGES)
        if anchor:
            assert chosen[0] == anchor
    assert mean_pairwise_distance(diverse) > mean_pairwise_distance(similar)


def test_greedy_starting_pairs(syntactic):
    d = syntactic.to_numpy()
    far = select_languages(2, "diverse", LANGUAGES)
    near = select_languages(2, "similar", LANGUAGES)
    assert syntactic.at[far[0], far[1]] == d.max()
    assert syntactic.at[near[0], near[1]] == d[~np.eye(11, dtype=bool)].min()
    assert near == ("th", "vi")


@pytest.mark.parametrize("n", [3, 4, 5])
@pytest.mark.parametrize("anchor", [None, "en"])
def test_similar_is_the_exact_minimum_mean_distance(n, anchor, syntactic):
    import itertools

    chosen = select_languages(n, "similar", LANGUAGES, anchor=anchor)
    candidates = [c for c in itertools.combinations(LANGUAGES, n) if anchor is None or anchor in c]
    assert mean_pairwise_distance(chosen) == pytest.approx(min(mean_pairwise_distance(c) for c in candidates))
    assert select_languages(4, "similar", LANGUAGES) == ("de", "el", "en", "es")


def test_diverse_sets_are_nested():
    assert select_languages(7, "diverse", LANGUAGES)[:4] == select_languages(4, "diverse", LANGUAGES)


def test_diverse_adds_language_farthest_from_chosen_set(syntactic):
    chosen = select_languages(3, "diverse", LANGUAGES, anchor="en")
    first_two, third = list(chosen[:2]), chosen[2]
    rest = [c for c in LANGUAGES if c not in chosen]
    min_dist = syntactic.loc[rest + [third], first_two].min(axis=1)
    assert min_dist[third] == min_dist.max()


def test_selection_is_independent_of_input_order():
    forward = select_languages(5, "diverse", LANGUAGES)
    assert forward == select_languages(5, "diverse", LANGUAGES[::-1])


def test_attribute_groups():
    assert select_languages(3, "script=latin", LANGUAGES) == ("de", "en", "es")
    assert select_languages(3, "script:Latin", LANGUAGES) == ("de", "en", "es")  # Hydra CLI spelling
    assert select_languages(3, "script=Latin", LANGUAGES, anchor="vi") == ("vi", "de", "en")
    assert select_languages(2, "word_order=SOV", LANGUAGES) == ("hi", "tr")
    assert select_languages(6, "family=indo-european", LANGUAGES, anchor="ru") == (
        "ru", "de", "el", "en", "es", "hi"
    )
    assert select_languages(1, "family=Turkic", LANGUAGES) == ("tr",)


def test_anchor_outside_the_attribute_group_names_the_combination():
    with pytest.raises(ValueError, match="anchor=en with group=family=Turkic: en has family 'Indo-European'"):
        select_languages(1, "family=Turkic", LANGUAGES, anchor="en")


def test_unknown_attribute_value_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"group=script=Latn: no language has script 'Latn'; known: Arabic, "):
        select_languages(2, "script=Latn", LANGUAGES)


@pytest.mark.parametrize(("langs", "group", "data_langs", "message"), [
    (7, "script=Latin", LANGUAGES, r"langs=7 with group=script=Latin: only 5"),
    (7, "family=Indo-European", LANGUAGES, r"langs=7 with group=family=Indo-European: only 6"),
    (5, "script=Latin", ("ar", "de", "en", "es", "hi", "vi", "zh"), r"langs=5 with group=script=Latin: only 4"),
])
def test_impossible_grid_points_fail_in_choose_train_languages(langs, group, data_langs, message):
    from hybrid_sweep.languages import choose_train_languages

    with pytest.raises(ValueError, match=message):
        choose_train_languages(langs, data_langs, group=group)


def test_impossible_attribute_combination_names_it():
    msg = (
        r"langs=7 with group=script=Latin: "
        r"only 5 of the available languages \(de, en, es, tr, vi\) match"
    )
    with pytest.raises(ValueError, match=msg):
        select_languages(7, "script=Latin", LANGUAGES)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n": 0, "group": "diverse"}, r"langs=0 must be between 1 and 11"),
        ({"n": 12, "group": "diverse"}, r"langs=12 must be between 1 and 11"),
        ({"n": 2, "group": "random"}, r"group='random' is unknown"),
        ({"n": 2, "group": "genus=Germanic"}, r"group='genus=Germanic' is unknown"),
        ({"n": 1, "group": "diverse", "available": ["en", "xx"]},
         r"unknown language code\(s\) 'xx' in train_langs"),
        ({"n": 1, "group": "diverse", "available": ["en", "en"]}, r"train_langs: duplicate"),
        ({"n": 1, "group": "diverse", "available": ["en", "de"], "anchor": "ar"},
         r"anchor='ar' is not among the available languages \(de, en\)"),
    ],
)
def test_invalid_configs_raise(kwargs, pattern):
    kwargs.setdefault("available", LANGUAGES)
    with pytest.raises(ValueError, match=pattern):
        select_languages(**kwargs)


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
    from hybrid_sweep.typology_analysis import pair_distances

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
    from hybrid_sweep.typology_analysis import distance_correlation, pair_distances, plot_distance_scatter

    table = pair_distances(result_rows())
    corr = distance_correlation(table, by=["train_langs"]).set_index(["train_langs", "seen"])
    assert corr.loc[("en,de", "all"), "spearman"] == pytest.approx(-1.0)
    assert corr.loc[("en,de", "all"), "pearson"] == pytest.approx(-1.0)
    assert corr.loc[("en,de", "all"), "n"] == 12 and np.isnan(corr.loc[("en,de", "both"), "spearman"])
    path = tmp_path / "scatter.png"
    plot_distance_scatter(table, path, col="train_langs")
    assert path.stat().st_size > 10_000
