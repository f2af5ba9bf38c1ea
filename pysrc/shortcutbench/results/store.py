"""SQLite store of result records (stdlib sqlite3). Writes are transactions: a run's records
land together or not at all; re-storing a record with the same id replaces it."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Iterable, List, Optional

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


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> "Store":
        return cls(Path(out_dir) / STORE_NAME)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def put(self, records: Iterable[Record]) -> int:
        rows = [(r.record_id, r.track, r.model_id, r.seed, r.profile, r.protocol, r.to_json()) for r in records]
        with closing(self._connect()) as con, con:
            con.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

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
