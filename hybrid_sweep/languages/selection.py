"""The choice of training languages for ``langs=N`` (with ``group`` / ``train_langs`` / ``anchor``),
over whatever languages the training data has."""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from hybrid_sweep.languages.codes import canonical_codes
from hybrid_sweep.languages.registry import get_language
from hybrid_sweep.languages.typology import TYPOLOGY, distance_matrix

# Nested order for typological spread, so the sets for 4 ⊂ 7 ⊂ 11 languages:
#   4: en (IE Germanic, Latin, SVO), zh (Sino-Tibetan, Han), ar (Afro-Asiatic, Arabic, VSO), hi (IE Indic, Devanagari, SOV)
#   7: + ru (IE Slavic, Cyrillic), tr (Turkic, agglutinative, SOV), th (Tai-Kadai, Thai script)
#  11: + vi (Austroasiatic, Latin), el (IE Hellenic, Greek), de (Germanic, SOV/V2), es (Romance)
NESTED_ORDER = ("en", "zh", "ar", "hi", "ru", "tr", "th", "vi", "el", "de", "es")

_ATTRIBUTE_GROUPS = ("family", "script", "word_order")
# similar searches every set up to this many candidates (C(11, 5) = 462 for XQuAD-R), else greedy + swaps
_EXHAUSTIVE_LIMIT = 20_000


def _folded(name: str) -> str:
    """WALS writes Austro-Asiatic, Glottolog Austroasiatic: attribute groups match either spelling."""
    return name.casefold().replace("-", "").replace(" ", "").replace("_", "")


def _spelled(available: Sequence[str]) -> dict[str, str]:
    """Canonical code -> the data's own spelling of it, so choices come back as the data names them."""
    codes = canonical_codes(available, "train_langs")
    if len(set(codes)) != len(codes):
        raise ValueError(f"train_langs: duplicate codes in {', '.join(available)}")
    return dict(zip(codes, available))


def _nested(pool: list[str]) -> list[str]:
    """All of ``pool`` ranked: NESTED_ORDER first, then greedy max-min syntactic distance from those
    ranked so far (ties to the smaller code; the smallest code starts when NESTED_ORDER has none of them).
    Every prefix is the set of its size, so the sets for growing ``langs`` are nested."""
    ranked = [c for c in NESTED_ORDER if c in pool]
    rest = sorted(c for c in pool if c not in ranked)
    if len(rest) > 1:  # one leftover needs no distances (nor lang2vec)
        d = distance_matrix(pool, "syntactic")
        if not ranked:
            ranked.append(rest.pop(0))
        while rest:
            score = d.loc[rest, ranked].min(axis=1)
            ranked.append(min(rest, key=lambda c: (-score[c], c)))
            rest.remove(ranked[-1])
    return ranked + rest


def choose_train_languages(
    langs: int | None,
    available: Sequence[str],
    train_langs: Sequence[str] | None = None,
    group: str = "nested",
    anchor: str | None = None,
) -> tuple[str, ...]:
    """The training languages of a run: an explicit list wins, else ``langs`` of the ``available``
    (the training data's languages, any codes) picked by ``group``; codes come back as ``available``
    writes them."""
    spelled = _spelled(available)
    if train_langs:
        codes = canonical_codes(train_langs, "train_langs")
        absent = [t for t, c in zip(train_langs, codes) if c not in spelled]
        if absent:
            raise ValueError(f"train_langs: {absent} not in the training data, which has {list(available)}")
        if langs is not None and langs != len(train_langs):
            raise ValueError(f"langs={langs} contradicts train_langs={list(train_langs)}; set langs=null or match it")
        return tuple(spelled[c] for c in codes)
    if langs is None or not isinstance(langs, int) or isinstance(langs, bool):
        raise ValueError(f"langs must be an integer number of training languages, got {langs!r}")
    if not 1 <= langs <= len(available):
        raise ValueError(f"langs={langs} but the training data has only {len(available)} languages: {list(available)}")
    if group != "nested":
        return select_languages(langs, group, available, anchor=anchor)
    order = _nested(sorted(spelled))
    if anchor is not None:
        (code,) = canonical_codes([anchor], "anchor")
        if code not in spelled:
            raise ValueError(f"anchor={anchor!r} is not among the available languages ({', '.join(available)})")
        order = [code] + [c for c in order if c != code]
    return tuple(spelled[c] for c in order[:langs])


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


def _swap_descent(d: np.ndarray, fixed: list[int], seed: int, n: int) -> tuple[int, ...]:
    """From ``fixed`` + ``seed``, add the language closest in sum to the chosen set until there are ``n``,
    then make the best single swap (ties to the smaller indices) until none lowers the spread."""
    ids = fixed + [seed]

    def outside() -> list[int]:
        return [j for j in range(len(d)) if j not in ids]

    while len(ids) < n:
        ids.append(min(outside(), key=lambda j: (d[j, ids].sum(), j)))
    while True:
        gain, i, j = min((d[j, ids].sum() - d[j, i] - d[i, ids].sum(), i, j)
                         for i in ids[len(fixed):] for j in outside())
        if gain >= -1e-12:  # no swap lowers the spread beyond float noise
            return tuple(sorted(ids[len(fixed):]))
        ids[ids.index(i)] = j


