"""A user's records beside the committed board (``leaderboard --include RESULTS``): each model id
gets a marker, so its rows sit next to the board's rows of the same model instead of merging
with them (tables group by model id and keep the most thorough profile per id)."""
from __future__ import annotations

from dataclasses import replace
from typing import List, Sequence

from .record import Record


def marked(records: Sequence[Record], board: Sequence[Record], mark: str) -> List[Record]:
    """``records`` not already on the board (same record id = same result), model ids marked
    ``"<model> (<mark>)"``."""
    on_board = {r.record_id for r in board}
    return [replace(r, model_id=f"{r.model_id} ({mark})") for r in records if r.record_id not in on_board]
