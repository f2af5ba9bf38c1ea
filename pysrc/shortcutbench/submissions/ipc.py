"""Messages between the scorer and the sandboxed model process: a JSON header and raw tensors.

No pickle in either direction: the scorer must never unpickle what submitted code wrote (pickle
runs code). A message is ``<u32 header length><JSON header><tensor bytes...>``; the header lists
each tensor's dtype and shape, and the reader checks every size against a cap before reading.
Every read and write takes a deadline, so a hung or silent peer costs at most the stage's limit.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any, Dict, List, Sequence, Tuple

import torch

MAX_HEADER = 1 << 20
MAX_PAYLOAD = 4 << 30
DTYPES = {name: getattr(torch, name) for name in
          ("float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool")}


class ChannelError(RuntimeError):
    """The peer closed the channel or sent something malformed."""


class Timeout(ChannelError):
    """The stage's deadline passed while waiting on the peer."""


def _wait(fd: int, deadline: float, write: bool) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Timeout("deadline passed")
    r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], None if left == float("inf") else left)
    if not (r or w):
        raise Timeout("deadline passed")


def _write_all(fd: int, data: memoryview, deadline: float) -> None:
    while data:
        _wait(fd, deadline, write=True)
        try:
            n = os.write(fd, data[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise ChannelError("the peer closed the channel") from None
        data = data[n:]


def _read_exact(fd: int, n: int, deadline: float) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        _wait(fd, deadline, write=False)
        try:
            k = os.readv(fd, [view[got:]])
        except BlockingIOError:
            continue
        if k == 0:
            raise ChannelError("the peer closed the channel")
        got += k
    return buf


def send(fd: int, header: Dict[str, Any], tensors: Sequence[torch.Tensor] = (), deadline: float = float("inf")) -> None:
    tensors = [t.detach().cpu().contiguous() for t in tensors]
    metas = [{"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)} for t in tensors]
    head = json.dumps({**header, "tensors": metas}).encode()
    _write_all(fd, memoryview(struct.pack("<I", len(head)) + head), deadline)
    for t in tensors:
        if t.numel():
            _write_all(fd, memoryview(t.reshape(-1).view(torch.uint8).numpy()), deadline)


def recv(fd: int, deadline: float = float("inf"), max_payload: int = MAX_PAYLOAD) -> Tuple[Dict[str, Any], List[torch.Tensor]]:
    (n,) = struct.unpack("<I", bytes(_read_exact(fd, 4, deadline)))
    if n > MAX_HEADER:
        raise ChannelError(f"header of {n} bytes exceeds {MAX_HEADER}")
    try:
        header = json.loads(bytes(_read_exact(fd, n, deadline)))
        metas = header.pop("tensors")
        specs = [(DTYPES[m["dtype"]], [int(s) for s in m["shape"]]) for m in metas]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ChannelError(f"malformed message header ({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict) or any(s < 0 for _, shape in specs for s in shape):
        raise ChannelError("malformed message header")
    sizes = [torch.Size(shape).numel() * torch.empty((), dtype=dt).element_size() for dt, shape in specs]
    if sum(sizes) > max_payload:
        raise ChannelError(f"message of {sum(sizes)} bytes exceeds {max_payload}")
    tensors = []
    for (dt, shape), size in zip(specs, sizes):
        raw = _read_exact(fd, size, deadline) if size else bytearray()
        tensors.append(torch.frombuffer(raw, dtype=torch.uint8).view(dt).reshape(shape) if size
                       else torch.empty(shape, dtype=dt))
    return header, tensors


def set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)
