"""``shortcutbench submit``: run the frozen protocol preset of every chosen track on a validated
submission, one process per track under a time limit, through ``Track.evaluate`` (the code
path zoo models take). That process is ours: a code submission's model runs in a sandboxed
process it starts (``remote.py``), and every metric is computed from checked outputs.

Resumable: each (track, submission) record has an id known before the run (track, model,
profile, protocol, data fingerprint, submission hash); a stored id is skipped, and the worker
stores its record in one transaction as soon as it exists, so an interrupted run continues where
it stopped and nothing is stored twice (DomainBed's sweep keeps a ``done`` marker per job for the
same reason, research/shortcut.md §1).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..results.record import Record, make_record
from ..tracks.base import RunContext, Track
from . import sandbox
from .checked import CheckedModel
from .format import KINDS, Submission, load_verified
from .program import load_program
from .sandbox import Limits
from .validate import Validated, weights_changed, weights_snapshot

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


def submission_record(track: Track, sub: Submission, ctx: RunContext, metrics: Dict[str, Any], kind: str,
                      wall_time_s: float = 0.0) -> Record:
    """The record of ``sub`` on ``track``; with empty metrics it already has its final record_id."""
    name, protocol, fingerprint = protocol_of(track, ctx)
    card = sub.card(kind)
    metrics = {**metrics, "uses_group_labels": card["uses_group_labels"], "uses_color_labels": card["uses_color_labels"]}
    config = {"protocol": protocol, "options": dict(ctx.options), "submission": card}
    return make_record(track.name, sub.model_id, 0, ctx.profile, name, metrics, config, fingerprint, wall_time_s)


def worker_command(v: Validated, track: str, ctx: RunContext, limits: Limits) -> List[str]:
    cmd = [sys.executable, "-m", WORKER, str(v.sub.root), track, "--profile", ctx.profile, "--out", str(ctx.out_dir),
           "--hash", v.sub.hash, "--kind", v.kind, "--time-limit", repr(limits.time_s),
           "--memory", str(limits.memory_bytes)]
    cmd += ["--program", str(v.program)] if v.program else []
    if ctx.mnist_dir:
        cmd += ["--mnist-dir", ctx.mnist_dir]
    for k, v_ in sorted(ctx.options.items()):
        cmd += ["--set", f"{k}={v_}"]
    return cmd


def run_submission(v: Validated, ctx: RunContext, limits: Limits, log=print) -> List[str]:
    """Evaluate every track not yet stored, each in its own process under the time limit (killed
    with every descendant past it); returns the tracks that failed (empty on success)."""
    from ..results import Store
    from ..tracks import TRACKS
    from ..utils.progress import progress

    store = Store.in_dir(ctx.out_dir)
    failed = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                     os.environ.get("PYTHONPATH")]))}
    for name in progress(v.tracks, desc=f"submit {v.sub.model_id}"):
        track, tctx = TRACKS.get(name)(), ctx.for_track(name)
        rid = submission_record(track, v.sub, tctx, {}, v.kind).record_id
        if store.has(rid):
            log(f"{name}: already stored (record {rid}), skipped")
            continue
        t0 = time.perf_counter()
        proc = sandbox.start(worker_command(v, name, tctx, limits), env)
        since = sandbox.start_ticks(proc.pid) or 0
        try:
            proc.wait(timeout=limits.time_s)
        except subprocess.TimeoutExpired:
            killed = sandbox.kill_tree(proc, since)
            log(f"{name}: stopped after the time limit of {limits.time_s:g} s; nothing stored "
                f"({len(killed)} process(es) killed)")
            failed.append(name)
            continue
        sandbox.kill_tree(proc, since)  # whatever it left behind
        if proc.returncode != 0 or not store.has(rid):
            log(f"{name}: evaluation failed (exit {proc.returncode}); nothing stored")
            failed.append(name)
            continue
        log(f"{name}: stored record {rid} in {time.perf_counter() - t0:.0f} s")
    return failed


@contextlib.contextmanager
def open_model(sub: Submission, kind: str, program: Optional[Path], limits: Limits):
    """(model, stage): a verified model built here, or a sandboxed code model whose ``stage``
    bounds each stage by the time limit. Nothing of the submission's code runs in this process."""
    if kind != KINDS["code"]:
        model = load_program(program).eval() if kind == KINDS["exported"] else load_verified(sub)
        yield model, lambda name: contextlib.nullcontext()
        return
    from .remote import ModelClient, RemoteModel

    with ModelClient(sub, limits) as client:
        yield RemoteModel(client), client.stage


def evaluate_track(sub: Submission, track_name: str, ctx: RunContext, kind: str, program: Optional[Path] = None,
                   limits: Limits = Limits(), expected_hash: Optional[str] = None) -> Record:
    """What the worker does: evaluate through Track.evaluate with every output checked, and check
    that the weights did not move. Metrics are computed here, from the model's outputs only."""
    from ..errors import UsageError
    from ..tracks import TRACKS

    if expected_hash is not None and sub.hash != expected_hash:
        raise UsageError(f"submission {str(sub.root)!r} changed on disk during the run (hash {sub.hash}, "
                         f"expected {expected_hash})")
    track, ctx = TRACKS.get(track_name)(), ctx.for_track(track_name)
    with open_model(sub, kind, program, limits) as (model, stage):
        before = weights_snapshot(model)
        t0 = time.perf_counter()
        with stage(f"track {track_name}"):
            metrics = dict(track.evaluate(CheckedModel(model, f"track {track_name!r}"), ctx))
            changed = weights_changed(model, before)
    if changed:
        raise UsageError(f"submission {str(sub.root)!r}: model changed its weights during the {track_name} "
                         f"evaluation ({', '.join(changed[:3])})")
    return submission_record(track, sub, ctx, metrics, kind, time.perf_counter() - t0)


def run_submission_distributed(v: Validated, ctx: RunContext, main_rank: bool, limits: Limits, log=print) -> bool:
    """Under torchrun: every process evaluates each track (each its shard of every evaluation set,
    see utils.distributed); rank 0 stores. Returns main_rank. No per-track process: a code
    submission still runs in each rank's own sandbox, under the time limit per stage."""
    from ..results import Store
    from ..tracks import TRACKS

    store = Store.in_dir(ctx.out_dir)
    ids = {name: submission_record(TRACKS.get(name)(), v.sub, ctx.for_track(name), {}, v.kind).record_id
           for name in v.tracks}
    todo = [name for name in v.tracks if not store.has(ids[name])]  # decided before rank 0 writes anything
    for name in v.tracks:
        rid = ids[name]
        if name not in todo:
            if main_rank:
                log(f"{name}: already stored (record {rid}), skipped")
            continue
        record = evaluate_track(v.sub, name, ctx, v.kind, v.program, limits)
        if main_rank:
            store.put([record])
            log(f"{name}: stored record {rid} in {record.wall_time_s:.0f} s")
    return main_rank
