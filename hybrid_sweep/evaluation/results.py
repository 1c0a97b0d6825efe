"""The tidy, long-format result rows every run writes; aggregation reads only these.

On disk (schema 3) the rows are stored column-wise, with the run's keys once (``run``) and each evaluation
set's columns once (``sets``): a rebuild job's 4,700 rows take 0.39 MB instead of 6.4 MB with every key
repeated on every row. :func:`read_results` returns the same tidy rows for every schema."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# 3: rows stored column-wise, run and set keys once; 2: every row names its evaluation set (``eval_set``);
# 1 is read as one set
SCHEMA_VERSION = 3
READABLE_SCHEMAS = (1, 2, SCHEMA_VERSION)


@dataclass(frozen=True)
class ResultRow:
    setting: str  # mono | cross | multi
    query_lang: str  # a code, or "all" for a macro average
    doc_lang: str  # a code, "all" for the multilingual pool / a macro average
    metric: str
    value: float  # a fraction, never a percentage; lang_bias alone is in ranks (highest - lowest relevant rank)
    n_queries: int  # queries behind a per-language row; languages or pairs behind a macro ("all") row
    ci_low: float | None = None  # bootstrap 95% interval over parallel question ids, on macro rows
    ci_high: float | None = None


HEADLINE_METRICS = ("map", "lang_bias")
ROW_COLUMNS = ("stage", "eval_set", *(f.name for f in fields(ResultRow)))  # what varies within a job


def headline(rows: Iterable[ResultRow]) -> dict[str, float]:
    """What a job reports in one line: ``<setting>_<metric>`` of the macro rows for mAP and language bias."""
    return {f"{r.setting}_{r.metric}": r.value for r in rows
            if r.query_lang == "all" and r.metric in HEADLINE_METRICS}


def stage_rows(rows: Iterable[dict], stage: str, eval_set: str | None = None) -> list[ResultRow]:
    """The ``ResultRow``s of one stage (and evaluation set) from rows read back by :func:`read_results`."""
    names = [f.name for f in fields(ResultRow)]
    return [ResultRow(**{n: r.get(n) for n in names}) for r in rows
            if r["stage"] == stage and (eval_set is None or r.get("eval_set", r.get("eval_data")) == eval_set)]


def _row_dicts(rows_by_stage: dict[tuple[str, str], list[ResultRow]]) -> list[dict]:
    return [{"stage": stage, "eval_set": eval_set, **asdict(r)}
            for (stage, eval_set), stage_rows in rows_by_stage.items() for r in stage_rows]


def _dump(path: Path, run: dict, sets: dict[str, dict], rows: list[dict]) -> None:
    """Atomically write a schema-3 results file from tidy rows (only their ``ROW_COLUMNS`` are stored)."""
    columns = {k: [r.get(k) for r in rows] for k in ROW_COLUMNS}
    tmp = Path(path).with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "run": run, "sets": sets, "columns": columns},
                              separators=(",", ":")))
    os.replace(tmp, path)


def write_results(path: Path, rows_by_stage: dict[tuple[str, str], list[ResultRow]], run: dict,
                  set_info: dict[str, dict] | None = None) -> None:
    """Atomically write ``results.json``: one row per (stage, evaluation set, setting, langs, metric).
    ``rows_by_stage`` is keyed by (stage, evaluation set name); ``run`` holds the keys every row shares and
    ``set_info`` the columns of each evaluation set (e.g. how many texts its length limits cut)."""
    set_info = set_info or {}
    sets = {name: set_info.get(name, {}) for _, name in rows_by_stage}
    _dump(path, run, sets, _row_dicts(rows_by_stage))


def rewrite_results(path: Path, rows_by_stage: dict[tuple[str, str], list[ResultRow]], set_info: dict) -> None:
    """Append the rows of one more evaluation set to a finished job's ``results.json`` (atomically; the
    existing rows keep their values, and a file of an older schema is rewritten as the current one).
    ``set_info`` holds that set's columns."""
    run, sets, rows = _current(path)
    for name in {name for _, name in rows_by_stage}:
        sets[name] = set_info
    _dump(path, run, sets, rows + _row_dicts(rows_by_stage))


def compact_results(source: Path, target: Path) -> None:
    """Copy a results file as the current schema (a schema-2 rebuild job shrinks ~10x); same rows back."""
    _dump(target, *_current(source))


class UnreadableResults(ValueError):
    """A results file that is damaged (truncated, not JSON, no rows), unlike one of another schema version."""


def _load(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableResults(f"unreadable results file {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise UnreadableResults(f"{path} holds no result rows")
    if doc.get("schema") not in READABLE_SCHEMAS:
        raise ValueError(f"{path} has results schema {doc.get('schema')!r}; this version reads schemas "
                         f"{', '.join(map(str, READABLE_SCHEMAS))}")
    doc.setdefault("run", {})
    return doc


def _set_name(row: dict) -> str:
    return row.get("eval_set") or row["eval_data"]


def _named(rows: list[dict]) -> list[dict]:
    """Rows that all name their evaluation set (schema-1 rows take their run's ``eval_data``)."""
    return [{**r, "eval_set": _set_name(r)} for r in rows]


def _sets(doc: dict) -> dict[str, dict]:
    """Each evaluation set's own columns; rows of schemas 1 and 2 carry them on every row (schema 1: one set,
    named by the run's ``eval_data``)."""
    if "sets" in doc:
        return dict(doc["sets"])
    run, sets = doc["run"], {}
    for r in doc.get("rows") or []:
        sets.setdefault(_set_name(r), {k: v for k, v in r.items()
                                       if k not in ROW_COLUMNS and k not in run and k != "schema"})
    return sets


def _current(path: Path) -> tuple[dict, dict[str, dict], list[dict]]:
    """A results file of any schema, parsed once, as what :func:`_dump` writes: run keys, set columns, rows."""
    doc = _load(path)
    return doc["run"], _sets(doc), _named(_rows(doc, path))


def read_results(path: Path) -> list[dict]:
    """The tidy rows of a results file, each with the run's keys and its set's columns. Schema-1 rows (one
    evaluation set per job) have no ``eval_set``: their set is ``eval_data``; an older file read back and
    written again (:func:`rewrite_results`, :func:`compact_results`) names it."""
    return _rows(_load(path), path)


def _rows(doc: dict, path: Path) -> list[dict]:
    if doc["schema"] != SCHEMA_VERSION:
        rows = doc.get("rows")
        if not isinstance(rows, list) or not rows:
            raise UnreadableResults(f"{path} holds no result rows")
        return rows
    columns, run, sets = doc.get("columns"), doc["run"], doc.get("sets") or {}
    if (not isinstance(columns, dict) or set(columns) != set(ROW_COLUMNS) or not columns["value"]
            or len({len(v) for v in columns.values()}) != 1):
        raise UnreadableResults(f"{path} holds no result rows (or columns of unequal length)")
    n = len(columns["value"])
    return [{"schema": SCHEMA_VERSION, **{k: columns[k][i] for k in ROW_COLUMNS},
             **sets.get(columns["eval_set"][i], {}), **run} for i in range(n)]
