"""Language labels as data files write them (``jv``, ``jav``, ``jav_Latn``, or an English name such as
``javanese``) -> the canonical codes every other module uses."""
from __future__ import annotations

from collections.abc import Iterable


def language_of(label: str, where: str) -> str:
    import langcodes

    from hybrid_sweep.languages import canonical_codes

    try:
        return canonical_codes([label], where)[0]
    except ValueError as unknown:
        try:
            return canonical_codes([langcodes.find(label.replace("_", " ")).language], where)[0]
        except LookupError:
            raise unknown from None


def language_codes(labels: Iterable[str], where: str) -> dict[str, str]:
    """Each distinct label -> its canonical code; one error naming ``where`` and every unknown label."""
    out, unknown = {}, []
    for label in sorted(set(map(str, labels))):
        try:
            out[label] = language_of(label, where)
        except ValueError:
            unknown.append(label)
    if unknown:
        from hybrid_sweep.languages import canonical_codes

        canonical_codes(unknown, where)  # raises the registry's error, with the closest known codes
    return out


def config_languages(values, key: str) -> tuple[str, ...] | None:
    """A config's language list (``data.eval.<name>.languages``) as canonical codes; None when unset."""
    from hybrid_sweep.languages import canonical_codes

    return tuple(canonical_codes(list(values), key)) if values else None
