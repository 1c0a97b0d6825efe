"""Paired comparison of two finished jobs on the same evaluation queries, from their per-query files.

``python -m hybrid_sweep.analysis.compare JOB_A JOB_B [--setting multi] [--metric map] [--stage trained]`` prints
``A - B`` (macro over languages / pairs, as the headline numbers), its paired-bootstrap 95% CI and a
sign-flip randomisation p-value; units are parallel question ids.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_sweep.analysis.paired import compare_jobs


def signed(x: float) -> str:
    """A difference with enough digits to be told from zero (``+3.2e-05``, not ``+0.0000``)."""
    return f"{x:+.4f}" if x == 0 or abs(x) >= 1e-3 else f"{x:+.2e}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job_a", type=Path)
    parser.add_argument("job_b", type=Path)
    parser.add_argument("--setting", default="multi", choices=["mono", "cross", "multi"])
    parser.add_argument("--metric", default="map")
    parser.add_argument("--stage-a", default="trained", choices=["trained", "zero_shot"])
    parser.add_argument("--stage-b", default="trained", choices=["trained", "zero_shot"])
    args = parser.parse_args(argv)
    try:
        t = compare_jobs(args.job_a, args.job_b, args.setting, args.metric, args.stage_a, args.stage_b)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"{args.setting} {args.metric}: A - B = {signed(t.diff)}  95% CI [{signed(t.low)}, {signed(t.high)}]  "
          f"p = {t.p_value:.4f}  ({t.n_units} question ids)")


if __name__ == "__main__":
    main()
