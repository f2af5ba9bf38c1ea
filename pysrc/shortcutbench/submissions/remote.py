"""The scorer's side of a code submission: a sandboxed model process and an ``nn.Module`` proxy.

``RemoteModel(x)`` sends x to the process and gets logits back; its backward asks the process
for the input gradient, so attacks and NSPGD work on a code submission unchanged. Every metric
is computed here, from tensors only: a ``model.py`` that patches scoring functions patches them
in its own interpreter, which computes none. Each stage (load, checks, export, a track) runs
under the time limit; past it, or when the process dies, the process and every descendant are
killed and one ``SandboxError`` line says which stage.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from ..errors import UsageError
from . import ipc, sandbox
from .format import Submission

SERVER = "shortcutbench.submissions.server"


class SandboxError(UsageError):
    """The sandboxed process hung, died or broke the protocol; it and its descendants are gone."""


class ModelCallError(RuntimeError):
    """The submitted model raised on a call (the process is still alive)."""


class ModelClient:
    """One sandboxed process holding the submission's model; use as a context manager."""

    def __init__(self, sub: Submission, limits: sandbox.Limits):
        self.sub, self.limits = sub, limits
        self.deadline = float("inf")
        self.stage_name = "start"
        self.killed: List[int] = []
        self.scratch = Path(tempfile.mkdtemp(prefix="sb-sandbox-"))
        self.stderr = tempfile.TemporaryFile()
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        iso = sandbox.isolation()
        argv = [sys.executable, "-m", SERVER, str(sub.root.resolve()), "--scratch", str(self.scratch),
                "--fd-in", str(req_r), "--fd-out", str(rep_w), "--memory", str(limits.memory_bytes),
                "--processes", str(limits.extra_processes), "--file-bytes", str(limits.file_bytes)]
        argv += ["--namespaces", sandbox.mount_namespace()] if iso.namespaces else []
        src = str(Path(__file__).parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        try:
            self.proc = sandbox.start(sandbox.command(argv), env, pass_fds=(req_r, rep_w),
                                      stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr)
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.since = sandbox.start_ticks(self.proc.pid) or 0
        ipc.set_nonblocking(self.req_w)
        ipc.set_nonblocking(self.rep_r)
        with self.stage("load"):
            header, _ = self._recv(1 << 20)
        if "error" in header:
            self.close()
            msg = str(header["error"]).replace(repr(str(sub.root.resolve())), repr(str(sub.root)))
            raise UsageError(msg if msg.startswith("submission ") else f"submission {str(sub.root)!r}: {msg}")

    # ------------------------------------------------------------ stages and failure
    @contextlib.contextmanager
    def stage(self, name: str):
        """Run a stage under the time limit: past it, kill everything and raise one line."""
        self.stage_name, self.deadline = name, time.monotonic() + self.limits.time_s
        try:
            yield self
        except ipc.Timeout:
            self.close()
            raise SandboxError(f"submission {str(self.sub.root)!r}: stage {name!r} exceeded the time limit of "
                               f"{self.limits.time_s:g} s; the sandboxed process and its {len(self.killed) - 1} "
                               f"descendant(s) were killed") from None
        except ModelCallError as exc:  # e.g. its backward failed inside an attack: the stage stops
            raise UsageError(f"submission {str(self.sub.root)!r}: the model failed in stage {name!r}: {exc}") from None
        except ipc.ChannelError as exc:
            self.close()
            code = self.proc.returncode
            raise SandboxError(f"submission {str(self.sub.root)!r}: the sandboxed process "
                               f"{'exited with code ' + str(code) if code is not None else 'broke the protocol'} "
                               f"in stage {name!r} ({self._last_stderr() or exc})") from None
        finally:
            self.deadline = float("inf")

    def _last_stderr(self) -> str:
        self.stderr.seek(0)
        lines = [l for l in self.stderr.read()[-4096:].decode(errors="replace").splitlines() if l.strip()]
        return lines[-1].strip() if lines else ""

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.returncode is None:
            with contextlib.suppress(ipc.ChannelError, OSError):
                ipc.send(self.req_w, {"op": "exit"}, deadline=time.monotonic() + 1)
        # always: the process may have left descendants behind even when it exited by itself
        self.killed = sandbox.kill_tree(self.proc, self.since, grace_s=0.5 if self.proc.poll() is None else 0)
        for fd in (self.req_w, self.rep_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.req_w = self.rep_r = -1
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> "ModelClient":
        return self

    def __exit__(self, *exc) -> None:
        if self.req_w != -1:
            self.close()

    # ------------------------------------------------------------ requests
    def _recv(self, max_payload: int) -> Tuple[dict, List[torch.Tensor]]:
        return ipc.recv(self.rep_r, self.deadline, max_payload)

    def _call(self, header: dict, tensors=(), max_payload: int = 1 << 20):
        if self.req_w == -1:
            raise SandboxError(f"submission {str(self.sub.root)!r}: the sandboxed process was already stopped")
        ipc.send(self.req_w, header, tensors, self.deadline)
        reply, out = self._recv(max_payload)
        if "error" in reply:
            raise ModelCallError(str(reply["error"]))
        return reply, out

    def forward(self, x: torch.Tensor, grad: bool) -> Tuple[torch.Tensor, int]:
        # a reply may be bigger than x (many classes), not unboundedly so
        reply, out = self._call({"op": "forward", "grad": grad}, [x], max_payload=8 * x.nbytes + (1 << 20))
        if len(out) != 1:
            raise ipc.ChannelError(f"forward reply has {len(out)} tensors")
        return out[0], int(reply["id"])

    def backward(self, call_id: int, grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        _, out = self._call({"op": "backward", "id": call_id}, [grad_out, x], max_payload=2 * x.nbytes + (1 << 20))
        if len(out) != 1 or out[0].shape != x.shape:
            raise ModelCallError(f"input gradient of shape {list(out[0].shape) if out else None}, "
                                 f"expected {list(x.shape)}")
        return out[0].to(dtype=x.dtype)

    def digest(self) -> Dict[str, str]:
        digest = self._call({"op": "digest"})[0]["digest"]
        if not isinstance(digest, dict):
            raise ipc.ChannelError("digest reply is not a table")
        return {str(k): str(v) for k, v in digest.items()}

    def export(self) -> Path:
        """Ask the process to export its model; returns the file (in our scratch dir, read here)."""
        reply, _ = self._call({"op": "export"})
        path = (self.scratch / str(reply["path"])).resolve()
        if path.parent != self.scratch.resolve() or not path.is_file() or path.is_symlink():
            raise ModelCallError("export wrote no file in the scratch directory")
        return path


class _RemoteCall(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, client: ModelClient):
        y, call_id = client.forward(x, grad=bool(ctx.needs_input_grad[0]))
        ctx.save_for_backward(x)
        ctx.client, ctx.call_id = client, call_id
        return y.to(x.device)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return ctx.client.backward(ctx.call_id, grad_out, x).to(x.device), None


class RemoteModel(nn.Module):
    """Logits of the sandboxed model; differentiable in its input."""

    def __init__(self, client: ModelClient):
        super().__init__()
        self.client = client

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _RemoteCall.apply(x, self.client)

    def weights_digest(self) -> Dict[str, str]:
        return self.client.digest()
