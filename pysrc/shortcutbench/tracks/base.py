"""What a track is: ``run`` yields result records under a frozen protocol preset of a profile;
``render`` turns stored records into tables and figures (a pure function of the records)."""
from __future__ import annotations

import abc
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import torch.nn as nn

from ..errors import UsageError
from ..registry import Registry
from ..results.record import Record
from ..results.tables import Table
from .options import TrackOptions, base_name

PROFILES = ("quick", "full")  # quick: every track in minutes (make run); full: the committed tables


@dataclass(frozen=True)
class RunContext:
    profile: str = "quick"
    seeds: Optional[int] = None  # number of training seeds; None = the profile's
    seed_from: int = 0  # first seed run: seeds seed_from..N-1 add seeds to records already made
    mnist_dir: Optional[str] = None
    out_dir: Path = Path("results")  # where `run` writes by default (cli.RESULTS_OUT), not the committed board
    device: str = "cpu"
    options: Dict[str, str] = field(default_factory=dict)  # `run --set key=value` protocol overrides

    def seed_list(self, default: int) -> List[int]:
        n = self.seeds if self.seeds is not None else default
        if self.seed_from >= n:
            raise UsageError(f"--seed-from {self.seed_from} leaves no seed: this run's seeds are 0..{n - 1}")
        return list(range(self.seed_from, n))

    def for_track(self, track: str) -> "RunContext":
        """The options one track sees: ``TRACK.key=value`` goes to TRACK only (prefix dropped, and
        it wins over a plain ``key=value``), a plain key to every track that declares it; so one
        ``submit`` or ``run all`` can set each track's options (:func:`.options.plan` checks them
        all first, and refuses a plain key no track declares)."""
        keys = set(TRACKS.get(track).options_type.keys()) if track in TRACKS else set()
        plain, scoped = {}, {}
        for k, v in self.options.items():
            head, dot, rest = k.partition(".")
            if dot and head in TRACKS:
                if head == track:
                    scoped[rest] = v
            elif k in keys:
                plain[k] = v
        return replace(self, options={**plain, **scoped})


class Track(abc.ABC):
    """A track evaluates *models*: ``evaluate(model, ctx)`` is the one code path that zoo entries
    and submitted models both go through; ``run`` obtains the zoo models of the profile, calls
    ``evaluate`` and wraps the metrics into records."""

    name: str = "?"
    title: str = "?"
    # False for tracks that cannot score an arbitrary [B,3,28,28] → [B,10] classifier (e.g. a track
    # about its own models); `shortcutbench submit` then skips them.
    accepts_submissions: bool = True
    # Name of the value (in [0, 1], higher is better) that represents this track in the overall
    # table (leaderboard/overall.md), ``headline_rule`` says how it is read from a record (printed
    # under the table); None leaves the track out of the overall ranking.
    headline_metric: Optional[str] = None
    headline_rule: str = ""
    # The `--set` keys the track accepts (a TrackOptions dataclass; the base accepts none).
    options_type: type = TrackOptions

    def presets(self) -> Dict[str, Any]:
        """profile → frozen protocol preset (by convention the module's ``PROTOCOLS`` dict of frozen
        dataclasses with a versioned ``name``); empty when the track has none."""
        return getattr(sys.modules[type(self).__module__], "PROTOCOLS", {})

    def options(self, ctx: "RunContext") -> TrackOptions:
        """ctx's ``--set`` options, checked against ``options_type`` (one-line UsageError)."""
        return self.options_type.parse(ctx.options, self.name)

    def protocol(self, ctx: "RunContext") -> Any:
        """The frozen protocol preset of ``ctx.profile`` with ctx's protocol options applied (then
        under a derived name, see :mod:`.options`); None when the track has none."""
        return self.options(ctx).apply(self.presets().get(ctx.profile))

    def _preset_names(self) -> set:
        return {getattr(p, "name", None) for p in self.presets().values()} - {None}

    def is_current(self, record: Record) -> bool:
        """Whether ``record`` was made under one of the track's current presets, or under one with
        ``--set`` overrides (derived name). A preset's version is bumped when the models or data
        behind its names change (e.g. the move to the shipped full-MNIST zoo), so older records
        are neither shown nor ranked."""
        names = self._preset_names()
        return not names or base_name(record.protocol) in names

    def current(self, records: List[Record]) -> List[Record]:
        """Current records; one made under overrides shows as its own row, the model id followed by
        the overrides (``lazy_cnn.erm [+rho=0.5]``), never pooled with the preset's."""
        out = []
        for r in filter(self.is_current, records):
            extra = r.protocol[len(base_name(r.protocol)):]
            out.append(replace(r, model_id=f"{r.model_id} [{extra}]") if extra else r)
        return out

    def in_overall(self, record: Record) -> bool:
        """Whether the record speaks for its model in the overall table (default: records of the
        current presets themselves; overridden protocols are shown in the track's tables only)."""
        names = self._preset_names()
        return not names or record.protocol in names

    def headline(self, record: Record) -> Optional[float]:
        """The record's headline value; default: ``metrics[headline_metric]`` (None when absent)."""
        v = record.metrics.get(self.headline_metric) if self.headline_metric else None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    @abc.abstractmethod
    def evaluate(self, model: nn.Module, ctx: RunContext) -> Dict[str, Any]:
        """Metrics of one trained model (in eval mode, inputs in [0, 1]) under ctx's protocol."""

    @abc.abstractmethod
    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Evaluate under ``ctx.profile``'s protocol; yield one record per (model, seed)."""

    @abc.abstractmethod
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        """Tables (and figures under ``out_dir/figures/<track>/``) from stored records only."""


TRACKS: Registry[type] = Registry("track")  # name → Track subclass


def select_profile(records: List[Record]) -> List[Record]:
    """Per model, keep the records of the most thorough profile stored (full over quick), so a
    quick `make run` never displaces the committed full-profile rows."""
    rank = {p: i for i, p in enumerate(PROFILES)}
    best: Dict[str, int] = {}
    for r in records:
        best[r.model_id] = max(best.get(r.model_id, -1), rank.get(r.profile, -1))
    return [r for r in records if rank.get(r.profile, -1) == best[r.model_id]]


def records_by_model(records: List[Record]) -> Dict[str, List[Record]]:
    """model id → its records, after :func:`select_profile` (what every track's table shows)."""
    by_model: Dict[str, List[Record]] = {}
    for r in select_profile(records):
        by_model.setdefault(r.model_id, []).append(r)
    return by_model
