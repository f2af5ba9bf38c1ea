"""Sharded evaluation under ``torchrun`` (``--distributed``): each process evaluates every
world-size-th batch and all gather the results, so metrics are computed from exactly the logits
a single process computes (same batches, same order). gloo on CPU, NCCL on GPU."""
from __future__ import annotations

import os
from typing import Callable, List, Sequence, TypeVar

import torch
import torch.distributed as dist

from ..errors import UsageError

T = TypeVar("T")


def init_from_env() -> None:
    """Join the process group torchrun describes in the environment (no-op when already joined)."""
    if dist.is_initialized():
        return
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise UsageError("--distributed needs torchrun (e.g. torchrun --standalone --nproc-per-node 2 -m shortcutbench ...)")
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main() -> bool:
    return not active() or dist.get_rank() == 0


def shard_map(fn: Callable[..., T], items: Sequence) -> List[T]:
    """[fn(x) for x in items], items split round-robin over the processes, results in item order."""
    if not active():
        return [fn(x) for x in items]
    rank, world = dist.get_rank(), dist.get_world_size()
    mine = [(i, fn(x)) for i, x in enumerate(items) if i % world == rank]
    gathered: List = [None] * world
    dist.all_gather_object(gathered, mine)
    ordered = dict(pair for part in gathered for pair in part)
    return [ordered[i] for i in range(len(items))]
