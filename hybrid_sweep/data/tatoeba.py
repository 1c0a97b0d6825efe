"""Tatoeba X-English bitext (LASER test set) as an auxiliary cross-lingual training signal.

A bitext pair trains like a cross pair: the sentence in X is the query, its English translation the
passage. It reaches languages that have no QA training data. Pairs sharing an English sentence (231 are
shared by 2-4 languages) or an X sentence get one ``pid``: like translations of one QA id, they would be
false negatives if they met in a batch.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# ISO 639-3 file codes -> the project's 2-letter codes
TATOEBA_CODES: dict[str, str] = {
    "ara": "ar", "cmn": "zh", "deu": "de", "ell": "el", "hin": "hi",
    "rus": "ru", "spa": "es", "tha": "th", "tur": "tr", "vie": "vi",
}
TATOEBA_LANGS: tuple[str, ...] = tuple(sorted(TATOEBA_CODES.values()))
_ISO3 = {two: three for three, two in TATOEBA_CODES.items()}


@dataclass(frozen=True)
class BitextPair:
    pid: str  # shared by pairs that must not meet in one batch
    lang: str  # the non-English side
    text: str
    english: str
    source: str  # file:line, for provenance


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"Tatoeba file not found: {path} (check paths.data_root / HYBRID_SWEEP_DATA)")
    return path.read_text(encoding="utf-8").splitlines()


def read_tatoeba(folder: Path, langs: Sequence[str] = TATOEBA_LANGS) -> tuple[BitextPair, ...]:
    """Parallel pairs of ``tatoeba.<xxx>-eng.{xxx,eng}`` for the given 2-letter codes.

    Empty lines and pairs whose two sides are the same text are dropped: such a pair teaches nothing
    and behaves like an identical-text mono pair.
    """
    unknown = [l for l in langs if l not in _ISO3]
    if unknown:
        raise ValueError(f"batching.bitext_langs: no Tatoeba bitext for {unknown}; it has {list(TATOEBA_LANGS)}")
    raw: list[tuple[str, str, str, str]] = []
    for lang in langs:
        iso = _ISO3[lang]
        x_path, en_path = folder / f"tatoeba.{iso}-eng.{iso}", folder / f"tatoeba.{iso}-eng.eng"
        xs, ens = _read_lines(x_path), _read_lines(en_path)
        if len(xs) != len(ens):
            raise ValueError(f"{x_path} has {len(xs)} lines but {en_path} has {len(ens)}; line i must translate line i")
        raw += [(lang, x.strip(), e.strip(), f"{x_path.name}:{i + 1}") for i, (x, e) in enumerate(zip(xs, ens))
                if x.strip() and e.strip() and _norm(x) != _norm(e)]
    return tuple(BitextPair(pid, lang, x, e, src) for (lang, x, e, src), pid in zip(raw, _group_ids(raw)))


def _group_ids(raw: list[tuple[str, str, str, str]]) -> list[str]:
    """Union pairs that share a normalised English or X sentence; name each group by its first pair."""
    parent = list(range(len(raw)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[tuple[str, str], int] = {}
    for i, (lang, x, e, _) in enumerate(raw):
        for key in (("en", _norm(e)), (lang, _norm(x))):
            parent[find(i)] = find(first_of.setdefault(key, i))
    first_member: dict[int, int] = {}
    return [f"tatoeba/{raw[first_member.setdefault(find(i), i)][3]}" for i in range(len(raw))]


def bitext_languages(spec: str | Sequence[str], train_langs: Sequence[str], eval_langs: Sequence[str]) -> tuple[str, ...]:
    """Resolve ``batching.bitext_langs``: ``untrained`` (evaluation languages without QA training data),
    ``all`` (every Tatoeba language), or an explicit list."""
    if spec == "untrained":
        langs = tuple(l for l in TATOEBA_LANGS if l in eval_langs and l not in train_langs)
    elif spec == "all":
        langs = TATOEBA_LANGS
    elif isinstance(spec, str):
        raise ValueError(f"batching.bitext_langs={spec!r}: use untrained, all or a list of language codes")
    else:
        langs = tuple(spec)
    if not langs:
        raise ValueError(f"batching.bitext_langs={spec!r} selects no Tatoeba language for train_langs="
                         f"{list(train_langs)}; use bitext_langs=all or a list")
    return langs


def load_bitext(data_root: Path, spec: str | Sequence[str], train_langs: Sequence[str],
                eval_langs: Sequence[str]) -> tuple[BitextPair, ...]:
    """The bitext pairs a run trains on, read from ``<data_root>/train/tatoeba``."""
    return read_tatoeba(Path(data_root) / "train" / "tatoeba", bitext_languages(spec, train_langs, eval_langs))
