"""The datasets hybrid_sweep knows by name, declared once with their metadata (in the spirit of MTEB's
``TaskMetadata``): where the files are under ``paths.data_root``, the task, languages, splits, license and
reference. A training corpus or evaluation set config names one with ``dataset: <name>``; data of your own
needs no entry here: give ``path`` (and ``format``) instead.

Languages are the codes used in configs (ISO 639-1 where one exists, else ISO 639-3; see
``hybrid_sweep.languages``); ``None`` means they are discovered from the files.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetMeta:
    name: str
    task: str  # "lareqa" (question -> answer sentence), "qa_pairs", "parallel" (translations), "retrieval"
    path: str  # relative to paths.data_root, or absolute
    license: str
    reference: str
    languages: tuple[str, ...] | None = None
    splits: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()  # other datasets whose text this one is built from (a leakage path)
    note: str = ""


XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")

CATALOG: dict[str, DatasetMeta] = {d.name: d for d in (
    DatasetMeta("xquad-r", "lareqa", "xquad-r", "CC BY-SA 4.0",
                "https://github.com/google-research-datasets/lareqa (Roy et al. 2020)", XQUAD_LANGS,
                note="11-way parallel by question id; 48 articles; derived from SQuAD v1.1 dev"),
    DatasetMeta("mlqa-r-dev", "lareqa", "mlqa-r-dev-lareqa", "CC BY-NC 4.0 (research use only)",
                "LAReQA git history, commit 354d67d (MLQA-R, built from the MLQA dev split)",
                ("ar", "de", "en", "es", "hi", "vi", "zh"),
                note="each question id in 2-4 languages; the dev split, not MLQA test"),
    DatasetMeta("nusax-mt", "parallel", "nusax-mt", "CC BY-SA 4.0",
                "https://github.com/IndoNLP/nusax (Winata et al. 2023)",
                ("ace", "ban", "bbc", "bjn", "bug", "en", "id", "jv", "mad", "min", "nij", "su"),
                splits=("train", "valid", "test"), note="12-way parallel sentences, one CSV column per language"),
)}


def dataset(name: str) -> DatasetMeta:
    if name not in CATALOG:
        raise ValueError(f"dataset={name!r} is unknown; known datasets: {sorted(CATALOG)} "
                         f"(or give path=<file or folder> and format=<format> for data of your own)")
    return CATALOG[name]
