"""The findings table (``leaderboard/findings.md``): one row per seed claim the project tests, with
the seed's number, ours with an interval, the test, the records behind it and a verdict.

Verdicts come from fixed rules on the interval, never from the point estimate: a claim
*reproduces* when the whole 95 % interval lies on the claim's side of its threshold, *does not
reproduce* when it lies wholly on the other side, and is *inconclusive* otherwise (touching or
straddling the threshold, or too few seeds for an interval). Only records made under a track's
current preset count (``Track.is_current``); a claim without them reads "not yet measured"
and names what it needs, never an older protocol's number. The claims themselves live in
:mod:`.findings_claims`, one registered function each (it also assembles the table: ``findings_table``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..registry import Registry
from ..utils.atomic import atomic_write_text
from .record import Record
from .tables import Table

REPRODUCES = "reproduces"
DOES_NOT = "does not reproduce"
INCONCLUSIVE = "inconclusive"
NOT_YET = "not yet measured"
ALPHA = 0.05  # two-sided significance of the pairwise tests (Fisher exact)
MIN_SEEDS = 2  # one training seed gives no seed-to-seed variation: no verdict (as the shortcut track)


@dataclass(frozen=True)
class Finding:
    claim: str
    seed_value: str  # the seed's number, with its section
    ours: str  # our number(s) with 95 % intervals
    test: str  # statistic, interval and the rule's threshold
    records: str  # protocol preset(s), seeds and commits behind `ours`
    verdict: str  # REPRODUCES | DOES_NOT | INCONCLUSIVE | NOT_YET, optionally ": reason"


COLUMNS = ["claim", "seed's number", "ours [95 % CI]", "test", "records", "verdict"]

# claim id → fn(records by track) → findings. Ids are "<seed>.<section>-<slug>": sorted, they
# give the table's order (seed document, then section).
CLAIMS: Registry[Callable[[Mapping[str, List[Record]]], List[Finding]]] = Registry("claim")


def with_reason(verdict: str, reason: str = "") -> str:
    return f"{verdict}: {reason}" if reason else verdict


def threshold_verdict(lo: float, hi: float, threshold: float, claim_above: bool) -> str:
    """The claim says the value is above (``claim_above``) or below ``threshold``: reproduces when
    the interval [lo, hi] lies strictly on that side, does not when strictly on the other,
    otherwise (or without an interval) inconclusive."""
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return with_reason(INCONCLUSIVE, "no interval")
    below, above = hi < threshold, lo > threshold
    if above or below:
        return REPRODUCES if above == claim_above else DOES_NOT
    return with_reason(INCONCLUSIVE, "the interval holds the threshold")


def ordering_verdict(steps: Sequence[Tuple[float, float, Optional[float]]], alpha: float = ALPHA) -> str:
    """A claimed order a > b > … tested step by step: each step is (rate of the side claimed
    higher, rate of the side claimed lower, two-sided p; None = the step cannot be tested).
    Reproduces when every step holds in the claimed direction with p < alpha; does not when some
    step is reversed with p < alpha; otherwise inconclusive."""
    if any(p is not None and p < alpha and hi_rate < lo_rate for hi_rate, lo_rate, p in steps):
        return DOES_NOT
    if all(p is not None and p < alpha and hi_rate > lo_rate for hi_rate, lo_rate, p in steps):
        return REPRODUCES
    return with_reason(INCONCLUSIVE, f"not every step separates at p < {alpha:g}")


def exact_verdict(holds: bool) -> str:
    """For claims about a whole finite set (every sample enumerated, an exact certificate): no
    sampling, so no interval; the claim holds or it does not."""
    return REPRODUCES if holds else DOES_NOT


def records_cell(recs: Iterable[Record]) -> str:
    """Protocol preset(s), seeds per model and the code commits that made the records; a record
    from an uncommitted tree is flagged (a finding must rest on a clean commit)."""
    recs = list(recs)
    protocols = sorted({r.protocol for r in recs})
    commits = sorted({str(r.provenance.get("git_commit", "?")) for r in recs})
    dirty = [c for c in commits if c.endswith("-dirty")]
    seeds: Dict[str, set] = {}
    for r in recs:
        seeds.setdefault(r.model_id, set()).add(r.seed)
    counts = sorted({len(s) for s in seeds.values()})
    seed_text = f"{'–'.join(map(str, (counts[0], counts[-1]) if len(counts) > 1 else counts))} seed(s) per model"
    commit_text = ", ".join(c[:7] + ("-dirty" if c in dirty else "") for c in commits)
    return (f"{', '.join(protocols)}; {seed_text}; commit {commit_text}"
            + (" — **made from an uncommitted tree**" if dirty else ""))


def not_measured(claim: str, seed_value: str, test: str, needs: str) -> Finding:
    return Finding(claim, seed_value, "–", test, "–", f"{NOT_YET} (needs: {needs})")


def current_by_track(records: Iterable[Record]) -> Dict[str, List[Record]]:
    """track → its records made under one of its current presets (others are dropped)."""
    from ..tracks import TRACKS

    out: Dict[str, List[Record]] = {}
    specs = {}
    for r in records:
        if r.track not in TRACKS:
            continue
        spec = specs.setdefault(r.track, TRACKS.get(r.track)())
        if spec.is_current(r):
            out.setdefault(r.track, []).append(r)
    return out


# ------------------------------------------------------------------ README block
README_BEGIN = "<!-- findings:begin (generated by `shortcutbench leaderboard` from leaderboard/findings.md; do not edit) -->"
README_END = "<!-- findings:end -->"


def readme_block(table: Table) -> str:
    """The findings table as the README quotes it: the table and its notes, without the title."""
    body = table.to_markdown().split("\n", 2)[2]  # drop "# title" and the blank line
    return f"{README_BEGIN}\n{body.rstrip()}\n{README_END}"


def fill_readme(path: Path, table: Table) -> bool:
    """Replace the marker block of the README at ``path`` with the table; False (nothing written)
    when the file or its markers are absent."""
    if not path.is_file():
        return False
    text = path.read_text()
    pattern = re.compile(re.escape(README_BEGIN.split(" (")[0]) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: readme_block(table), text, count=1)
    if new != text:
        atomic_write_text(path, new)
    return True


__all__ = ["Finding", "CLAIMS", "COLUMNS", "REPRODUCES", "DOES_NOT", "INCONCLUSIVE", "NOT_YET", "threshold_verdict",
           "ordering_verdict", "exact_verdict", "findings", "findings_table", "fill_readme", "readme_block"]
