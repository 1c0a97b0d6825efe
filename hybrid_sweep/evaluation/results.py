"""The tidy, long-format result rows every run writes; aggregation reads only these."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SCHEMA_VERSION = 2  # 2: every row names its evaluation set (``eval_set``); 1 is read as one set


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


def headline(rows: Iterable[ResultRow]) -> dict[str, float]:
    """What a job reports in one line: ``<setting>_<metric>`` of the macro rows for mAP and language bias."""
    return {f"{r.setting}_{r.metric}": r.value for r in rows
            if r.query_lang == "all" and r.metric in HEADLINE_METRICS}


def stage_rows(rows: Iterable[dict], stage: str, eval_set: str | None = None) -> list[ResultRow]:
    """The ``ResultRow``s of one stage (and evaluation set) from rows read back by :func:`read_results`."""
    names = [f.name for f in fields(ResultRow)]
    return [ResultRow(**{n: r.get(n) for n in names}) for r in rows
            if r["stage"] == stage and (eval_set is None or r.get("eval_set", r.get("eval_data")) == eval_set)]


def write_results(path: Path, rows_by_stage: dict[tuple[str, str], list[ResultRow]], run: dict,
                  set_info: dict[str, dict] | None = None) -> None:
    """Atomically write ``results.json``: one row per (stage, evaluation set, setting, langs, metric), run keys
    on every row. ``rows_by_stage`` is keyed by (stage, evaluation set name); ``set_info`` adds columns per
    evaluation set (e.g. how many texts its length limits cut)."""
    set_info = set_info or {}
    rows = [{"schema": SCHEMA_VERSION, "stage": stage, "eval_set": eval_set, **asdict(r),
             **set_info.get(eval_set, {}), **run}
            for (stage, eval_set), stage_rows in rows_by_stage.items() for r in stage_rows]
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "run": run, "rows": rows}, separators=(",", ":")))
    os.replace(tmp, path)


def rewrite_results(path: Path, rows_by_stage: dict[tuple[str, str], list[ResultRow]], set_info: dict) -> None:
    """Append the rows of one more evaluation set to a finished job's ``results.json`` (atomically; the
    existing rows are kept as they are). ``set_info`` holds that set's columns."""
    doc = json.loads(Path(path).read_text())
    run = doc["run"]
    new = [{"schema": SCHEMA_VERSION, "stage": stage, "eval_set": eval_set, **asdict(r), **set_info, **run}
           for (stage, eval_set), stage_rows in rows_by_stage.items() for r in stage_rows]
    tmp = path.with_suffix(".json.tmp")
    # schema-1 rows keep no eval_set; readers take it as the run's eval_data
    tmp.write_text(json.dumps({**doc, "schema": SCHEMA_VERSION, "rows": doc["rows"] + new}, separators=(",", ":")))
    os.replace(tmp, path)


class UnreadableResults(ValueError):
    """A results file that is damaged (truncated, not JSON, no rows), unlike one of another schema version."""


def read_results(path: Path) -> list[dict]:
    """Rows of a results file; schema-1 rows (one evaluation set per job) have no ``eval_set``: their set is ``eval_data``."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableResults(f"unreadable results file {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list) or not doc["rows"]:
        raise UnreadableResults(f"{path} holds no result rows")
    schema = doc.get("schema")
    if schema not in (1, SCHEMA_VERSION):
        raise ValueError(f"{path} has results schema {schema!r}; this version reads schemas 1 and {SCHEMA_VERSION}")
    return doc["rows"]
