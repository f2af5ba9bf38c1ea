"""Model-selection rules over a run's per-epoch history (DomainBed ``model_selection.py`` and
research/shortcut.md §7). None of them reads a test split:

- ``skewed_val``: the epoch with the best accuracy on the skewed validation split (no group labels);
- ``balanced_val_worst_group``: the epoch with the best worst-cell accuracy on the colour-balanced
  validation split (needs group labels), ties broken by its average accuracy;
- ``oracle_last``: the last checkpoint, scored on hard_val (a conflicting split of validation
  digits). With one hyperparameter setting per method there is nothing else for the oracle to
  choose, so it reports the last checkpoint; it never picks an epoch (DomainBed's oracle).

Ties go to the earliest epoch.
"""
from __future__ import annotations

from typing import Any, Dict, List

RULES = ("skewed_val", "balanced_val_worst_group", "oracle_last")
RULE_LABELS = {
    "skewed_val": "skewed-val avg (no group labels)",
    "balanced_val_worst_group": "balanced-val worst group (group labels)",
    "oracle_last": "oracle: last checkpoint (hard-val)",
}


def _argmax(history: List[Dict[str, Any]], key) -> int:
    best = max(range(len(history)), key=lambda i: (key(history[i]), -i))
    return int(history[best]["epoch"])


def select_epoch(history: List[Dict[str, Any]], rule: str) -> int:
    """1-based epoch the rule picks."""
    if rule == "skewed_val":
        return _argmax(history, lambda h: h["val_acc"])
    if rule == "balanced_val_worst_group":
        return _argmax(history, lambda h: (h["val_balanced_worst_group_acc"], h["val_balanced_acc"]))
    if rule == "oracle_last":
        return int(history[-1]["epoch"])
    raise ValueError(f"unknown selection rule {rule!r}")
