"""One small registry for every extension point: batching strategies, model sources, dataset formats.

    STRATEGIES = Registry("batching")          # the config key that chooses an entry

    @STRATEGIES.register("mono")
    class MonoBatches(...): ...

    STRATEGIES.get("mono")                     # unknown names fail naming the key and the choices
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, key: str):
        self.key = key  # e.g. "batching" or "model.source": named in the error for an unknown entry
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.key}: {name!r} is registered twice")
            self._entries[name] = entry
            if isinstance(entry, type):
                entry.name = name
            return entry
        return add

    def get(self, name: str) -> T:
        if name not in self._entries:
            close = difflib.get_close_matches(str(name), list(self._entries), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{self.key}={name!r} is unknown{hint}; choose one of {sorted(self._entries)}")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
