"""Progress bars on long work (tqdm on stderr). SHORTCUTBENCH_PROGRESS=0 turns them off."""
from __future__ import annotations

import os
from typing import Iterable, Optional, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def enabled() -> bool:
    return os.environ.get("SHORTCUTBENCH_PROGRESS", "1") != "0"


def progress(it: Iterable[T], desc: str, total: Optional[int] = None, leave: bool = False) -> Iterable[T]:
    return tqdm(it, desc=desc, total=total, leave=leave, disable=not enabled(), dynamic_ncols=True, mininterval=0.5)
