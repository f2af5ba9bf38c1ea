"""Typed dataclass configs from ``key=value`` strings (CLI ``--set``), without ``eval``."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, Iterable, Tuple, Type, TypeVar

from ..errors import UsageError

C = TypeVar("C")


def convert(text: str, tp: Any, key: str) -> Any:
    """``text`` as a value of type ``tp`` (bool, int, float, str, Optional, tuple/list of those)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        if text.lower() in ("none", "null"):
            return None
        return convert(text, next(a for a in args if a is not type(None)), key)
    try:
        if tp is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if tp in (int, float, str):
            return tp(text)
        if origin in (tuple, list):
            inner = args[0] if args else str
            return origin(convert(t.strip(), inner, key) for t in text.split(",") if t.strip())
    except ValueError:
        raise UsageError(f"--set {key}={text}: expected {getattr(tp, '__name__', tp)}") from None
    raise UsageError(f"--set {key}: unsupported field type {tp}")


def parse_assignments(items: Iterable[str]) -> Dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def config_from_strings(cls: Type[C], values: Dict[str, str], base: C | None = None) -> C:
    """Build ``cls`` (a dataclass) from string values; unknown keys are a one-line error."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for k, v in values.items():
        if k not in names:
            raise UsageError(f"unknown option {k!r} for {cls.__name__} (known: {', '.join(names)})")
        kwargs[k] = convert(v, hints[k], k)
    if base is not None:
        return dataclasses.replace(base, **kwargs)
    return cls(**kwargs)


def split_list(text: str) -> Tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``: a comma-separated option value, blanks dropped."""
    return tuple(t.strip() for t in text.split(",") if t.strip())
