"""One track on one submission, in its own process (started by ``shortcutbench submit``): a crash,
a hang or a memory blow-up ends this process, not the run. This process runs our code only; a
code submission's model runs in the sandboxed process it starts."""
from __future__ import annotations

import argparse
import sys

from ..errors import UsageError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m shortcutbench.submissions.worker")
    p.add_argument("dir")
    p.add_argument("track")
    p.add_argument("--profile", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--hash", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--program", default=None)
    p.add_argument("--time-limit", type=float, required=True)
    p.add_argument("--memory", type=int, required=True)
    p.add_argument("--mnist-dir", default=None)
    p.add_argument("--set", action="append", default=[])
    args = p.parse_args(argv)
    from .sandbox import die_with_starter

    die_with_starter()  # a killed `submit` leaves no worker hanging until its time limit
    from pathlib import Path

    from ..results import Store
    from ..tracks import RunContext
    from ..utils.config import parse_assignments
    from .format import read_submission
    from .runner import evaluate_track
    from .sandbox import Limits

    try:
        ctx = RunContext(profile=args.profile, mnist_dir=args.mnist_dir, out_dir=Path(args.out),
                         options=parse_assignments(args.set))
        record = evaluate_track(read_submission(args.dir), args.track, ctx, args.kind,
                                Path(args.program) if args.program else None,
                                Limits(time_s=args.time_limit, memory_bytes=args.memory), expected_hash=args.hash)
    except UsageError as exc:
        print(f"shortcutbench: error: {exc}", file=sys.stderr)
        return 2
    Store.in_dir(args.out).put([record])  # one transaction: the record is stored whole or not at all
    return 0


if __name__ == "__main__":
    sys.exit(main())
