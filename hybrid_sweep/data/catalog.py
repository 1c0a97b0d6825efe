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
    DatasetMeta("sib-200", "parallel", "sib200/annotated", "CC BY-SA 4.0 (FLORES-200 sentences)",
                "https://github.com/dadelani/sib-200 (Adelani et al. 2024), commit 593cea8",
                splits=("train", "dev", "test"),
                note="205 FLORES-200 varieties, 205-way parallel by index_id; 701/99/204 sentences per split"),
    DatasetMeta("belebele-sib200", "retrieval", "belebele-sib200", "CC BY-SA 4.0 (Belebele, FLORES-200)",
                "https://github.com/facebookresearch/belebele (Bandarkar et al. 2024) rebuilt on SIB-200",
                splits=("test",), contains=("sib-200", "belebele"),
                note="137 passages rebuilt from SIB-200 sentences of all splits; 250 questions in en and de"),
    DatasetMeta("tatoeba-112", "parallel", "tatoeba-112", "CC BY 2.0 FR (Tatoeba)",
                "https://github.com/facebookresearch/LASER data/tatoeba/v1 (Artetxe & Schwenk 2019)",
                splits=("test",), note="X-English pairs in 112 languages; the English side differs per language"),
    DatasetMeta("afriqa", "retrieval", "afriqa/data", "CC BY 4.0",
                "https://github.com/masakhane-io/afriqa (Ogundepo et al. 2023), commit 5c29933",
                splits=("train", "dev", "test"),
                note="native questions in 9 African languages, gold English (French for fon) passages only"),
)}


def dataset(name: str) -> DatasetMeta:
    if name not in CATALOG:
        raise ValueError(f"dataset={name!r} is unknown; known datasets: {sorted(CATALOG)} "
                         f"(or give path=<file or folder> and format=<format> for data of your own)")
    return CATALOG[name]
