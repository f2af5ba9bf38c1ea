"""SQLite store of result records (stdlib sqlite3), mirrored as text for git.

``DIR/records.sqlite`` is the store: every write is a transaction, re-storing a record with the
same id replaces it. After each write the track's records are exported, sorted by id, to
``DIR/records/<track>.jsonl`` (atomically); those JSONL files are the committed reference
records (diffable, mergeable). Opening a store imports JSONL records it lacks or holds in an
older version, so a fresh clone regenerates every table from the committed records."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Iterable, List, Optional

from ..utils.atomic import atomic_write_text
from .record import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    track TEXT NOT NULL,
    model_id TEXT NOT NULL,
    seed INTEGER NOT NULL,
    profile TEXT NOT NULL,
    protocol TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_track ON records(track, profile);
"""

STORE_NAME = "records.sqlite"
EXPORT_DIR = "records"


class Store:
    def __init__(self, path: str | Path, export_dir: Optional[str | Path] = None):
        self.path = Path(path)
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(_SCHEMA)
        if self.export_dir is not None:
            self._import_exports()

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "Store":
        return cls(Path(out_dir) / STORE_NAME, Path(out_dir) / EXPORT_DIR)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def put(self, records: Iterable[Record]) -> int:
        records = list(records)
        rows = [(r.record_id, r.track, r.model_id, r.seed, r.profile, r.protocol, r.to_json()) for r in records]
        with closing(self._connect()) as con, con:
            con.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        for track in sorted({r.track for r in records}):
            self.export(track)
        return len(rows)

    def export(self, track: str) -> Optional[Path]:
        """Rewrite ``records/<track>.jsonl`` from the store (sorted by record id)."""
        if self.export_dir is None:
            return None
        with closing(self._connect()) as con:
            bodies = [b for (b,) in con.execute("SELECT body FROM records WHERE track = ? ORDER BY record_id", (track,))]
        path = self.export_dir / f"{track}.jsonl"
        atomic_write_text(path, "".join(b + "\n" for b in bodies))
        return path

    def _import_exports(self) -> None:
        if not self.export_dir.is_dir():
            return
        incoming = []
        for path in sorted(self.export_dir.glob("*.jsonl")):
            for line in path.read_text().splitlines():
                if line.strip():
                    incoming.append(Record.from_json(line))
        if not incoming:
            return
        with closing(self._connect()) as con, con:
            have = {rid: body for rid, body in con.execute("SELECT record_id, body FROM records")}
            rows = []
            for r in incoming:
                old = have.get(r.record_id)
                if old is None or Record.from_json(old).created_at < r.created_at:
                    rows.append((r.record_id, r.track, r.model_id, r.seed, r.profile, r.protocol, r.to_json()))
            con.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def has(self, record_id: str) -> bool:
        with closing(self._connect()) as con:
            return con.execute("SELECT 1 FROM records WHERE record_id = ?", (record_id,)).fetchone() is not None

    def query(self, track: Optional[str] = None, profile: Optional[str] = None) -> List[Record]:
        sql, args = "SELECT body FROM records WHERE 1=1", []
        if track is not None:
            sql += " AND track = ?"
            args.append(track)
        if profile is not None:
            sql += " AND profile = ?"
            args.append(profile)
        sql += " ORDER BY track, model_id, profile, seed, record_id"
        with closing(self._connect()) as con:
            return [Record.from_json(body) for (body,) in con.execute(sql, args)]

    def tracks(self) -> List[str]:
        with closing(self._connect()) as con:
            return [t for (t,) in con.execute("SELECT DISTINCT track FROM records ORDER BY track")]
