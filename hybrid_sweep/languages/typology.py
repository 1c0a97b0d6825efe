"""Typology of any language: WALS rows for the 11 XQuAD-R languages, URIEL genealogy and word order for
every other language, and URIEL distances between any languages.

The WALS table is embedded (not read from ../shared) so runs are reproducible without the shared data
folder; tests check it against shared/data/typology.csv when present.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from numpy.lib.npyio import NpzFile

from hybrid_sweep.languages.codes import canonical_codes, resolve


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
_WORD_ORDERS = ("SOV", "SVO", "VSO", "VOS", "OVS", "OSV")  # WALS 81A values, URIEL features S_<order>


class _ArchiveOnce:
    """numpy as lang2vec sees it, except that each ``.npz`` archive is read once per process. lang2vec's
    ``get_features`` indexes its lazily loaded archive once per feature name, and each index decompresses the
    whole member again: ~2 s per distance kind, 10 s of every sweep's aggregation. Its logic stays its own."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def _archive(filename: str) -> dict[str, np.ndarray]:
        with np.load(filename) as archive:
            return {key: archive[key] for key in archive.files}

    def load(self, filename, *args, **kwargs):
        if str(filename).endswith(".npz") and not args and not kwargs:
            return self._archive(str(filename))
        return np.load(filename, *args, **kwargs)


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
    if not isinstance(l2v.np, _ArchiveOnce):
        l2v.np = _ArchiveOnce()
    return l2v


def _lang2vec_data(filename: str) -> NpzFile:
    """One of lang2vec's data files (an npz archive: langs, feats, sources, data)."""
    return np.load(Path(_load_lang2vec().__file__).with_name("data") / filename)


