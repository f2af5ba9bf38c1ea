"""Plumbing shared by tracks: the per-process Colored-MNIST (built in :mod:`shortcutbench.data`,
where the layers below the tracks read it too), and the note naming the board models a track's
table has no record for yet."""
from typing import List, Optional, Sequence

from ..data.colored_mnist import cached_colored_mnist as colored_mnist  # noqa: F401
from ..results.record import Record
from ..zoo import catalogue as cat


def missing_board_note(track: str, records: Sequence[Record], board: Optional[Sequence[str]] = None) -> List[str]:
    """``[note]`` naming the board models (default: :func:`catalogue.board_models`) without any record
    in a full-profile table's ``records``, so a partly filled board says what it lacks (#18's
    complete grid); ``[]`` when none is missing or the table is not the full profile's (a quick run
    scores a chosen few on purpose)."""
    if not any(r.profile == "full" for r in records):
        return []
    recorded = {r.model_id for r in records}
    board = tuple(cat.board_models() if board is None else board)
    missing = [m for m in board if m not in recorded]
    if not missing:
        return []
    return [f"Board models without a record in this table yet ({len(missing)} of {len(board)}): "
            f"{', '.join(missing)}. `shortcutbench run {track} --profile full --set models=NAME` adds one."]
