"""One options contract for every track (issue 19): each track declares the ``--set KEY=VALUE``
keys it accepts as one typed, frozen dataclass (a :class:`TrackOptions`); presets stay frozen data.

* A key the track does not declare, or a value its type or check refuses, is a one-line
  :class:`UsageError` (exit 2) naming the key and what is allowed, before any work starts.
* A *protocol* key overrides one field of the preset (``target``, dotted for nested presets:
  ``data.rho``); the overridden protocol carries a derived name, ``<preset>+key=value`` per key in
  key order (``sparse.full.v3+rho=0.5``), which records and tables show. Un-overridden presets keep
  their names.
* A *run* key (``run=True``: which models, which tasks, rescoring) chooses what runs under the
  unchanged protocol, so its records stay comparable and the name stays.

:func:`plan` spreads one command's ``--set`` over several tracks (``run all``, ``submit``): a
``TRACK.key`` goes to that track only, a plain key to every track that declares it; every key of
every track is checked before the first track starts.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UsageError
from ..utils.config import convert

Check = Callable[[Any], None]  # raises UsageError (one line) when the value is not allowed


def option(help: str, target: Optional[str] = None, run: bool = False, check: Optional[Check] = None,
           parse: Optional[Callable[[str], Any]] = None) -> Any:
    """A ``--set`` key; its field must be ``Optional[...]`` with None meaning "the preset's value".
    ``target``: the protocol field it overrides (default: the key); ``run``: chooses what runs
    and leaves the protocol (and its name) unchanged; ``parse``: text → value where the field's
    type alone does not say how (default: by the type)."""
    return field(default=None, metadata={"help": help, "target": target, "run": run, "check": check, "parse": parse})


def positive(value: Any) -> None:
    if value <= 0:
        raise UsageError(f"must be > 0, got {value}")


def in_unit_interval(value: Any) -> None:
    """(0, 1]: a share (ρ, a tolerance) where 0 would leave nothing to measure."""
    if not 0 < value <= 1:
        raise UsageError(f"must be in (0, 1], got {value}")


def each(check: Check) -> Check:
    def check_each(values: Sequence[Any]) -> None:
        for v in values:
            check(v)
    return check_each


def registered(registry) -> Check:
    """Every name in the value is registered (the registry's error lists the known names)."""
    return each(registry.get)


def zoo_models(patterns: Sequence[str]) -> None:
    """Every fnmatch pattern matches a shipped zoo model (``all``: the board)."""
    from ..zoo.select import resolve_models

    resolve_models(patterns)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(map(_text, value))
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class TrackOptions:
    """Base of every track's options; a track without ``--set`` keys uses it as is."""

    @classmethod
    def keys(cls) -> Tuple[str, ...]:
        return tuple(sorted(f.name for f in dataclasses.fields(cls)))

    @classmethod
    def allowed(cls) -> str:
        return ", ".join(cls.keys()) or "none"

    @classmethod
    def parse(cls, values: Mapping[str, str], track: str) -> "TrackOptions":
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, text in values.items():
            if key not in fields:
                raise UsageError(f"--set {key}: track {track} has no option {key!r} (allowed: {cls.allowed()})")
            meta = fields[key].metadata
            try:
                value = meta["parse"](text) if meta["parse"] else None
            except UsageError as exc:
                raise UsageError(f"--set {key}={text}: {exc}") from None
            value = convert(text, hints[key], key) if value is None else value  # its own "--set k=v:" line
            try:
                if meta["check"] is not None and value is not None:
                    meta["check"](value)
            except UsageError as exc:
                raise UsageError(f"--set {key}={text}: {exc}") from None
            kwargs[key] = value
        return cls(**kwargs)

    def given(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def changes(self) -> Dict[str, Any]:
        """The protocol keys that were set: key → value."""
        run = {f.name for f in dataclasses.fields(self) if f.metadata["run"]}
        return {k: v for k, v in self.given().items() if k not in run}

    def apply(self, preset: Any) -> Any:
        """``preset`` with the protocol keys applied and a derived name; the preset itself when
        none is set (so an un-overridden run keeps the frozen preset's name)."""
        changes = self.changes()
        if not changes or preset is None:
            return preset
        targets = {f.name: f.metadata["target"] or f.name for f in dataclasses.fields(self)}
        out = preset
        for key, value in sorted(changes.items()):
            try:
                out = _replace_path(out, targets[key].split("."), value)
            except UsageError as exc:  # the preset's own validation (e.g. ColoredMNISTConfig's ρ range)
                raise UsageError(f"--set {key}={_text(value)}: {exc}") from None
        return dataclasses.replace(out, name=derived_name(preset.name, changes))


_SCALARS = (bool, int, float, str)


def _settable(tp: Any) -> bool:
    """Types ``--set`` text converts to: scalars and tuples of scalars (nested presets are not)."""
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    return tp in _SCALARS or (typing.get_origin(tp) is tuple and bool(args) and all(a in _SCALARS for a in args))


def options_for(protocol_cls: type, checks: Mapping[str, Check], exclude: Sequence[str] = ("name",),
                **run_options: Any) -> type:
    """A TrackOptions class with one protocol key per settable field of the preset dataclass
    ``protocol_cls`` (same name and type; ``checks`` by key), plus ``run_options`` (key → an
    ``option(..., run=True)`` whose type is a tuple of names): for tracks whose whole preset is
    open to ``--set``, so a new preset field is a new key without a second list to keep."""
    hints = typing.get_type_hints(protocol_cls)
    fields = [(f.name, Optional[hints[f.name]], option(f"protocol field {f.name}", check=checks.get(f.name)))
              for f in dataclasses.fields(protocol_cls) if f.name not in exclude and _settable(hints[f.name])]
    fields += [(k, Optional[Tuple[str, ...]], v) for k, v in run_options.items()]
    return dataclasses.make_dataclass(protocol_cls.__name__.replace("Protocol", "Options"), fields,
                                      bases=(TrackOptions,), frozen=True)


def derived_name(name: str, changes: Mapping[str, Any]) -> str:
    return name + "".join(f"+{k}={_text(v)}" for k, v in sorted(changes.items()))


def base_name(protocol: str) -> str:
    """``sparse.full.v3+rho=0.5`` → ``sparse.full.v3``."""
    return protocol.split("+", 1)[0]


def _replace_path(obj: Any, path: List[str], value: Any) -> Any:
    head = path[0]
    new = value if len(path) == 1 else _replace_path(getattr(obj, head), path[1:], value)
    return dataclasses.replace(obj, **{head: new})


def plan(tracks: Sequence[Any], ctx: Any) -> Tuple[Dict[str, Dict[str, str]], Dict[str, List[str]]]:
    """(track name → the options it gets, plain key → the tracks it applies to) for one command
    running ``tracks`` (Track instances) under ``ctx`` (a RunContext with every ``--set``); every
    key and value is checked here, and applied to each track's preset, before any track runs.
    With one track every plain key must be one of its options; with several, a plain key goes to
    the tracks that declare it, and one no track declares is an error."""
    from .base import TRACKS

    names = [t.name for t in tracks]
    types = {t.name: t.options_type for t in tracks}
    per: Dict[str, Dict[str, str]] = {n: {} for n in names}
    scoped: Dict[str, Dict[str, str]] = {n: {} for n in names}
    applies: Dict[str, List[str]] = {}
    for key, value in ctx.options.items():
        head, dot, rest = key.partition(".")
        if dot and head in TRACKS:
            if head not in per:
                raise UsageError(f"--set {key}: track {head} is not run by this command (running: {', '.join(names)})")
            _parse_as(types[head], rest, value, head, several=True)
            scoped[head][rest] = value
            continue
        having = [n for n in names if key in types[n].keys()]
        if len(names) == 1 and not having:
            types[names[0]].parse({key: value}, names[0])  # the one-line unknown-key error
        if not having:
            known = "; ".join(f"{n}: {types[n].allowed()}" for n in names)
            raise UsageError(f"--set {key}: no track of this run has option {key!r} (options per track: {known})")
        _check_shared(key, value, having, types, several=len(names) > 1)
        applies[key] = having
        for n in having:
            per[n][key] = value
    for t in tracks:  # every track's whole option set, applied to its preset (value checks of the preset too)
        per[t.name].update(scoped[t.name])
        t.protocol(dataclasses.replace(ctx, options=per[t.name]))
    return per, applies


def _parse_as(options_type: Any, key: str, value: str, track: str, several: bool) -> None:
    """Check one key for one track; with several tracks in the run the error names the track."""
    try:
        options_type.parse({key: value}, track)
    except UsageError as exc:
        raise UsageError(f"{track}: {exc}" if several else str(exc)) from None


def _check_shared(key: str, value: str, having: List[str], types: Mapping[str, Any], several: bool) -> None:
    """A plain key several tracks declare must suit each of them; where it suits only some, the
    error says how to give it to those alone (``shortcut.methods=erm``)."""
    failed = {}
    for n in having:
        try:
            _parse_as(types[n], key, value, n, several)
        except UsageError as exc:
            failed[n] = str(exc)
    if not failed:
        return
    ok = [n for n in having if n not in failed]
    hint = f"; for one track only write {' or '.join(f'{n}.{key}={value}' for n in ok)}" if ok else ""
    raise UsageError(next(iter(failed.values())) + hint)
