"""Benchmarks: each ``python -m hybrid_sweep.bench.<name>`` measures one cost and writes it to
``experiments/benchmarks/<name>.json``."""
from __future__ import annotations

import json
from pathlib import Path


def write_result(path: Path, result: dict) -> None:
    """The bench's JSON, indented, where the README quotes it from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
