"""One record per language, whatever code names it: codes, script, names and typology."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import langcodes

from hybrid_sweep.languages.codes import resolve
from hybrid_sweep.languages.typology import TYPOLOGY, uriel_genealogy


@dataclass(frozen=True)
class Language:
    """A language as configs, URIEL and FLORES-200 name it, with its place in the typology.

    ``code`` is what configs write (ISO 639-1 where one exists, else ISO 639-3); ``iso639_3`` the
    individual language URIEL knows (``arb`` for ``ar``); ``script`` an ISO 15924 code. ``family``,
    ``genus`` and ``word_order`` come from the WALS table for the 11 XQuAD-R languages, from URIEL
    for the rest (see ``typology.uriel_genealogy``), and are None where neither knows them.
    """

    code: str
    iso639_3: str
    script: str
    script_name: str
    name: str
    flores: str
    family: str | None
    genus: str | None
    word_order: str | None


@functools.lru_cache(maxsize=None)
def get_language(code: str) -> Language:
    """The record of a config code (``ja``), ISO 639-3 code (``jpn``, ``swh``) or FLORES code
    (``zul_Latn``, ``zho_Hans``); codes of one language give the same record (``swh`` is ``sw``).
    Languages outside the WALS table load lang2vec (seconds, once) for their typology."""
    resolved = resolve(code)
    row = TYPOLOGY.get(resolved.code)
    family, genus, word_order = (
        (row.family, row.genus, row.word_order) if row else uriel_genealogy(resolved.iso639_3)
    )
    # the table names the language's own script; a FLORES variant (zho_Hant) gets langcodes' name
    own_script = row is not None and resolved.script == resolve(resolved.code).script
    return Language(
        code=resolved.code,
        iso639_3=resolved.iso639_3,
        script=resolved.script,
        script_name=row.script if own_script else langcodes.Language.make(script=resolved.script).script_name(),
        name=langcodes.get(resolved.code).language_name(),
        flores=resolved.flores,
        family=family,
        genus=genus,
        word_order=word_order,
    )
