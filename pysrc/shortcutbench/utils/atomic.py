"""Atomic writes: a file is either the old one or the complete new one, never half-written."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Union

from ..errors import UsageError

PathLike = Union[str, os.PathLike]


def ensure_writable_dir(path: PathLike) -> Path:
    """Create ``path`` if needed and prove it is writable before any work starts."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"output directory {str(p)!r} is not writable ({exc.strerror or exc})") from None
    return p


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a written file follows the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_torch_save(path: PathLike, obj) -> None:
    """``torch.save`` that never leaves a half-written file (a killed run keeps the old one or none)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def current_umask() -> int:
    mask = os.umask(0)  # the only way to read it; set straight back
    os.umask(mask)
    return mask


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
