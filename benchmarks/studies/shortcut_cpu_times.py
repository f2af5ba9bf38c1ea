"""CPU seconds (one thread) of one full-profile shortcut row per method, for planning the full
run: the main row (training with per-epoch evaluation + final scoring, as the track does) and a
ρ-sweep row (training without per-epoch evaluation + scoring). Uses a throw-away zoo cache.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/studies/shortcut_cpu_times.py [--methods a b ...]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", nargs="+", default=None)
    ap.add_argument("--sweep-rho", type=float, default=0.99)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.environ["SHORTCUTBENCH_CACHE"] = tempfile.mkdtemp(prefix="sb-cpu-times-")
    from shortcutbench.tracks import RunContext
    from shortcutbench.tracks.common import colored_mnist
    from shortcutbench.tracks.shortcut import PROTOCOLS, ShortcutTrack, zoo_spec

    protocol = PROTOCOLS["full"]
    ctx = RunContext(profile="full", seeds=None, mnist_dir=None, out_dir=Path(tempfile.mkdtemp()), options={})
    track = ShortcutTrack()
    main_data = colored_mnist(None, protocol.data)
    sweep_data = colored_mnist(None, replace(protocol.data, rho=args.sweep_rho))
    for method in args.methods or protocol.methods:
        row = {"method": method}
        for kind, data, history, tag in (("main", main_data, True, ""), ("sweep", sweep_data, False, "timing")):
            c0, t0 = time.process_time(), time.perf_counter()
            rec = track._train_and_score(ctx, protocol, data, zoo_spec(protocol, method, 0, tag=tag), history=history,
                                         rho=None if history else args.sweep_rho)
            row[f"{kind}_cpu_s"] = round(time.process_time() - c0, 1)
            row[f"{kind}_wall_s"] = round(time.perf_counter() - t0, 1)
            row[f"{kind}_hard_acc"] = rec.metrics["hard_acc"]
        row["load_avg"] = os.getloadavg()[0]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
