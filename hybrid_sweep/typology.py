"""Typology of the 11 XQuAD-R languages, URIEL distances, and language-set selection.

The table is embedded (not read from ../shared) so runs are reproducible without the
shared data folder; tests check it against shared/data/typology.csv when present.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LanguageTypology:
    """One row of the typology table (WALS genealogy, WALS 81A word order)."""

    lang: str
    iso639_3: str
    family: str
    genus: str
    script: str
    word_order: str
    morphology: str


TYPOLOGY: dict[str, LanguageTypology] = {
    t.lang: t
    for t in (
        LanguageTypology("ar", "arb", "Afro-Asiatic", "Semitic", "Arabic", "VSO",
                         "fusional (root-and-pattern; non-concatenative)"),
        LanguageTypology("de", "deu", "Indo-European", "Germanic", "Latin", "SOV/V2", "fusional"),
        LanguageTypology("el", "ell", "Indo-European", "Greek", "Greek", "SVO", "fusional"),
        LanguageTypology("en", "eng", "Indo-European", "Germanic", "Latin", "SVO",
                         "analytic (weakly fusional)"),
        LanguageTypology("es", "spa", "Indo-European", "Romance", "Latin", "SVO", "fusional"),
        LanguageTypology("hi", "hin", "Indo-European", "Indic", "Devanagari", "SOV",
                         "fusional/agglutinative (postpositions)"),
        LanguageTypology("ru", "rus", "Indo-European", "Slavic", "Cyrillic", "SVO", "fusional"),
        LanguageTypology("th", "tha", "Tai-Kadai", "Kam-Tai", "Thai", "SVO", "isolating"),
        LanguageTypology("tr", "tur", "Turkic", "Turkic", "Latin", "SOV", "agglutinative"),
        LanguageTypology("vi", "vie", "Austro-Asiatic", "Viet-Muong", "Latin", "SVO", "isolating"),
        LanguageTypology("zh", "cmn", "Sino-Tibetan", "Chinese", "Han (Simplified)", "SVO",
                         "isolating"),
    )
}
LANGUAGES: tuple[str, ...] = tuple(TYPOLOGY)

# lang2vec 1.1.2 has no distance() (later versions download precomputed tables), so each
# URIEL distance kind is the cosine distance between the lang2vec vectors it is built from.
# The *_knn sets are URIEL's imputed vectors: no missing values, unlike syntax_wals.
DISTANCE_FEATURES: dict[str, str] = {
    "syntactic": "syntax_knn",
    "phonological": "phonology_knn",
    "inventory": "inventory_knn",
    "featural": "syntax_knn+phonology_knn+inventory_knn",
    "genetic": "fam",
    "geographic": "geo",
}
_ATTRIBUTE_GROUPS = ("family", "script", "word_order")


def _load_lang2vec() -> ModuleType:
    """Import lang2vec only when distances are needed: it is slow and needs pkg_resources."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            import lang2vec.lang2vec as l2v
    except ImportError as exc:
        raise RuntimeError(
            "URIEL distances need lang2vec, which imports pkg_resources: "
            "pip install 'setuptools<82' lang2vec"
        ) from exc
    return l2v


def _check_codes(langs: Sequence[str], where: str = "the given languages") -> None:
    unknown = [c for c in langs if c not in TYPOLOGY]
    if unknown:
        raise ValueError(
            f"unknown language code(s) {', '.join(map(repr, unknown))} in {where}; "
            f"known: {', '.join(LANGUAGES)}"
        )


@functools.lru_cache(maxsize=None)
def _all_distances(kind: str) -> pd.DataFrame:
    """All 11x11 distances of one kind in one lang2vec query (loading dominates the cost)."""
    if kind not in DISTANCE_FEATURES:
        raise ValueError(
            f"unknown distance kind {kind!r}; expected one of {', '.join(DISTANCE_FEATURES)}"
        )
    isos = [TYPOLOGY[c].iso639_3 for c in LANGUAGES]
    vectors = _load_lang2vec().get_features(isos, DISTANCE_FEATURES[kind])
    x = np.array([vectors[i] for i in isos], dtype=float)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    d = np.clip(1.0 - x @ x.T, 0.0, None)
    d = (d + d.T) / 2  # exact symmetry despite float rounding in the matmul
    np.fill_diagonal(d, 0.0)
    return pd.DataFrame(d, index=list(LANGUAGES), columns=list(LANGUAGES))


def uriel_distance(a: str, b: str, kind: str = "syntactic") -> float:
    """Cosine distance in [0, 1] between the URIEL vectors of two languages (2-letter codes)."""
    _check_codes([a, b])
    return float(_all_distances(kind).at[a, b])


def distance_matrix(langs: Sequence[str], kind: str = "syntactic") -> pd.DataFrame:
    """Symmetric, zero-diagonal distance table over ``langs`` in the given order."""
    _check_codes(langs)
    return _all_distances(kind).loc[list(langs), list(langs)].copy()


