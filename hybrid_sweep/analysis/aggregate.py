"""Results files of one or more sweeps -> one pandas DataFrame -> tables and plots (never reads W&B).

``python -m hybrid_sweep.analysis.aggregate outputs/<sweep> [more dirs]`` prints the headline table (mean ± std
over seeds, n), reports jobs of the sweep that have no results, and writes ``aggregate.csv`` (every row),
``summary.csv`` (per configuration and setting: mean, std, n, 95% CI), ``scaling.png`` and the typology
analysis (``distance_correlation.csv``, ``distance_scatter.png``: cross-lingual mAP per pair vs URIEL
distance; ``transfer_*``: each evaluation language's gain over zero-shot vs its distance to the training
languages) into the first directory (or ``--out``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_sweep.analysis.summary import aggregate, format_table


class AggregateOnMultirunEnd:
    """Hydra callback: print the table as soon as a multirun finishes."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if any(sweep_dir.rglob("results.json")):
            table = aggregate([sweep_dir])
            print(f"\nmAP (macro-averaged) for sweep {sweep_dir}:\n{format_table(table)}\n", flush=True)

    def __getattr__(self, name):  # the other Hydra callback hooks are no-ops
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", help="sweep (or job) directories holding results.json files")
    parser.add_argument("--out", help="where to write the CSVs and plot (default: the first dir)")
    args = parser.parse_args(argv)
    print(format_table(aggregate(args.dirs, args.out)))


if __name__ == "__main__":
    main()
