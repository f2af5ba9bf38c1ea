"""How long each track's committed records took to make, from their stored wall times (issue #17:
``make full``'s time documented per track, from records rather than from memory).

One row per (track, protocol) of the records the track's tables show (current presets, each
model's most thorough profile): records, distinct models, the summed and the median wall time per
record, the thread counts and commits they ran under. A record's ``wall_time_s`` is the time its
run spent on that (model, seed), on whatever machine and load the run met; the table states that,
and never projects an idle time from it.
"""
from __future__ import annotations

import statistics
from typing import Dict, List, Sequence, Tuple

from .record import Record
from .tables import Table


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def runtime_table(records: Sequence[Record]) -> Table:
    from ..tracks import select_profile
    from .findings import current_by_track

    groups: Dict[Tuple[str, str], List[Record]] = {}
    for recs in current_by_track(records).values():  # superseded presets are not what a run costs now
        for r in select_profile(recs):
            groups.setdefault((r.track, r.protocol), []).append(r)
    rows = []
    for (track, protocol), recs in sorted(groups.items()):
        times = [r.wall_time_s for r in recs]
        threads = sorted({int(r.provenance.get("threads", 0)) for r in recs})
        commits = sorted({str(r.provenance.get("git_commit", "?"))[:7] for r in recs})
        rows.append([track, f"`{protocol}`", recs[0].profile, str(len(recs)), str(len({r.model_id for r in recs})),
                     _duration(sum(times)), _duration(statistics.median(times)), _duration(max(times)),
                     ", ".join(map(str, threads)), ", ".join(commits)])
    notes = [
        "Wall time as each run stored it per record (one model × seed, every attack, metric or fit of the "
        "protocol), under the track's current presets; the machine and its load are whatever the run met (the "
        "threads column; the README says where the committed runs were made), and nothing here is extrapolated. "
        "A track whose records do not cover every model it lists (its page says which are missing) takes longer "
        "in full by about the median per missing model.",
        "Training the zoo is separate (`shortcutbench zoo list` / each shipped record's `train_time_s`).",
    ]
    return Table("runtimes", "Run times of the committed records, per track",
                 ["track", "protocol", "profile", "records", "models", "total wall", "median / record",
                  "max / record", "threads", "commits"], rows, notes)
