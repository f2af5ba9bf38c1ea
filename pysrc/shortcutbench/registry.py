"""Name → entry registries (timm-style) used for models, methods, tracks, datasets, attacks.

One mechanism everywhere: ``@REG.register("name")`` records an entry, ``REG.get(name)`` fails with
a one-line :class:`UsageError` that lists what exists, ``REG.list("pat*")`` filters with fnmatch.
"""
from __future__ import annotations

import fnmatch
import warnings
from typing import Callable, Dict, Generic, Iterator, List, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                warnings.warn(f"{self.kind} {name!r} registered twice; the later one wins")
            self._entries[name] = entry
            return entry

        return deco

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UsageError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def list(self, pattern: str = "*") -> List[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)
