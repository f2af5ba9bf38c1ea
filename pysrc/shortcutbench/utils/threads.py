"""Run a block with one intra-op thread: tiny tensors (8 images of 4×4) gain nothing from
OpenMP, and on a shared, oversubscribed machine every parallel region's barrier can cost a
scheduler slice (measured: PGD on the 8 L-T images 18 s with 2 threads vs 0.8 s with 1)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
