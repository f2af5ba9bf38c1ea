"""Which shipped zoo models a track scores: ``--set models=`` patterns resolved against the
catalogue, and the (name, seed) pairs whose weights are shipped. Tracks evaluate shipped weights
only; a pair that is not shipped is skipped with a note naming the command that trains it."""
from __future__ import annotations

import sys
from fnmatch import fnmatchcase
from typing import Iterable, List, Sequence, Tuple, Union

from ..errors import UsageError
from ..utils.config import split_list
from . import catalogue as cat
from .shipped import is_shipped


def resolve_models(value: Union[str, Sequence[str], None], default: Sequence[str] = ()) -> Tuple[str, ...]:
    """Shipped model names from fnmatch patterns, comma-separated or as a sequence (a track's
    parsed ``models`` option; ``all``: the board's models, :func:`catalogue.board_models`);
    ``default`` when ``value`` is empty. A pattern that matches no catalogue name is a one-line
    UsageError."""
    patterns = (split_list(value) if isinstance(value, str) else list(value or ())) or list(default)
    names = list(cat.shipped_names())
    out: List[str] = []
    for p in patterns:
        hits = list(cat.board_models()) if p == "all" else [n for n in names if fnmatchcase(n, p)]
        if not hits:
            raise UsageError(f"models={p} matches no zoo model (see: shortcutbench zoo list)")
        out += hits
    return tuple(dict.fromkeys(out))


def shipped_pairs(track: str, names: Iterable[str], seeds: Sequence[int]) -> List[Tuple[str, int]]:
    """(name, seed) for each name and each of ``seeds`` below the run's seed count, seed-major (every
    model's first seed before anyone's second); prints one note for the pairs not shipped."""
    catalogue = cat.shipped_names()
    names = list(names)
    wanted = [(n, s) for s in seeds for n in names if s < catalogue[n][0].seeds]
    missing = [f"{n}/seed{s}" for n, s in wanted if not is_shipped(n, s)]
    if missing:
        print(f"{track}: {len(missing)} zoo model(s) not shipped, skipped (train: shortcutbench zoo train "
              f"--only NAME): {', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}", file=sys.stderr)
    return [(n, s) for n, s in wanted if is_shipped(n, s)]
