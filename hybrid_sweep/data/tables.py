"""Tables of your own: JSONL / JSON / Parquet / CSV / TSV files, a folder written by ``datasets``'
``save_to_disk``, or a hub dataset through ``datasets.load_dataset``, read into pandas with a column mapping.

The columns are checked from the file's header (first line, CSV header, Parquet schema) before the table
is read, so a missing column fails in milliseconds, naming the file, the columns it has and the mapping key.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".tsv")
PACKAGED_BUILDERS = ("json", "csv", "parquet", "text", "arrow")  # datasets' builders that need data_files


def _header(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        with path.open(encoding="utf-8") as fh:
            first = fh.readline().strip()
        try:
            row = json.loads(first) if first else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: the first line is not a JSON object ({exc}); expected one JSON object "
                             f"per line") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{path}: expected one JSON object per line, got {type(row).__name__}")
        return list(row)
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ","), [])
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    raise ValueError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(FILE_SUFFIXES)}, "
                     f"a save_to_disk folder, or hub=<dataset name>")


def check_columns(have: Sequence[str], mapping: Mapping[str, str], where: str, key: str) -> None:
    """Fail unless every mapped source column exists; ``mapping`` is role -> column name."""
    missing = {role: col for role, col in mapping.items() if col not in have}
    if missing:
        raise ValueError(f"{where} lacks column(s) {sorted(missing.values())} (for {', '.join(missing)}); it has "
                         f"{list(have)}. Map yours with {key}.columns, e.g. {key}.columns.{next(iter(missing))}=<column>")


def read_table(path: Path, mapping: Mapping[str, str], key: str) -> pd.DataFrame:
    """The mapped columns of a local table, renamed to their roles (``mapping``: role -> source column)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{key}.path={path} does not exist")
    if path.is_dir():
        if not (path / "state.json").exists() and not (path / "dataset_dict.json").exists():
            raise ValueError(f"{key}.path={path} is a folder but not one written by datasets' save_to_disk; "
                             f"point it at a {'/'.join(FILE_SUFFIXES)} file")
        import datasets

        data = datasets.load_from_disk(str(path))
        if isinstance(data, datasets.DatasetDict):
            raise ValueError(f"{key}.path={path} holds splits {list(data)}; point it at one split's folder")
        check_columns(data.column_names, mapping, str(path), key)
        frame = data.select_columns(list(dict.fromkeys(mapping.values()))).to_pandas()
    else:
        check_columns(_header(path), mapping, str(path), key)
        usecols = list(dict.fromkeys(mapping.values()))
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".json"):
            frame = pd.read_json(path, lines=True, dtype=False)[usecols]
        elif suffix == ".parquet":
            frame = pd.read_parquet(path, columns=usecols)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", usecols=usecols, dtype=str,
                                keep_default_na=False, quoting=csv.QUOTE_NONE if suffix == ".tsv" else csv.QUOTE_MINIMAL)
    return pd.DataFrame({role: frame[col] for role, col in mapping.items()})


def read_hub_table(hub: Mapping, mapping: Mapping[str, str], key: str) -> pd.DataFrame:  # pragma: no cover - network
    """A hub dataset (``hub.name``, optional ``config``, ``split``, ``data_files``) via ``datasets.load_dataset``."""
    name = hub.get("name")
    if not name:
        raise ValueError(f"{key}.hub.name is required (a hub dataset name)")
    if name in PACKAGED_BUILDERS and not hub.get("data_files"):
        raise ValueError(f"{key}.hub.name={name!r} reads local files: set {key}.hub.data_files, or better "
                         f"{key}.path=<file> (read without datasets)")
    import datasets

    data = datasets.load_dataset(name, hub.get("config"), split=hub.get("split", "train"),
                                 data_files=hub.get("data_files"))
    check_columns(data.column_names, mapping, f"hub dataset {name}", key)
    frame = data.select_columns(list(dict.fromkeys(mapping.values()))).to_pandas()
    return pd.DataFrame({role: frame[col] for role, col in mapping.items()})