def _similar(n: int, pool: list[str], anchor: str | None, kind: str) -> tuple[str, ...]:
    """The set of smallest mean pairwise distance; anchor first, the rest in code order.

    Exhaustive while there are at most ``_EXHAUSTIVE_LIMIT`` candidate sets (C(11, 5) = 462): a greedy
    start from the closest pair picks th, vi then en, ru (mean 0.29 syntactic) where de, el, en, es (0.17)
    exist, and the exact minimum avoids that trap. Beyond the limit: one greedy start per candidate
    language, each improved by single swaps to a local minimum, and the best of those (ties to the
    smaller codes); deterministic, and it escapes that trap, but it is not guaranteed to be the minimum.
    """
    d = distance_matrix(pool, kind).to_numpy()
    fixed = [pool.index(anchor)] if anchor is not None else []
    rest = [i for i in range(len(pool)) if i not in fixed]
    k = n - len(fixed)

    def spread(combo: tuple[int, ...]) -> float:
        ids = fixed + list(combo)
        return float(d[np.ix_(ids, ids)].sum())  # proportional to the mean over pairs at fixed n

    if math.comb(len(rest), k) <= _EXHAUSTIVE_LIMIT:
        candidates = itertools.combinations(rest, k)
    else:
        candidates = (_swap_descent(d, fixed, seed, n) for seed in rest)
    best = min(candidates, key=lambda combo: (spread(combo), combo))
    return tuple(pool[i] for i in fixed + list(best))


def select_languages(
    n: int,
    group: str,
    available: Sequence[str],
    anchor: str | None = None,
    kind: str = "syntactic",
) -> tuple[str, ...]:
    """Pick ``n`` of the ``available`` (candidate train_langs, any codes) for a ``langs``/``group`` config.

    ``group`` is ``diverse``, ``similar``, or ``family=``/``script=``/``word_order=<value>``
    (``:`` works for ``=``; case-insensitive exact match; ``script`` is the name, e.g. Latin). The result
    is in the order chosen, anchor first, each code as ``available`` writes it.
    """
    spelled = _spelled(available)
    pool = sorted(spelled)
    if not 1 <= n <= len(pool):
        raise ValueError(
            f"langs={n} must be between 1 and {len(pool)}, the number of available languages "
            f"({', '.join(pool)})"
        )
    if anchor is not None:
        code = canonical_codes([anchor], "anchor")[0]
        if code not in pool:
            raise ValueError(
                f"anchor={anchor!r} is not among the available languages ({', '.join(pool)})"
            )
        anchor = code

    if group == "diverse":
        return tuple(spelled[c] for c in _diverse(n, pool, anchor, kind))
    if group == "similar":
        return tuple(spelled[c] for c in _similar(n, pool, anchor, kind))

    # Hydra's override grammar rejects an unquoted '=' in a value, so group=script:Latin works too
    attr, sep, value = group.partition("=") if "=" in group else group.partition(":")
    if not sep or attr not in _ATTRIBUTE_GROUPS or not value:
        raise ValueError(
            f"group={group!r} is unknown; expected diverse, similar, or "
            + ", ".join(f"{a}=<value>" for a in _ATTRIBUTE_GROUPS) + " (or family:<value>, ...)"
        )
    field = "script_name" if attr == "script" else attr
    values = {c: getattr(get_language(c), field) for c in pool}
    # the WALS table's values count as known too: a value no available language has is a shortfall, not a typo
    known = sorted({getattr(row, attr) for row in TYPOLOGY.values()} | {v for v in values.values() if v is not None})
    if _folded(value) not in {_folded(k) for k in known}:
        raise ValueError(f"group={group}: no language has {attr} {value!r}; known: {', '.join(known)}")
    matches = [c for c in pool if values[c] is not None and _folded(values[c]) == _folded(value)]
    if len(matches) < n:
        raise ValueError(
            f"langs={n} with group={group}: only {len(matches)} of the available languages "
            f"({', '.join(matches) or 'none'}) match"
        )
    if anchor is not None:
        if anchor not in matches:
            raise ValueError(f"anchor={anchor} with group={group}: {anchor} has {attr} "
                             f"{values[anchor]!r}, so no set can hold both")
        matches.remove(anchor)
        matches.insert(0, anchor)
    return tuple(spelled[c] for c in matches[:n])


def stratified(n: int, available: Sequence[str], keep: Sequence[str] = ()) -> tuple[str, ...]:
    """``n`` of ``available`` (variety labels or codes) covering as many families and scripts as they can,
    for evaluation subsets that cost ``n / len(available)`` of the full set. ``keep`` come first (a
    pivot such as ``en``); then, greedily, the language adding the most unseen (family, script) values,
    then an unseen genus, then the family least represented so far, then a language's usual script over
    another variety (``ar`` before ``ar-Latn``); ties to the smaller label. An unknown family (URIEL has
    none for e.g. ``eu``, ``lv``) adds nothing. Deterministic: the same inputs give the same list."""
    pool = sorted(set(available))
    if not 1 <= n <= len(pool):
        raise ValueError(f"stratified:{n} must pick between 1 and {len(pool)} languages (those available)")
    info = {}
    for code in pool:
        lang = get_language(code)
        info[code] = (lang.family and _folded(lang.family), lang.script, lang.genus)
    chosen = [c for c in dict.fromkeys(keep) if c in info][:n]
    families, scripts, genera = ({info[c][i] for c in chosen} | {None} for i in range(3))
    while len(chosen) < n:
        def gain(c: str) -> tuple:
            family, script, genus = info[c]
            counts = sum(info[x][0] == family for x in chosen)
            variety = "-" in c or "_" in c
            return (-((family not in families) + (script not in scripts)), genus in genera, counts, variety, c)

        best = min((c for c in pool if c not in chosen), key=gain)
        chosen.append(best)
        families.add(info[best][0])
        scripts.add(info[best][1])
        genera.add(info[best][2])
    return tuple(chosen)
