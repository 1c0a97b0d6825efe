"""The batching and evaluation figures draw every language they are given, for any number of languages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from hybrid_sweep.batching import PairSpace, build_strategy, sample_composition
from hybrid_sweep.batching.plot import LEGEND_LANGS, composition_figure, figure_png, language_colours
from hybrid_sweep.data.records import QAItem
from hybrid_sweep.evaluation.plots import bias_histogram, language_bars, pair_heatmap, save_plots
from hybrid_sweep.evaluation.results import ResultRow

# ISO 639 codes of SIB-200 languages, none of them an XQuAD language
SIB_LANGS = ("zu", "xh", "yo", "ig", "ha", "sw", "am", "so", "om", "ti", "rw", "ln", "wo", "ff", "sn", "st", "tn",
             "ts", "ny", "mg", "lg", "ak", "ee", "fon", "bm", "kg", "ki", "lua", "tum", "umb")


def stacks(ax) -> dict[str, np.ndarray]:
    """Bar heights per batch of each language stack in a strip (each stack is a labelled BarContainer)."""
    return {c.get_label(): np.array([bar.get_height() for bar in c]) for c in ax.containers}


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_half_en_half_fr_batch_draws_fr_at_half():
    """The bug this guards: fr was not in the fixed language list, so the batch was drawn 100% en."""
    table = pd.DataFrame({"batch": [0] * 8 + [1] * 8,
                          "query_lang": ["en"] * 4 + ["fr"] * 4 + ["en"] * 8,
                          "passage_lang": ["en"] * 4 + ["fr"] * 4 + ["fr"] * 8})
    table["mono"] = table.query_lang == table.passage_lang
    table["bitext"] = False
    fig = composition_figure(table, "en/fr")
    _, query, passage = fig.axes
    assert stacks(query).keys() == {"en", "fr"} and stacks(passage).keys() == {"en", "fr"}
    assert np.allclose(stacks(query)["fr"], [0.5, 0.0]) and np.allclose(stacks(query)["en"], [0.5, 1.0])
    assert np.allclose(stacks(passage)["fr"], [0.5, 1.0])
    assert legend_texts(query) == ["en", "fr"]
    assert to_hex(query.containers[0][0].get_facecolor()) != to_hex(query.containers[1][0].get_facecolor())
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_thirty_languages_all_drawn_with_distinct_colours():
    items = [QAItem(f"q{i}", {l: f"question {i} {l}" for l in SIB_LANGS}, {l: f"answer {i} {l}" for l in SIB_LANGS})
             for i in range(200)]
    sampler = build_strategy("multi", PairSpace(items, SIB_LANGS), batch_size=32, seed=0)
    table = sample_composition(sampler, 40)
    assert set(table.query_lang) | set(table.passage_lang) == set(SIB_LANGS)
    fig = composition_figure(table, "sib")
    _, query, passage = fig.axes
    for ax, column in ((query, "query_lang"), (passage, "passage_lang")):
        heights = stacks(ax)
        assert list(heights) == sorted(heights) and set(heights) == set(table[column])
        assert np.allclose(sum(heights.values()), 1.0)  # every batch's stack is whole: nothing dropped
        shares = table.groupby("batch")[column].value_counts(normalize=True).unstack(fill_value=0)
        assert all(np.allclose(heights[l], shares[l]) for l in heights)
    colours = {c.get_label(): to_hex(c[0].get_facecolor(), keep_alpha=True)
               for c in query.containers + passage.containers}
    assert len(set(colours.values())) == len(SIB_LANGS)
    assert colours == {l: to_hex(c, keep_alpha=True) for l, c in language_colours(SIB_LANGS[::-1]).items()}
    texts = legend_texts(query)
    assert len(texts) == LEGEND_LANGS and texts[-1] == f"other ({len(SIB_LANGS) - LEGEND_LANGS + 1} languages)"


@pytest.mark.parametrize("n", [1, 11, 20, 21, 205, 300])
def test_language_colours_any_count(n):
    langs = [f"l{i:03d}" for i in range(n)]
    colours = language_colours(langs)
    assert list(colours) == sorted(langs) and colours == language_colours(langs[::-1])
    assert len({to_hex(c) for c in colours.values()}) == min(n, 256)


def evaluation(langs, seed=0):
    """Result rows and per-query language bias of a made-up evaluation over ``langs``, mAP in 0.6..0.83."""
    rng = np.random.default_rng(seed)
    rows = [ResultRow("mono" if q == d else "cross", q, d, "map", float(rng.uniform(0.6, 0.83)), 50)
            for q in langs for d in langs]
    rows += [ResultRow("multi", q, "all", "map", float(rng.uniform(0.5, 0.7)), 50) for q in langs]
    rows += [ResultRow(s, "all", "all", "map", 0.7, len(langs)) for s in ("mono", "cross", "multi")]
    per_query = pd.DataFrame({"setting": "multi", "query_lang": np.repeat(langs, 20), "doc_lang": "all",
                              "metric": "lang_bias", "value": rng.exponential(3.0, 20 * len(langs))})
    return rows, per_query


def test_evaluation_plots_render_for_forty_languages(tmp_path):
    langs = list(SIB_LANGS) + ["en", "fr", "de", "es", "zh", "ar", "hi", "ru", "th", "tr"]
    rows, per_query = evaluation(langs)
    seen = set(langs[:7])
    paths = save_plots(rows, per_query, tmp_path, seen_langs=sorted(seen), prefix="trained_")
    assert [p.name for p in paths] == ["trained_map_heatmap.png", "trained_map_by_language.png",
                                       "trained_lang_bias_hist.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)

    pairs = [r.value for r in rows if r.setting in ("mono", "cross") and r.query_lang != "all"]
    fig = pair_heatmap(pd.DataFrame([r.__dict__ for r in rows]), seen)
    ax = fig.axes[0]
    assert ax.images[0].get_clim() == (min(pairs), max(pairs))
    assert f"{min(pairs):.3f} to {max(pairs):.3f}" in fig.axes[1].get_ylabel()
    assert not ax.texts  # 40 languages: too many cells to print their values
    red = {t.get_text() for t in ax.get_xticklabels() if to_hex(t.get_color()) == "#b2182b"}
    assert red == set(langs) - seen
    assert fig.get_figwidth() <= 20 and fig.get_figheight() <= 18

    bars = language_bars(pd.DataFrame([r.__dict__ for r in rows]), seen)
    assert [t.get_text() for t in bars.axes[0].get_xticklabels()] == sorted(langs)
    assert len(bias_histogram(per_query, seen).axes[0].patches) > 0


def test_heatmap_prints_cells_for_few_languages_and_stays_bounded_for_many():
    few = pair_heatmap(pd.DataFrame([r.__dict__ for r in evaluation(["en", "fr", "de"])[0]]), set())
    assert len(few.axes[0].texts) == 9
    many = [f"x{i:03d}" for i in range(205)]
    fig = pair_heatmap(pd.DataFrame([r.__dict__ for r in evaluation(many)[0]]), set(many[:10]))
    assert fig.get_figwidth() <= 20 and fig.get_figheight() <= 18
    assert max(t.get_fontsize() for t in fig.axes[0].get_yticklabels()) < 8


def test_language_bars_carry_bootstrap_intervals_around_each_bar():
    from hybrid_sweep.evaluation.plots import language_intervals

    rng = np.random.default_rng(3)
    langs, qids = ["de", "en", "fr"], [f"q{i}" for i in range(40)]
    per_query = pd.DataFrame([{"setting": s, "query_lang": q, "doc_lang": d, "qid": i, "metric": "map",
                               "value": float(rng.uniform(0, 1) if q != "fr" else 0.9)}
                              for s, docs in (("mono", None), ("cross", 1), ("multi", "all")) for q in langs
                              for d in ([q] if docs is None else ["all"] if docs == "all" else [x for x in langs if x != q])
                              for i in qids])
    rows = (per_query.groupby(["setting", "query_lang", "doc_lang"]).value.mean().reset_index()
            .assign(metric="map", n_queries=40))
    intervals = language_intervals(per_query)
    for setting in ("mono", "cross", "multi"):
        means = rows[rows.setting == setting].groupby("query_lang").value.mean()
        ci = intervals[setting]
        assert ((ci.low <= means) & (means <= ci.high)).all()
        assert ci.loc["fr", "low"] == pytest.approx(0.9) and ci.loc["fr", "high"] == pytest.approx(0.9)  # no spread
        assert (ci.loc[["de", "en"], "high"] - ci.loc[["de", "en"], "low"] > 0.05).all()
    fig = language_bars(rows, set(), intervals=intervals)
    bars = [c for c in fig.axes[0].containers if type(c).__name__ == "BarContainer"]
    assert len(bars) == 3 and all(c.errorbar is not None for c in bars)
    assert "95% CI" in fig.axes[0].get_title()


def test_one_seed_scaling_points_are_not_joined_into_a_trend():
    from hybrid_sweep.analysis.summary import scaling_figure

    def summary(n):
        return pd.DataFrame([{"stage": "trained", "setting": s, "langs": k, "model": "m", "data": "d",
                              "batching": b, "alpha": 0.5, "group": "nested", "mean": 0.5 + 0.01 * k, "n": n,
                              "ci_low": 0.4, "ci_high": 0.6} for s in ("mono", "cross", "multi") for k in (2, 4, 7)
                             for b in ("mono", "hybrid")])

    for n, style in ((1, "None"), (3, "-")):
        fig = scaling_figure(summary(n))
        lines = [line for ax in fig.axes for line in ax.get_lines()]
        assert len(lines) == 6 and {line.get_linestyle() for line in lines} == {style}
        assert ("one seed per point" in (fig._suptitle.get_text() if fig._suptitle else "")) == (n == 1)