def _uriel_columns(feature_set: str, columns: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(languages, feature names, values) of a lang2vec feature set for every URIEL language, read from
    lang2vec's data file in one pass: get_features re-reads the file for every feature it returns."""
    filename, source, prefix = _load_lang2vec().FEATURE_SETS_DICT[feature_set]
    data = _lang2vec_data(filename)
    feats = list(data["feats"])
    cols = [feats.index(c) for c in columns] if columns else [i for i, f in enumerate(feats) if f.startswith(prefix)]
    src = int(np.flatnonzero(data["sources"] == source)[0])
    return data["langs"], np.asarray(feats)[cols], data["data"][:, cols, src]


def _word_orders(feature_set: str) -> dict[str, str | None]:
    """Each language's dominant word order(s) in one URIEL feature set: ``SVO``, ``SOV/SVO`` where two are
    marked, None where none is; languages without values are left out."""
    langs, _, values = _uriel_columns(feature_set, [f"S_{o}" for o in _WORD_ORDERS])
    return {
        str(lang): "/".join(o for o, v in zip(_WORD_ORDERS, row) if v == 1.0) or None
        for lang, row in zip(langs, values)
        if (row != -1.0).all()
    }


@functools.lru_cache(maxsize=None)
def _uriel_genealogy() -> dict[str, tuple[str | None, str | None, str | None]]:
    """(family, genus, word order) of every URIEL language, by ISO 639-3 code.

    lang2vec's ``fam`` features are Glottolog's tree: one ``F_<name>`` per group a language belongs to.
    Its family is the group it has that the most URIEL languages share (the root of its tree), its genus
    the next largest (the next level down), None where there is none (isolates have no family at all).
    Word order is WALS 81A as URIEL codes it (``syntax_wals``) where WALS has the language, else URIEL's
    kNN imputation from typologically and genetically close languages (``syntax_knn``): imputed, so an
    educated guess rather than a documented fact.
    """
    langs, feats, fam = _uriel_columns("fam")
    member = fam == 1.0
    size = member.sum(axis=0)
    names = [f.removeprefix("F_") for f in feats]
    wals, knn = _word_orders("syntax_wals"), _word_orders("syntax_knn")
    genealogy = {}
    for lang, row in zip(langs, member):
        groups = sorted(np.flatnonzero(row), key=lambda i: (-size[i], i))  # largest first; ties in file order
        family, genus = ([names[i] for i in groups[:2]] + [None, None])[:2]
        lang = str(lang)
        genealogy[lang] = (family, genus, wals[lang] if lang in wals else knn.get(lang))
    return genealogy


def uriel_genealogy(iso639_3: str) -> tuple[str | None, str | None, str | None]:
    """(family, genus, word order) from URIEL for an ISO 639-3 code; all None for a language URIEL lacks."""
    return _uriel_genealogy().get(iso639_3, (None, None, None))


@functools.lru_cache(maxsize=None)
def _uriel_languages() -> frozenset[str]:
    """The ISO 639-3 codes URIEL has (every lang2vec data file holds the same 7970)."""
    return frozenset(_lang2vec_data("family_features.npz")["langs"].tolist())


_vectors: dict[tuple[str, str], np.ndarray | None] = {}  # (kind, ISO 639-3) -> lang2vec vector (None: no values)


def _fetch_vectors(kind: str, codes: Sequence[str], isos: Sequence[str], strict: bool = True) -> np.ndarray:
    """The raw lang2vec vectors of ``isos`` for one distance kind, querying lang2vec once for those not
    cached yet. A language URIEL lacks, or has no values for, raises naming it and the kind; with
    ``strict=False`` its row is NaN instead (a 205-language analysis keeps the languages it can place)."""
    feature_set = DISTANCE_FEATURES[kind]
    missing = {iso: code for code, iso in zip(codes, isos) if (kind, iso) not in _vectors}
    absent = {iso for iso in missing if iso not in _uriel_languages()}
    known = [iso for iso in missing if iso not in absent]
    found = _load_lang2vec().get_features(known, feature_set) if known else {}
    for iso in missing:
        values = found.get(iso)
        empty = values is None or any(isinstance(v, str) for v in values) or not any(values)  # '--': missing
        _vectors[kind, iso] = None if empty else np.array(values, dtype=float)
    lacking = [f"{code!r} ({iso})" for code, iso in zip(codes, isos) if _vectors[kind, iso] is None]
    if lacking and strict:
        raise ValueError(f"URIEL (lang2vec) has no {kind} distance ({feature_set}) values for {', '.join(lacking)}")
    width = next((len(_vectors[kind, iso]) for iso in isos if _vectors[kind, iso] is not None), 1)
    return np.array([_vectors[kind, iso] if _vectors[kind, iso] is not None else np.full(width, np.nan)
                     for iso in isos])


def distance_matrix(langs: Sequence[str], kind: str = "syntactic", strict: bool = True) -> pd.DataFrame:
    """Symmetric, zero-diagonal distance table over ``langs`` (any codes ``get_language`` accepts) in the
    given order: the cosine distance of their URIEL vectors, computed over the languages in code order.
    ``strict=False``: a language without values gets NaN distances instead of an error."""
    if kind not in DISTANCE_FEATURES:
        raise ValueError(
            f"unknown distance kind {kind!r}; expected one of {', '.join(DISTANCE_FEATURES)}"
        )
    codes = canonical_codes(langs, "languages") if strict else [str(c) for c in langs]
    order = sorted(set(codes))
    x = _fetch_vectors(kind, order, [resolve(c).iso639_3 for c in order], strict)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    d = np.clip(1.0 - x @ x.T, 0.0, None)
    d = (d + d.T) / 2  # exact symmetry despite float rounding in the matmul
    np.fill_diagonal(d, 0.0)
    at = [order.index(c) for c in codes]
    return pd.DataFrame(d[np.ix_(at, at)], index=list(langs), columns=list(langs))


def uriel_distance(a: str, b: str, kind: str = "syntactic") -> float:
    """Cosine distance in [0, 1] between the URIEL vectors of two languages."""
    return float(distance_matrix([a, b], kind).iat[0, 1])


def mean_pairwise_distance(langs: Sequence[str], kind: str = "syntactic") -> float:
    """Mean distance over unordered pairs: how spread out a language set is (0.0 below two)."""
    if len(langs) < 2:
        canonical_codes(langs, "languages")
        return 0.0
    d = distance_matrix(langs, kind).to_numpy()
    return float(np.mean([d[i, j] for i, j in itertools.combinations(range(len(langs)), 2)]))
