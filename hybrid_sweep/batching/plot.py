"""A picture of what a batching strategy does: the languages of each of the first N batches.

    python -m hybrid_sweep.batching.plot batching=hybrid langs=7 [--batches 60] [--out fig.png]

Any Hydra override of the run applies (``batching.alpha=0.3``, ``group=diverse``, ...): the figure is built
from the sampler ``training.plan.plan`` builds, so it shows exactly what that run trains on.
"""
from __future__ import annotations

import argparse
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hybrid_sweep.batching.base import BatchStrategy
from hybrid_sweep.batching.composition import language_counts, sample_composition, summarize, with_negatives

KIND_COLOURS = {"mono": "#303030", "cross": "#d0d0d0", "bitext": "#f2c14e"}
LEGEND_LANGS = 15  # past this many languages the legend names the largest shares and counts the rest


def language_colours(languages: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A colour per language that depends only on the set of languages, so figures of runs over the same
    languages compare at a glance. Up to 20: the tab10 then tab20 hues; past that, ``turbo`` sampled evenly
    (distinct up to its 256 entries) and dealt out with a stride, so neighbours in the stack differ in hue."""
    langs = sorted(set(languages))
    n = len(langs)
    if n <= 20:
        tab = colormaps["tab20"].colors
        palette = (tab[::2] + tab[1::2])[:n]  # the even entries are tab10; the odd ones their light twins
    else:
        even = colormaps["turbo"](np.linspace(0, 1, n))
        step = next(s for s in range(round(n * 0.382), n) if math.gcd(s, n) == 1)  # ~ golden section
        palette = [tuple(even[i * step % n]) for i in range(n)]
    return dict(zip(langs, palette))


def _shares(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Share of each batch per language of ``column``: one column per language present, in code order."""
    counts = table.groupby(["batch", column]).size().unstack(fill_value=0).sort_index(axis=1)
    return counts.div(counts.sum(axis=1), axis=0)


def _legend_handles(counts: pd.Series, colours: dict) -> list[Patch]:
    """Every language up to ``LEGEND_LANGS``; past that the largest shares and one entry for the rest
    (the bars still draw every language)."""
    if len(counts) <= LEGEND_LANGS:
        return [Patch(color=colours[l], label=l) for l in counts.index]
    top = counts.sort_values(ascending=False, kind="stable").index[: LEGEND_LANGS - 1]
    rest = len(counts) - len(top)
    return ([Patch(color=colours[l], label=l) for l in sorted(top)]
            + [Patch(facecolor="none", edgecolor="#808080", label=f"other ({rest} languages)")])


def _lang_list(languages: Sequence[str], shown: int = 12) -> str:
    """A title-sized list: all codes when few, else the count and the first and last codes."""
    if len(languages) <= shown:
        return ",".join(languages)
    return f"{len(languages)} languages ({','.join(languages[:3])},...,{languages[-1]})"


def composition_figure(table: pd.DataFrame, title: str) -> Figure:
    """Aligned strips over the batches: pair kinds (mono / cross / bitext), query languages, passage
    languages and, with hard negatives (a ``negative_lang`` column), the negatives' languages, each as the
    share of the batch. Every language present is drawn; each stack segment is a ``BarContainer``
    labelled with its language."""
    counts = language_counts(table)
    colours = language_colours(set(counts.index) | set(table.get("negative_lang", ())))
    n = int(table.batch.max()) + 1
    x = np.arange(n)
    strips = [("query_lang", "query"), ("passage_lang", "passage")]
    if "negative_lang" in table:
        strips.append(("negative_lang", "hard negative"))
    fig = Figure(figsize=(min(max(9.0, 0.16 * n + 3), 20), 2.0 + 2.2 * len(strips)))
    axes = fig.subplots(1 + len(strips), 1, sharex=True,
                        gridspec_kw={"height_ratios": [1] + [2.4] * len(strips), "hspace": 0.25})
    kinds = pd.DataFrame({"mono": table.mono, "cross": ~table.mono & ~table.bitext, "bitext": table.bitext,
                          "batch": table.batch}).groupby("batch").mean()
    bottom = np.zeros(n)
    for kind, colour in KIND_COLOURS.items():
        axes[0].bar(x, kinds[kind], bottom=bottom, width=0.9, color=colour, label=f"{kind} pairs")
        bottom += kinds[kind].to_numpy()
    axes[0].set_ylabel("kind", fontsize=9)
    for ax, (column, label) in zip(axes[1:], strips):
        shares, bottom = _shares(table, column), np.zeros(n)
        for lang in shares.columns:
            ax.bar(x, shares[lang], bottom=bottom, width=0.9, color=colours[lang], label=lang)
            bottom += shares[lang].to_numpy()
        ax.set_ylabel(label, fontsize=9)
        ax.set_title(f"share of the batch by {label} language", fontsize=8, loc="left", pad=2)
    for ax in axes:
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.tick_params(labelsize=8)
        ax.margins(x=0.005)
    axes[-1].set_xlabel("batch")
    axes[0].set_title("share of the batch by pair kind", fontsize=8, loc="left", pad=2)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.005, 1.15), fontsize=8, frameon=False)
    axes[1].legend(handles=_legend_handles(counts, colours), loc="upper left", bbox_to_anchor=(1.005, 1.0),
                   fontsize=8, frameon=False, title=f"language ({len(counts)})", title_fontsize=8)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    fig.subplots_adjust(left=0.06, right=0.86, top=0.87, bottom=0.08)
    return fig


def sampler_figure(sampler: BatchStrategy, n_batches: int = 60, negatives=None) -> Figure:
    """The composition figure of a sampler's first ``n_batches`` (this rank's slice), titled with its config;
    with the job's hard ``negatives``, their languages too."""
    table = with_negatives(sample_composition(sampler, n_batches), sampler.space, negatives)
    s = summarize(table)
    options = f", alpha={sampler.alpha}" if hasattr(sampler, "alpha") else ""
    options += ", same_pair" if getattr(sampler, "same_pair", False) else ""
    options += f", bitext {sampler.bitext_slots}/batch" if sampler.bitext_slots else ""
    options += f", {negatives.k} {negatives.miner} negatives/pair ({negatives.language})" if negatives else ""
    title = (f"batching={sampler.name}{options}  |  train_langs={_lang_list(sampler.space.languages)}  |  "
             f"batch {sampler.batch_size}\nfirst {s['batches']} batches: {s['mono_pair_fraction']:.0%} mono pairs, "
             f"{s['languages_per_batch']:.1f} languages per batch, {s['bitext_fraction']:.0%} bitext pairs")
    return composition_figure(table, title)


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m hybrid_sweep.batching.plot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the run config, e.g. batching=hybrid langs=7")
    parser.add_argument("--batches", type=int, default=60, help="how many batches to draw (default 60)")
    parser.add_argument("--out", type=Path, help="PNG path (default outputs/batching/<overrides>.png)")
    args = parser.parse_args(argv)

    from hydra import compose, initialize_config_dir

    from hybrid_sweep.paths import CONFIG_DIR, PROJECT_ROOT
    from hybrid_sweep.training.plan import plan

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(args.overrides))
    out = args.out or PROJECT_ROOT / "outputs" / "batching" / f"{','.join(args.overrides) or 'default'}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(figure_png(sampler_figure(plan(cfg).sampler, args.batches)))
    print(out)
    return out


if __name__ == "__main__":
    main()