def mean_pairwise_distance(langs: Sequence[str], kind: str = "syntactic") -> float:
    """Mean distance over unordered pairs: how spread out a language set is (0.0 below two)."""
    _check_codes(langs)
    d = _all_distances(kind)
    pairs = list(itertools.combinations(langs, 2))
    return float(np.mean([d.at[a, b] for a, b in pairs])) if pairs else 0.0


def _diverse(n: int, pool: list[str], anchor: str | None, kind: str) -> tuple[str, ...]:
    """Greedy max-min: start from the farthest pair (or the anchor), add the language farthest from
    the chosen set; ties go to the smaller code. The sets are nested: diverse 4 is a subset of diverse 7."""
    d = distance_matrix(pool, kind)
    if anchor is not None:
        chosen = [anchor]
    elif len(pool) == 1:
        chosen = pool[:]
    else:
        chosen = list(min(itertools.combinations(pool, 2), key=lambda p: (-d.at[p[0], p[1]], p)))
    while len(chosen) < n:
        rest = [c for c in pool if c not in chosen]
        score = d.loc[rest, chosen].min(axis=1)
        chosen.append(min(rest, key=lambda c: (-score[c], c)))
    return tuple(chosen[:n])


def _similar(n: int, pool: list[str], anchor: str | None, kind: str) -> tuple[str, ...]:
    """The set of smallest mean pairwise distance, found exhaustively (at most C(11, 5) = 462 sets).

    A greedy start from the closest pair picks th, vi then en, ru (mean 0.29 syntactic) where de, el,
    en, es (0.17) exist; the exact minimum avoids that trap. Anchor first, the rest in code order.
    """
    d = distance_matrix(pool, kind).to_numpy()
    index = {c: i for i, c in enumerate(pool)}
    fixed = [anchor] if anchor is not None else []
    rest = [c for c in pool if c != anchor]

    def spread(combo: tuple[str, ...]) -> float:
        ids = [index[c] for c in fixed + list(combo)]
        return float(d[np.ix_(ids, ids)].sum())  # proportional to the mean over pairs at fixed n

    best = min(itertools.combinations(rest, n - len(fixed)), key=lambda combo: (spread(combo), combo))
    return tuple(fixed + list(best))


def select_languages(
    n: int,
    group: str,
    available: Sequence[str],
    anchor: str | None = None,
    kind: str = "syntactic",
) -> tuple[str, ...]:
    """Pick ``n`` of the ``available`` (candidate train_langs) for a ``langs``/``group`` config.

    ``group`` is ``diverse``, ``similar``, or ``family=``/``script=``/``word_order=<value>``
    (``:`` works for ``=``; case-insensitive exact match). The result is in the order chosen, anchor first.
    """
    _check_codes(available, "train_langs")
    if len(set(available)) != len(available):
        raise ValueError(f"train_langs: duplicate codes in {', '.join(available)}")
    pool = sorted(available)
    if not 1 <= n <= len(pool):
        raise ValueError(
            f"langs={n} must be between 1 and {len(pool)}, the number of available languages "
            f"({', '.join(pool)})"
        )
    if anchor is not None and anchor not in pool:
        raise ValueError(
            f"anchor={anchor!r} is not among the available languages ({', '.join(pool)})"
        )

    if group == "diverse":
        return _diverse(n, pool, anchor, kind)
    if group == "similar":
        return _similar(n, pool, anchor, kind)

    # Hydra's override grammar rejects an unquoted '=' in a value, so group=script:Latin works too
    attr, sep, value = group.partition("=") if "=" in group else group.partition(":")
    if not sep or attr not in _ATTRIBUTE_GROUPS or not value:
        raise ValueError(
            f"group={group!r} is unknown; expected diverse, similar, or "
            + ", ".join(f"{a}=<value>" for a in _ATTRIBUTE_GROUPS) + " (or family:<value>, ...)"
        )
    known = sorted({getattr(t, attr) for t in TYPOLOGY.values()})
    if value.casefold() not in {k.casefold() for k in known}:
        raise ValueError(f"group={group}: no language has {attr} {value!r}; known: {', '.join(known)}")
    matches = [c for c in pool if getattr(TYPOLOGY[c], attr).casefold() == value.casefold()]
    if len(matches) < n:
        raise ValueError(
            f"langs={n} with group={group}: only {len(matches)} of the available languages "
            f"({', '.join(matches) or 'none'}) match"
        )
    if anchor is not None:
        if anchor not in matches:
            raise ValueError(f"anchor={anchor} with group={group}: {anchor} has {attr} "
                             f"{getattr(TYPOLOGY[anchor], attr)!r}, so no set can hold both")
        matches.remove(anchor)
        matches.insert(0, anchor)
    return tuple(matches[:n])

