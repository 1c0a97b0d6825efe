"""A picture of what a batching strategy does: the languages of each of the first N batches.

    python -m hybrid_sweep.batching.plot batching=hybrid langs=7 [--batches 60] [--out fig.png]

Any Hydra override of the run applies (``batching.alpha=0.3``, ``group=diverse``, ...): the figure is built
from the sampler ``run.plan`` builds, so it shows exactly what that run trains on.
"""
from __future__ import annotations

import argparse
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hybrid_sweep.batching.base import BatchStrategy
from hybrid_sweep.batching.composition import sample_composition, summarize
from hybrid_sweep.languages import XQUAD_LANGS

# one fixed colour per language, so figures of different runs compare at a glance
LANG_COLOURS = dict(zip(XQUAD_LANGS, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                      "#e377c2", "#17becf", "#bcbd22", "#637939", "#393b79"]))
KIND_COLOURS = {"mono": "#303030", "cross": "#d0d0d0", "bitext": "#f2c14e"}  # greys: no language uses them


def _shares(table: pd.DataFrame, column: str, languages: Sequence[str]) -> pd.DataFrame:
    counts = table.groupby(["batch", column]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[l for l in languages if l in counts.columns])
    return counts.div(counts.sum(axis=1), axis=0)


def composition_figure(table: pd.DataFrame, title: str) -> Figure:
    """Three aligned strips over the batches: pair kinds (mono / cross / bitext), query languages and
    passage languages, each as the share of the batch."""
    languages = [l for l in XQUAD_LANGS if l in set(table.query_lang) | set(table.passage_lang)]
    n = int(table.batch.max()) + 1
    x = np.arange(n)
    fig = Figure(figsize=(min(max(9.0, 0.16 * n + 3), 20), 6.4))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2.4, 2.4], "hspace": 0.25})
    kinds = pd.DataFrame({"mono": table.mono, "cross": ~table.mono & ~table.bitext, "bitext": table.bitext,
                          "batch": table.batch}).groupby("batch").mean()
    bottom = np.zeros(n)
    for kind, colour in KIND_COLOURS.items():
        axes[0].bar(x, kinds[kind], bottom=bottom, width=0.9, color=colour, label=f"{kind} pairs")
        bottom += kinds[kind].to_numpy()
    axes[0].set_ylabel("kind", fontsize=9)
    for ax, column, label in ((axes[1], "query_lang", "query"), (axes[2], "passage_lang", "passage")):
        shares, bottom = _shares(table, column, languages), np.zeros(n)
        for lang in shares.columns:
            ax.bar(x, shares[lang], bottom=bottom, width=0.9, color=LANG_COLOURS.get(lang, "#000000"))
            bottom += shares[lang].to_numpy()
        ax.set_ylabel(label, fontsize=9)
        ax.set_title(f"share of the batch by {label} language", fontsize=8, loc="left", pad=2)
    for ax in axes:
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.tick_params(labelsize=8)
        ax.margins(x=0.005)
    axes[2].set_xlabel("batch")
    axes[0].set_title("share of the batch by pair kind", fontsize=8, loc="left", pad=2)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.005, 1.15), fontsize=8, frameon=False)
    axes[1].legend(handles=[Patch(color=LANG_COLOURS.get(l, "#000000"), label=l) for l in languages],
                   loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False, title="language",
                   title_fontsize=8)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    fig.subplots_adjust(left=0.06, right=0.86, top=0.87, bottom=0.08)
    return fig


def sampler_figure(sampler: BatchStrategy, n_batches: int = 60) -> Figure:
    """The composition figure of a sampler's first ``n_batches`` (this rank's slice), titled with its config."""
    table = sample_composition(sampler, n_batches)
    s = summarize(table)
    options = f", alpha={sampler.alpha}" if hasattr(sampler, "alpha") else ""
    options += ", same_pair" if getattr(sampler, "same_pair", False) else ""
    options += f", bitext {sampler.bitext_slots}/batch" if sampler.bitext_slots else ""
    title = (f"batching={sampler.name}{options}  |  train_langs={','.join(sampler.space.languages)}  |  "
             f"batch {sampler.batch_size}\nfirst {s['batches']} batches: {s['mono_pair_fraction']:.0%} mono pairs, "
             f"{s['languages_per_batch']:.1f} languages per batch, {s['bitext_fraction']:.0%} bitext pairs")
    return composition_figure(table, title)


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def log_composition(logger, sampler: BatchStrategy, n_batches: int = 60, key: str = "batching/composition") -> None:
    """Log the composition figure to a Lightning ``WandbLogger`` (nothing without a logger)."""
    if logger is None:
        return
    from PIL import Image

    image = Image.open(io.BytesIO(figure_png(sampler_figure(sampler, n_batches))))
    logger.log_image(key=key, images=[image], caption=[f"batching={sampler.name}: first {n_batches} batches"])


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m hybrid_sweep.batching.plot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the run config, e.g. batching=hybrid langs=7")
    parser.add_argument("--batches", type=int, default=60, help="how many batches to draw (default 60)")
    parser.add_argument("--out", type=Path, help="PNG path (default outputs/batching/<overrides>.png)")
    args = parser.parse_args(argv)

    from hydra import compose, initialize_config_dir

    from hybrid_sweep.paths import CONFIG_DIR, PROJECT_ROOT
    from hybrid_sweep.run import plan

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(args.overrides))
    out = args.out or PROJECT_ROOT / "outputs" / "batching" / f"{','.join(args.overrides) or 'default'}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(figure_png(sampler_figure(plan(cfg).sampler, args.batches)))
    print(out)
    return out


if __name__ == "__main__":
    main()
