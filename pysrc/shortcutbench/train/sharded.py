"""Extended-set training sharded by index range over a torch.distributed (gloo) group.

Each rank runs lt_extended over its contiguous slice [lo, hi) of the index space; the sums
(loss, gradient, number correct) are all-reduced with SUM and the minimum margin with MIN, so
every rank takes the same Adam step as a single process would. Launch:

    torchrun --nproc_per_node=2 -m shortcutbench.train.sharded --value-set corners --steps 5 --out r.json
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence, Tuple

import torch


def shard_range(n: int, rank: int, world: int) -> Tuple[int, int]:
    """Contiguous, balanced split of [0, n): the first n % world ranks take one extra sample."""
    q, r = divmod(n, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)


def allreduce_pass(loss, gw, gb, correct, margin):
    import torch.distributed as dist

    sums = torch.cat([loss.reshape(1), gw.flatten(), gb.flatten(), correct.double().reshape(1)])
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)  # float64: counts below 2^53 stay exact
    dist.all_reduce(margin, op=dist.ReduceOp.MIN)
    k2 = gw.numel()
    return (sums[0], sums[1:1 + k2].view_as(gw), sums[1 + k2:3 + k2], sums[-1].round().to(torch.int64), margin)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import torch.distributed as dist

    from ..data.lt import extended_spec, toy_dataset
    from .extended_set import ExtendedTrainConfig, train_extended

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="lt")
    p.add_argument("--value-set", default="corners")
    p.add_argument("--eps", type=float, default=0.41)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="rank 0 writes the trained filters and history as JSON")
    args = p.parse_args(argv)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    data = toy_dataset(args.dataset)
    spec = extended_spec(data, args.eps, args.value_set)
    res = train_extended(spec, ExtendedTrainConfig(max_steps=args.steps, seed=args.seed), kernel=data.kernel,
                         shard=shard_range(spec.size, rank, world), reduce=allreduce_pass)
    if rank == 0 and args.out:
        with open(args.out, "w") as f:
            json.dump({"world": world, "filters": res.model.filters.detach().tolist(), "history": res.history}, f)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
