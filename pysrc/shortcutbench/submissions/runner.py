"""``shortcutbench submit``: run the frozen protocol preset of every chosen track on a validated
submission, one subprocess per track under a time limit, through ``Track.evaluate`` (the code
path zoo models take).

Resumable: each (track, submission) record has an id known before the run (track, model,
profile, protocol, data fingerprint, submission hash); a stored id is skipped, and the worker
stores its record in one transaction as soon as it exists, so an interrupted run continues where
it stopped and nothing is stored twice (DomainBed's sweep keeps a ``done`` marker per job for the
same reason, research/shortcut.md §1).
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..results.record import Record, make_record
from ..tracks.base import RunContext, Track
from .format import Submission

WORKER = "shortcutbench.submissions.worker"


def protocol_of(track: Track, ctx: RunContext) -> tuple:
    """(protocol name, protocol as a dict, data fingerprint) of the track's preset for ctx.profile."""
    preset = track.protocol(ctx)
    name = getattr(preset, "name", f"{track.name}.{ctx.profile}")
    as_dict = dataclasses.asdict(preset) if dataclasses.is_dataclass(preset) else {}
    return name, as_dict, _data_fingerprint(preset, ctx)


def _data_fingerprint(preset: Any, ctx: RunContext) -> str:
    from ..data import ColoredMNISTConfig
    from ..tracks.common import colored_mnist

    data = getattr(preset, "data", None)
    return colored_mnist(ctx.mnist_dir, data).fingerprint if isinstance(data, ColoredMNISTConfig) else "-"


def submission_record(track: Track, sub: Submission, ctx: RunContext, metrics: Dict[str, Any],
                      wall_time_s: float = 0.0) -> Record:
    """The record of ``sub`` on ``track``; with empty metrics it already has its final record_id."""
    name, protocol, fingerprint = protocol_of(track, ctx)
    card = sub.card()
    metrics = {**metrics, "uses_group_labels": card["uses_group_labels"], "uses_color_labels": card["uses_color_labels"]}
    config = {"protocol": protocol, "options": dict(ctx.options), "submission": card}
    return make_record(track.name, sub.model_id, 0, ctx.profile, name, metrics, config, fingerprint, wall_time_s)


def worker_command(sub: Submission, track: str, ctx: RunContext) -> List[str]:
    cmd = [sys.executable, "-m", WORKER, str(sub.root), track, "--profile", ctx.profile, "--out", str(ctx.out_dir),
           "--hash", sub.hash]
    if ctx.mnist_dir:
        cmd += ["--mnist-dir", ctx.mnist_dir]
    for k, v in sorted(ctx.options.items()):
        cmd += ["--set", f"{k}={v}"]
    return cmd


def run_submission(sub: Submission, track_names: Sequence[str], ctx: RunContext, time_limit_s: float,
                   log=print) -> List[str]:
    """Evaluate every track not yet stored; returns the tracks that failed (empty on success)."""
    from ..results import Store
    from ..tracks import TRACKS
    from ..utils.progress import progress

    store = Store.in_dir(ctx.out_dir)
    failed = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                     os.environ.get("PYTHONPATH")]))}
    for name in progress(track_names, desc=f"submit {sub.model_id}"):
        track, tctx = TRACKS.get(name)(), ctx.for_track(name)
        rid = submission_record(track, sub, tctx, {}).record_id
        if store.has(rid):
            log(f"{name}: already stored (record {rid}), skipped")
            continue
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(worker_command(sub, name, tctx), env=env, timeout=time_limit_s)
        except subprocess.TimeoutExpired:
            log(f"{name}: stopped after the time limit of {time_limit_s:g} s; nothing stored")
            failed.append(name)
            continue
        if proc.returncode != 0 or not store.has(rid):
            log(f"{name}: evaluation failed (exit {proc.returncode}); nothing stored")
            failed.append(name)
            continue
        log(f"{name}: stored record {rid} in {time.perf_counter() - t0:.0f} s")
    return failed


def evaluate_in_process(sub: Submission, track_name: str, ctx: RunContext, expected_hash: Optional[str] = None) -> Record:
    """What the worker does: load, evaluate through Track.evaluate, check the weights did not move."""
    from ..errors import UsageError
    from ..tracks import TRACKS
    from .format import load_model
    from .validate import changed_tensors, state_fingerprint

    if expected_hash is not None and sub.hash != expected_hash:
        raise UsageError(f"submission {str(sub.root)!r} changed on disk during the run (hash {sub.hash}, "
                         f"expected {expected_hash})")
    track, ctx = TRACKS.get(track_name)(), ctx.for_track(track_name)
    model = load_model(sub)
    before = state_fingerprint(model)
    t0 = time.perf_counter()
    metrics = dict(track.evaluate(model, ctx))
    changed = changed_tensors(model, before)
    if changed:
        raise UsageError(f"submission {str(sub.root)!r}: model changed its weights during the {track_name} "
                         f"evaluation ({', '.join(changed[:3])})")
    return submission_record(track, sub, ctx, metrics, time.perf_counter() - t0)


def run_submission_distributed(sub: Submission, track_names: Sequence[str], ctx: RunContext, main_rank: bool,
                               log=print) -> bool:
    """Under torchrun: every process evaluates each track (each its shard of every evaluation set,
    see utils.distributed); rank 0 stores. Returns main_rank. No per-track subprocess or time limit."""
    from ..results import Store
    from ..tracks import TRACKS

    store = Store.in_dir(ctx.out_dir)
    ids = {name: submission_record(TRACKS.get(name)(), sub, ctx.for_track(name), {}).record_id for name in track_names}
    todo = [name for name in track_names if not store.has(ids[name])]  # decided before rank 0 writes anything
    for name in track_names:
        rid = ids[name]
        if name not in todo:
            if main_rank:
                log(f"{name}: already stored (record {rid}), skipped")
            continue
        record = evaluate_in_process(sub, name, ctx)
        if main_rank:
            store.put([record])
            log(f"{name}: stored record {rid} in {record.wall_time_s:.0f} s")
    return main_rank
