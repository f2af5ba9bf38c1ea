"""The overall table: one row per model across every track, from stored records only.

Ranking rule (printed under the table): each track that declares a ``headline_metric`` (a value
in [0, 1], higher is better, read from a record by ``Track.headline`` as its ``headline_rule``
says) contributes the model's mean of that value over its seeds, under
the most thorough profile stored for it. Only models that have every headline track are ranked,
by the unweighted mean of their headline values (descending; equal merit, equal rank); models
missing some are listed after them, unranked (rank ``–``), by the number of headline tracks they
have, then by the mean over those. Ties: model id. Unlike a single RobustBench column
(research/adversarial.md §2) a missing track is never counted as zero, and a partial row never
holds a rank (issue #18: no model ranks high by having fewer scores).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Dict, List, Sequence

from .record import Record
from .stats import fmt_pct, mean_se
from .tables import Table

SUBMISSION_PREFIX = "sub."


def _labels(recs: Sequence[Record]) -> str:
    """Labels the model was trained with, from the records that declare them (the shortcut track's
    zoo records and every submission record; other tracks' zoo records do not carry the flags)."""
    flags = [(k, r.metrics[f"uses_{k}_labels"]) for r in recs for k in ("group", "color")
             if r.metrics.get(f"uses_{k}_labels") is not None]
    if not flags:
        flags = _method_flags(recs[0].model_id) if recs else []
    if not flags:
        return "?"
    used = sorted({("colour" if k == "color" else k) for k, v in flags if v}, reverse=True)
    return "+".join(used) or "none"


def _method_flags(model_id: str) -> List[tuple]:
    """A zoo model id is ``arch.method[.tag]``: the training method declares its labels."""
    from ..train import METHODS

    parts = model_id.split(".")
    if model_id.startswith(SUBMISSION_PREFIX) or len(parts) < 2 or parts[1] not in METHODS:
        return []
    method = METHODS.get(parts[1])
    return [("group", bool(method.uses_group_labels)), ("color", bool(method.uses_color_labels))]


def overall_rows(records: Sequence[Record]) -> List[Dict]:
    """One dict per model: headline per track (mean, se, protocol), flags; sorted by the rule."""
    from ..tracks import TRACKS, select_profile

    by_track: Dict[str, List[Record]] = {}
    for r in records:
        if r.track in TRACKS:
            by_track.setdefault(r.track, []).append(r)
    # a track ranks models only through records it lets into the overall table
    headline_tracks = sorted(t for t in by_track if TRACKS.get(t).headline_metric
                             and any(TRACKS.get(t)().in_overall(r) for r in by_track[t]))
    models: Dict[str, Dict] = {}
    for track, recs in sorted(by_track.items()):
        spec = TRACKS.get(track)()
        per_model: Dict[str, List[Record]] = {}
        for r in select_profile([r for r in recs if spec.in_overall(r)]):
            per_model.setdefault(r.model_id, []).append(r)
        for model_id, mrecs in per_model.items():
            row = models.setdefault(model_id, {"model": model_id, "tracks": {}, "records": []})
            row["records"] += mrecs
            values = [v for v in map(spec.headline, mrecs) if v is not None] if spec.headline_metric else []
            row["tracks"][track] = {"protocol": mrecs[0].protocol, "profile": mrecs[0].profile, "seeds": len(mrecs),
                                    "headline": mean_se(values) if values else None}
    for row in models.values():
        heads = [row["tracks"][t]["headline"][0] for t in headline_tracks
                 if t in row["tracks"] and row["tracks"][t]["headline"] is not None]
        row["covered"] = len(heads)
        row["complete"] = len(heads) == len(headline_tracks)
        row["score"] = sum(heads) / len(heads) if heads else math.nan
    return _ranked(list(models.values()))


def _merit(r):
    return (not r["complete"], -r["covered"], -(r["score"] if r["score"] == r["score"] else -1))


UNRANKED = "–"  # the rank cell of a partial row


def _ranked(rows: List[Dict]) -> List[Dict]:
    ordered = sorted(rows, key=lambda r: (_merit(r), r["model"]))
    for i, row in enumerate(ordered):  # competition ranking: equal merit, equal rank ("1, 1, 3")
        if not row["complete"]:
            row["rank"] = UNRANKED
        else:
            row["rank"] = ordered[i - 1]["rank"] if i and _merit(ordered[i - 1]) == _merit(row) else i + 1
    return ordered


def kind_of(records: Sequence[Record]) -> str:
    """zoo, or how a submission was scored (records from before kinds existed ran its code: code)."""
    card = next((r.config.get("submission") for r in records if r.config.get("submission")), None)
    return "zoo" if card is None else card.get("kind", "code")


def coverage_note(rows: List[Dict], head: Sequence[str]) -> str:
    """Why zoo rows are partial (issue #18: a track that does not apply says why): the board models
    still missing a headline track, by name; the zoo's other models, by the study they serve.
    Empty when no board model has a record (a table of other models only)."""
    from ..zoo.catalogue import GROUPS, board_models, shipped_names

    board, named = board_models(), shipped_names()
    zoo = [r for r in rows if kind_of(r["records"]) == "zoo"]
    if not any(r["model"] in board for r in zoo):
        return ""
    seen = {r["model"]: r for r in zoo}

    def missing(model: str) -> str:
        r = seen.get(model)
        return "no records" if r is None else ", ".join(t for t in head if (r["tracks"].get(t) or {}).get("headline") is None)

    waiting = [f"{m} ({missing(m)})" for m in board if m not in seen or not seen[m]["complete"]]
    text = (f"Coverage: the evaluation tracks score the zoo's {len(board)} board models (the seed's ERM, every "
            "seed-budget method and defence, and each one's matched control: `zoo.catalogue.board_models`). " +
            (f"Board models still missing a headline track: {'; '.join(waiting)}." if waiting else
             "Every board model has every headline track."))
    others = [r for r in zoo if r["model"] not in board and r["model"] in named]
    if others:
        studies = Counter(named[r["model"]][0].group for r in others)
        tracks = sorted({t for r in others for t in r["tracks"]})
        text += (" The zoo's other classifiers (" + "; ".join(f"{GROUPS[g]}: {n}" for g, n in sorted(studies.items())) +
                 f") exist for the shortcut track's studies and are scored by {', '.join(tracks)} only, by design.")
    toys = [r for r in zoo if r["model"] not in named]
    if toys:
        tracks = sorted({t for r in toys for t in r["tracks"]})
        rows = f"{len(toys)} row{'s' * (len(toys) != 1)}"
        text += (f" Models a track builds for its own study ({', '.join(tracks)}; {rows}) are scored by that "
                 "track alone, by design: no headline track applies to them.")
    return text


def overall_table(records: Sequence[Record], trust_code: bool = False) -> Table:
    from ..tracks import TRACKS

    rows = overall_rows(records)
    if not trust_code:  # code submissions: their own ranking, after everything verified
        code = [r for r in rows if kind_of(r["records"]) == "code"]
        rows = _ranked([r for r in rows if r not in code]) + _ranked(code)
        for r in code:
            if r["rank"] != UNRANKED:
                r["rank"] = f"code {r['rank']}"
    tracks = sorted({t for row in rows for t in row["tracks"]})
    head = [t for t in tracks if TRACKS.get(t).headline_metric]
    cols = (["rank", "model", "kind", "score"] + [f"{t}: {TRACKS.get(t).headline_metric}" for t in head] +
            ["tracks", "protocols", "sanity checks", "labels used", "extra data", "submission hash"])
    out = []
    for row in rows:
        card = next((r.config.get("submission") for r in row["records"] if r.config.get("submission")), None)
        cells = [str(row["rank"]), row["model"], kind_of(row["records"]),
                 fmt_pct(row["score"]) + ("" if row["complete"] else f" (partial {row['covered']}/{len(head)})")]
        for t in head:
            h = row["tracks"].get(t, {}).get("headline")
            cells.append(fmt_pct(*h) if h else "–")
        cells += [str(len(row["tracks"])),
                  "; ".join(f"{t['protocol']} ({t['seeds']} seed{'s' if t['seeds'] > 1 else ''})"
                            for _, t in sorted(row["tracks"].items())),
                  "passed" if card else "zoo model (shipped weights)", _labels(row["records"]),
                  ("yes" if card["extra_data"] else "no") if card else "no", card["hash"] if card else "–"]
        out.append(cells)
    notes = [
        "Rank: only models with every headline track are ranked, by score = unweighted mean of the per-track "
        "headline metrics (each in %, higher is better, mean over the model's seeds); equal merit, equal rank. "
        "Models missing a headline track follow, unranked (rank –, score marked partial), by how many tracks they "
        "have, then by the mean over those. A missing track never counts as zero.",
        "Headline cells: mean ± standard error over seeds (ddof = 1) under the most thorough profile stored for "
        "that model; `protocols` names the frozen preset of each track that produced the row. Per track: " +
        "; ".join(f"**{t}**: {TRACKS.get(t).headline_rule}" for t in head) + ".",
        "Tracks without a headline (they do not score a submitted classifier, or have no better-is-higher "
        "value): " + (", ".join(t for t in tracks if t not in head) or "none") + "; they appear in `tracks` and "
        "`protocols` only.",
        "Sanity checks: a submission is stored only after it passed every validation check of `shortcutbench "
        "submit` (manifest, weights match, [B,3,28,28] in [0,1] → logits [B,10], finite, deterministic, logits "
        "not probabilities, weights unchanged, tracks exist), every output of every model call on every track was "
        "checked ([B, 10], finite, the input's dtype) and its weights were unchanged after every track.",
        "Kind: zoo (the project's models: shipped weights, or trained here where a track makes its own toy models); verified: safetensors (a registry architecture with safetensors weights) or "
        "export (an ATen graph), or exported from code (a model.py exported inside the sandbox); code: a model.py "
        "scored through the sandbox, whose answers may depend on state we cannot see. " +
        ("Code submissions are ranked with the rest (--trust-code)." if trust_code else
         "Code submissions are ranked apart, after the rest (rank `code N`); `--trust-code` ranks them together."),
        "Labels used: group/colour labels seen in training, as declared by the method or the submission; extra "
        "data: trained on anything beyond the benchmark's train split (declared).",
    ]
    coverage = coverage_note(rows, head)
    if coverage:
        notes.insert(1, coverage)
    return Table("overall", "Overall leaderboard: every model across tracks", cols, out, notes)
