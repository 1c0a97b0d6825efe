"""The names the rebuild (#17) gives its designs and comparisons. The paired tables store them as text, and
the answer reads budgets and comparison kinds back from that text, so the builders and their readers live
together here: change a name in one place and both sides follow."""
from __future__ import annotations

import re

import pandas as pd

STEPS_PER_LANGUAGE = 12  # the per-language design trains 12 steps per training language
PER_LANGUAGE = f"per-language, {STEPS_PER_LANGUAGE} steps a language"
_AGAINST_ONE = " − mono at 1"


def total_design(steps: int) -> str:
    """The total-budget design at ``steps`` (the same steps at every count)."""
    return f"total, {steps} steps"


def typology_design(steps: int) -> str:
    return f"typology, {steps} steps"


def against_one(batching: str, langs: int) -> str:
    """A count's strategy against one language (mono batches)."""
    return f"{batching} at {langs}{_AGAINST_ONE}"


def past_two(batching: str, langs: int) -> str:
    """A strategy at ``langs`` against itself at two languages."""
    return f"{batching} at {langs} − {batching} at 2"


def hybrid_against(rival: str, langs: int) -> str:
    return f"hybrid − {rival} at {langs}"


def diverse_similar(batching: str) -> str:
    return f"diverse − similar, {batching}"


def is_against_one(comparisons: pd.Series) -> pd.Series:
    return comparisons.str.endswith(_AGAINST_ONE)


def is_past_two(comparisons: pd.Series) -> pd.Series:
    return comparisons.str.fullmatch(r"(\w+) at \d+ − \1 at 2")


def is_hybrid_against(comparisons: pd.Series) -> pd.Series:
    return comparisons.str.fullmatch(r"hybrid − (mono|cross) at \d+")


def design_steps(design: str) -> int:
    """The steps a design names (``total, 24 steps`` -> 24; the per-language design -> its steps a language)."""
    return int(re.search(r"(\d+) steps", design).group(1))


def design_order(design: str) -> tuple[bool, int]:
    """Total-budget designs first, by budget; then the per-language design."""
    return design == PER_LANGUAGE, design_steps(design)


def budget_label(design: str, batch_size: int) -> str:
    """``total, 24 steps`` -> ``768 pairs``; the per-language design -> ``384 pairs a language``."""
    return f"{design_steps(design) * batch_size:,} pairs" + (" a language" if design == PER_LANGUAGE else "")
