"""The seeded article-level split of a LAReQA set: training and evaluation share no article."""
from __future__ import annotations

import random
from collections.abc import Mapping

from hybrid_sweep.data.lareqa import LareqaLanguage


def article_split(files: Mapping[str, LareqaLanguage], split: Mapping, key: str) -> tuple[set[str], set[str]]:
    """(training articles, held-out articles) for ``split = {seed, held_out}``; articles are numbered by
    position, so the split is the same in every language of a parallel set."""
    article_ids = sorted({q.article for f in files.values() for q in f.questions})
    held = split["held_out"]
    if not 0 < held < len(article_ids):
        raise ValueError(f"data.eval_articles={held} must be between 1 and {len(article_ids) - 1} "
                         f"(the articles of {key})")
    shuffled = article_ids[:]
    random.Random(split["seed"]).shuffle(shuffled)
    return set(shuffled[held:]), set(shuffled[:held])
