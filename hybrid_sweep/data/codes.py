"""Language labels as data files write them (``jv``, ``jav``, ``jav_Latn``, or an English name such as
``javanese``) -> the canonical codes every other module uses."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


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


def pick_languages(spec, labels: Sequence[str], key: str, keep: Sequence[str] = ()) -> tuple[str, ...]:
    """The languages a many-language set evaluates, from ``spec``: ``all`` (or null), a list, or
    ``stratified:N`` (``languages.stratified``: N covering as many families and scripts as possible, ``keep``
    first). List entries match a label (``zh-Hant``), or any code of a label's language in its usual script
    (``zho_Hans``, ``cmn``, ``zh``); one error names every entry the data lacks and what it has."""
    from hybrid_sweep.languages import canonical_codes, stratified
    from hybrid_sweep.languages.codes import resolve

    labels = sorted(labels)
    if spec is None or spec == "all":
        return tuple(labels)
    if isinstance(spec, str):
        kind, _, n = spec.partition(":")
        if kind != "stratified" or not n.isdigit():
            raise ValueError(f"{key}={spec!r}: use all, a list of languages, or stratified:<N>")
        return stratified(int(n), labels, keep=[k for k in canonical_codes(list(keep), f"{key} keep") if k in labels])
    wanted = [str(v) for v in spec]
    canonical_codes(wanted, key)  # one error for every unknown code

    def variety(code: str) -> tuple[str, str]:
        r = resolve(code)
        return r.code, r.script

    index: dict[tuple[str, str], str] = {}
    for label in sorted(labels, key=lambda l: ("-" in l or "_" in l, l)):  # usual varieties win
        index.setdefault(variety(label), label)
    found = {w: w if w in labels else index.get(variety(w)) for w in wanted}
    missing = [w for w, l in found.items() if l is None]
    if missing:
        raise ValueError(f"{key}: the data has no language {missing}; it has {len(labels)}: {', '.join(labels)}")
    return tuple(dict.fromkeys(found[w] for w in wanted))
