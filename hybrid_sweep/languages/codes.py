"""Language codes: what a config, ISO 639-3 or FLORES-200 code names, resolved by langcodes alone.

This layer needs no URIEL data, so checking and canonicalising codes stays cheap (lang2vec takes seconds
to load); ``registry`` adds names and typology, ``typology`` maps codes to URIEL's ISO 639-3 codes.
"""
from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import langcodes
from language_data.names import code_to_names
from language_data.registry_parser import parse_registry

# Macrolanguages whose config code (ISO 639-1) stands for the individual language that FLORES-200 and
# URIEL (lang2vec) use: Arabic is Standard Arabic (arb), Chinese is Mandarin (cmn), and so on. Every other
# code maps to the ISO 639-3 code langcodes gives it. Estonian stays est (not ekk): FLORES-200 writes
# est_Latn and URIEL has family features for est but none for ekk.
INDIVIDUAL: dict[str, str] = {
    "ar": "arb", "az": "azj", "fa": "pes", "lv": "lvs", "mg": "plt", "mn": "khk", "ms": "zsm",
    "ne": "npi", "om": "gaz", "or": "ory", "qu": "quy", "sq": "als", "sw": "swh", "uz": "uzn",
    "yi": "ydd", "zh": "cmn",
}
_MACRO = {individual: code for code, individual in INDIVIDUAL.items()}
# FLORES-200 writes Chinese as the macrolanguage (zho_Hans, zho_Hant) although URIEL needs cmn
_FLORES_MACRO = {"zh": "zho"}


@dataclass(frozen=True)
class ResolvedCode:
    """A code as langcodes resolves it: the canonical config code, URIEL's code, the script, FLORES' code."""

    code: str
    iso639_3: str
    script: str
    flores: str


def _parse(tag: object) -> langcodes.Language | None:
    """The langcodes reading of a tag, or None when it names no language langcodes knows by name
    (``xx``, ``und``, private-use codes such as ``qqq``)."""
    if not isinstance(tag, str) or not langcodes.tag_is_valid(tag):
        return None
    language = langcodes.get(tag)
    if language.language is None or not code_to_names(language.language):
        return None
    try:
        language.to_alpha3()
    except LookupError:
        return None
    return language


def _code(language: langcodes.Language) -> str:
    """The config code: langcodes writes ISO 639-1 where it exists (jpn -> ja) and applies CLDR's aliases
    (iw -> he, tl -> fil); an individual language of ``INDIVIDUAL`` becomes its macrolanguage (arb -> ar)."""
    return _MACRO.get(language.language, language.language)


@functools.lru_cache(maxsize=None)
def _resolve(tag: str) -> ResolvedCode | None:
    language = _parse(tag)
    if language is None:
        return None
    code = _code(language)
    iso = INDIVIDUAL.get(code) or langcodes.get(code).to_alpha3()
    script = language.maximize().script  # the tag's own script (zho_Hant, sh) or the likely one (ja -> Jpan)
    return ResolvedCode(code, iso, script, f"{_FLORES_MACRO.get(code, iso)}_{script}")


@functools.lru_cache(maxsize=None)
def _candidates() -> dict[str, str]:
    """Every language subtag of the IANA registry langcodes reads and each of its English names
    (casefolded), mapped to its config code; special codes (mul, zxx) are left out. URIEL's codes add
    nothing: all but 44 retired ones are in the registry, and those would not resolve."""
    candidates: dict[str, str] = {}
    for entry in parse_registry():
        if entry.get("Type") != "language" or entry.get("Scope") == "special":
            continue
        language = _parse(entry["Subtag"])
        if language is not None:
            for key in (entry["Subtag"], *entry.get("Description", ())):
                candidates.setdefault(key.casefold(), _code(language))
    return candidates


def _closest_codes(tag: object, n: int = 3) -> list[str]:
    """The ``n`` known codes whose code or English name is closest to ``tag`` (difflib ratio)."""
    candidates = _candidates()
    matches = difflib.get_close_matches(str(tag).casefold(), candidates, n=10 * n, cutoff=0.0)
    return list(dict.fromkeys(candidates[m] for m in matches))[:n]


def _unknown_codes_error(unknown: Sequence[object], where: str | None = None) -> ValueError:
    """One error naming every unknown code and, for each, the closest known codes."""
    listed = ", ".join(f"{c!r} (closest: {', '.join(_closest_codes(c))})" for c in unknown)
    return ValueError(f"{where + ': ' if where else ''}unknown language code(s) {listed}")


def resolve(tag: str) -> ResolvedCode:
    """A config code (``ja``), ISO 639-3 code (``jpn``, ``swh``) or FLORES code (``zho_Hans``) resolved."""
    resolved = _resolve(tag) if isinstance(tag, str) else None
    if resolved is None:
        raise _unknown_codes_error([tag])
    return resolved


def canonical_codes(codes: Sequence[str], where: str) -> tuple[str, ...]:
    """Each code as configs write it (``swh`` -> ``sw``, ``zho_Hans`` -> ``zh``); one error naming
    ``where`` (the config key) and every unknown code with its closest known codes."""
    resolved = [_resolve(c) if isinstance(c, str) else None for c in codes]
    unknown = [c for c, r in zip(codes, resolved) if r is None]
    if unknown:
        raise _unknown_codes_error(unknown, where)
    return tuple(r.code for r in resolved)


def variety_labels(flores_codes: Sequence[str]) -> dict[str, str]:
    """A unique label per FLORES variety of one dataset: the config code (``zul_Latn`` -> ``zu``); where
    several varieties share a code, the one in the language's usual script keeps it (``zho_Hans`` -> ``zh``),
    another script adds it (``zho_Hant`` -> ``zh-Hant``, ``arb_Latn`` -> ``ar-Latn``), and a variety in the
    same script keeps its FLORES code (Dari ``prs_Arab`` beside Persian ``pes_Arab`` -> ``fa``)."""
    by_code: dict[str, list[str]] = {}
    for flores in sorted(flores_codes):
        by_code.setdefault(resolve(flores).code, []).append(flores)
    labels: dict[str, str] = {}
    for code, group in by_code.items():
        usual = resolve(code)
        for flores in group:
            script = resolve(flores).script
            if len(group) == 1 or flores == usual.flores:
                labels[flores] = code
            else:
                labels[flores] = flores if script == usual.script else f"{code}-{script}"
    return labels
