"""How much of each text an evaluation reads. Training length is a cost choice; evaluation length is part
of the benchmark protocol, so by default the evaluation reads as much as the model has positions for
(``eval.max_length.query`` / ``.passage`` override it) and every evaluation records how many texts a limit cut."""
from __future__ import annotations

from collections.abc import Mapping

from hybrid_sweep.data.records import RetrievalSet

ROLES = ("query", "passage")


def eval_lengths(model, requested: Mapping[str, int | None] | None = None) -> dict[str, int]:
    """Token limit per role: the requested one, else what the model can read (``BiEncoder.readable_length``)."""
    requested = requested or {}
    out = {}
    for role in ROLES:
        value = requested.get(role)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 2):
            raise ValueError(f"eval.max_length.{role} must be a number of tokens >= 2 or null (the model's "
                             f"{model.readable_length}), got {value!r}")
        out[role] = min(value, model.readable_length) if value is not None else model.readable_length
    return out


def length_report(model, rset: RetrievalSet, lengths: Mapping[str, int]) -> dict[str, int]:
    """Per role: texts, and how many are longer (in tokens, prefix and specials included) than the training
    length and than the evaluation length; these columns go on every result row of the set."""
    texts = {"query": sorted({q.text for q in rset.questions}), "passage": sorted({c.text for c in rset.candidates})}
    report: dict[str, int] = {}
    for role in ROLES:
        n = model.token_lengths(texts[role], role)
        report[f"{role}_max_length"] = lengths[role]
        report[f"{role}_texts"] = len(n)
        report[f"{role}_over_train_length"] = sum(k > model.max_length for k in n)
        report[f"{role}_over_eval_length"] = sum(k > lengths[role] for k in n)
    return report


def set_columns(model, rset: RetrievalSet, lengths: Mapping[str, int], precision: str = "fp32") -> dict:
    """The columns every result row of one evaluation set carries: what it retrieves (``task``: qa,
    translation...), the encoding precision and the ``length_report``."""
    return {"task": rset.task, "precision": precision, **length_report(model, rset, lengths)}
