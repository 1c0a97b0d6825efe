"""The DataModule: the pair space, this rank's batch sampler and the tokenising collate."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from hybrid_sweep.batching import BatchStrategy, PairSpace
from hybrid_sweep.model import BiEncoder
from hybrid_sweep.negatives import HardNegatives


class PairDataset(Dataset):
    """Pair indices to texts; with hard negatives, each pair carries its ``k`` negatives."""

    def __init__(self, space: PairSpace, negatives: HardNegatives | None = None):
        self.space, self.negatives = space, negatives

    def __len__(self) -> int:
        return len(self.space)

    def __getitem__(self, index: int):
        pair = self.space.pair(index)
        if self.negatives is None:
            return pair
        return replace(pair, negatives=self.negatives.for_pair(self.space, index))


class PairCollate:
    """Tokenises a batch of pairs with the model's prefixes (dynamic padding to the batch's longest)."""

    def __init__(self, model: BiEncoder):
        self.model = model

    def __call__(self, pairs) -> dict:
        batch = {
            "query": self.model.tokenize([p.query for p in pairs], "query"),
            "passage": self.model.tokenize([p.passage for p in pairs], "passage"),
            "mono": torch.tensor([p.query_lang == p.passage_lang for p in pairs]),
        }
        negatives = [n for p in pairs for n in p.negatives]
        if negatives:  # pair by pair, k each: every rank holds the same number
            batch["negative"] = self.model.tokenize(negatives, "passage")
        return batch


class ResumableLoader(DataLoader):
    """A DataLoader Lightning checkpoints (it is ``_Stateful``): on resume mid-epoch, the batch sampler
    skips the batches already trained, so the resumed run sees exactly the batches of an uninterrupted one."""

    def __init__(self, *args, batches_done: Callable[[], int], **kwargs):
        super().__init__(*args, **kwargs)
        self.batches_done = batches_done

    def state_dict(self) -> dict:
        return {"epoch": self.batch_sampler.epoch, "batches_done": self.batches_done()}

    def load_state_dict(self, state: dict) -> None:
        self.batch_sampler.resume(state["epoch"], state["batches_done"])


class PairDataModule(pl.LightningDataModule):
    """Lightning calls ``set_epoch`` on the batch sampler each epoch, which reseeds it from ``(seed, epoch)``.

    Under DDP every rank must keep its own slice of each global batch, and the ranks are known only once
    the process group exists: ``setup`` then builds this rank's sampler with
    ``make_sampler(rank=, world_size=)`` (e.g. ``functools.partial(build_strategy, name, space, ...)``);
    ``sampler`` serves a single process.
    """

    def __init__(self, space: PairSpace, sampler: BatchStrategy, model: BiEncoder, num_workers: int = 0,
                 make_sampler: Callable[..., BatchStrategy] | None = None, negatives: HardNegatives | None = None):
        super().__init__()
        self.space, self.sampler, self.model, self.num_workers = space, sampler, model, num_workers
        self.make_sampler, self.negatives = make_sampler, negatives

    def setup(self, stage: str) -> None:
        rank, world = self.trainer.global_rank, self.trainer.world_size
        if (self.sampler.rank, self.sampler.world_size) == (rank, world):
            return
        if self.make_sampler is None:
            raise ValueError(f"training on {world} processes: PairDataModule needs make_sampler to give each "
                             f"rank its slice of the global batch (its sampler is for rank {self.sampler.rank} "
                             f"of {self.sampler.world_size})")
        self.sampler = self.make_sampler(rank=rank, world_size=world)

    def train_dataloader(self) -> DataLoader:
        loop = self.trainer.fit_loop.epoch_loop
        return ResumableLoader(PairDataset(self.space, self.negatives), batch_sampler=self.sampler, collate_fn=PairCollate(self.model),
                               num_workers=self.num_workers, batches_done=lambda: loop.batch_progress.current.processed,
                               # its own generator: creating an iterator must not draw from the global RNG that
                               # drives dropout, or a resumed run would diverge from an uninterrupted one
                               generator=torch.Generator().manual_seed(0))
