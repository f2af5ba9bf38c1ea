"""Finished cells of a long evaluation, kept so that a killed run resumes where it stopped.

A full-profile attack record takes about an hour of one core per model (README, *Time of
``attack.full.v5``*), made of independent cells (split × threat × ε × attack, each attack seeded on
its own). The cell log appends each finished cell as one JSON line under
``OUT/.partial/<track>/``; a later run of the same evaluation reads them back instead of
recomputing them, and the log is removed once the record is stored.

A cell is reused only when everything that fixes its numbers is the same: the log's file name is a
digest of the caller's key (model, seed, weights, protocol, data) and the **git commit** of the
code. A dirty tree has no commit that names its code, so it never logs or resumes: a record from a
dirty tree is not a reference record anyway (README, *Results*).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from ..utils.environment import git_commit

DIR = ".partial"
_CLEAN_COMMIT = re.compile(r"[0-9a-f]{40}")


class CellLog:
    """``cached(cell, compute)``: the finished cell's value, else ``compute()``, appended to the log
    (flushed to disk before returning); ``close()`` removes the log. A log without a path (dirty tree, no
    output directory) keeps nothing."""

    def __init__(self, path: Optional[Path] = None):
        self.path = path
        self._cells: Dict[str, Any] = {}
        self.reused = 0  # cells read back by get()
        self.reused_seconds = 0.0  # their recorded run time (value["seconds"], where present)
        if path is not None and path.is_file():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by the kill: that cell reruns
                    continue
                self._cells[entry["cell"]] = entry["value"]

    @classmethod
    def open(cls, out_dir: Optional[Path], track: str, key: Dict[str, Any],
             commit: Optional[str] = None) -> "CellLog":
        """The log of the evaluation named by ``key`` (JSON-able) at the current code."""
        commit = git_commit() if commit is None else commit
        if out_dir is None or not _CLEAN_COMMIT.fullmatch(commit):
            return cls(None)
        text = json.dumps({"key": key, "git_commit": commit}, sort_keys=True, default=str)
        return cls(Path(out_dir) / DIR / track / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.jsonl")

    @staticmethod
    def _name(cell: Tuple) -> str:
        return json.dumps(list(cell))

    def get(self, cell: Tuple) -> Optional[Any]:
        value = self._cells.get(self._name(cell))
        if value is not None:
            self.reused += 1
            self.reused_seconds += float(value.get("seconds", 0.0)) if isinstance(value, dict) else 0.0
        return value

    def cached(self, cell: Tuple, compute: Callable[[], Any]) -> Any:
        """The logged value of ``cell``, else ``compute()``, logged."""
        value = self.get(cell)
        if value is None:
            value = compute()
            self.put(cell, value)
        return value

    def put(self, cell: Tuple, value: Any) -> None:
        self._cells[self._name(cell)] = value
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps({"cell": self._name(cell), "value": value}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        """The record is stored: the cells are no longer needed."""
        if self.path is not None and self.path.is_file():
            self.path.unlink()
