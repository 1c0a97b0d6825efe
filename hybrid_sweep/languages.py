"""Language codes and the choice of training languages for ``langs=N`` (with ``group`` / ``train_langs``)."""
from __future__ import annotations

from collections.abc import Sequence

XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_LANGS = ("ar", "de", "en", "es", "hi", "vi", "zh")

# Nested order for typological spread, so the sets for 4 ⊂ 7 ⊂ 11 languages:
#   4: en (IE Germanic, Latin, SVO), zh (Sino-Tibetan, Han), ar (Afro-Asiatic, Arabic, VSO), hi (IE Indic, Devanagari, SOV)
#   7: + ru (IE Slavic, Cyrillic), tr (Turkic, agglutinative, SOV), th (Tai-Kadai, Thai script)
#  11: + vi (Austroasiatic, Latin), el (IE Hellenic, Greek), de (Germanic, SOV/V2), es (Romance)
NESTED_ORDER = ("en", "zh", "ar", "hi", "ru", "tr", "th", "vi", "el", "de", "es")


def check_codes(codes: Sequence[str], known: Sequence[str], key: str) -> None:
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"{key}: unknown language code(s) {unknown}; this data has {list(known)}")


def choose_train_languages(
    langs: int | None,
    available: Sequence[str],
    train_langs: Sequence[str] | None = None,
    group: str = "nested",
    anchor: str | None = None,
) -> tuple[str, ...]:
    """The training languages of a run: an explicit list wins, else ``langs`` picked by ``group``."""
    if train_langs:
        check_codes(train_langs, available, "train_langs")
        if langs is not None and langs != len(train_langs):
            raise ValueError(f"langs={langs} contradicts train_langs={list(train_langs)}; set langs=null or match it")
        return tuple(train_langs)
    if langs is None or not isinstance(langs, int) or isinstance(langs, bool):
        raise ValueError(f"langs must be an integer number of training languages, got {langs!r}")
    if not 1 <= langs <= len(available):
        raise ValueError(f"langs={langs} but the training data has only {len(available)} languages: {list(available)}")
    if anchor is not None:
        check_codes([anchor], available, "anchor")
    if group == "nested":
        order = [l for l in NESTED_ORDER if l in available]
        if anchor is not None:
            order = [anchor] + [l for l in order if l != anchor]
        return tuple(order[:langs])
    from hybrid_sweep.typology import select_languages

    return select_languages(langs, group, available, anchor=anchor)
