"""The sandboxed process that imports a code submission and answers the scorer's requests.

It never computes a metric and never writes a record: it returns logits (and input gradients)
for the tensors the scorer sends, a digest of its weights, or an exported graph written to its
scratch directory. Requests (``ipc`` messages, ``op`` in the header): ``forward`` (tensor x; with
``grad`` the graph is kept for one ``backward``), ``backward`` (id, grad_out, x), ``digest``,
``export`` and ``exit``. Started by ``remote.ModelClient``; ``python -m`` with the arguments below.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m shortcutbench.submissions.server")
    p.add_argument("dir")
    p.add_argument("--scratch", required=True)
    p.add_argument("--fd-in", type=int, required=True)
    p.add_argument("--fd-out", type=int, required=True)
    p.add_argument("--namespaces", default=None, metavar="OUTER_MNT_NS",
                   help="enter the namespace sandbox first (the starter's mount namespace, never remounted)")
    p.add_argument("--memory", type=int, required=True)
    p.add_argument("--processes", type=int, required=True)
    p.add_argument("--file-bytes", type=int, required=True)
    return p.parse_args(argv)


def _confine(args) -> None:
    """Everything that must hold before the first line of submitted code runs."""
    from .sandbox import Limits, apply_rlimits, enter

    scratch = Path(args.scratch)
    if args.namespaces:
        enter(scratch, args.namespaces)
    apply_rlimits(Limits(memory_bytes=args.memory, extra_processes=args.processes, file_bytes=args.file_bytes))
    os.chdir(scratch)
    os.environ.update(HOME=str(scratch), TMPDIR=str(scratch))
    os.dup2(2, 1)  # a print() in model.py goes to stderr, never into the channel


def _digest(model) -> dict:
    """sha256 of each state_dict entry: the scorer names the entries that changed."""
    import torch

    return {k: hashlib.sha256(v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
            for k, v in model.state_dict().items()}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


class _Server:
    def __init__(self, model, fd_in: int, fd_out: int, scratch: Path):
        self.model, self.fd_in, self.fd_out, self.scratch = model, fd_in, fd_out, scratch
        self.graph = None  # (call id, x, y) of the last forward with grad
        self.calls = 0

    def serve(self) -> None:
        from . import ipc

        while True:
            try:
                header, tensors = ipc.recv(self.fd_in)
            except ipc.ChannelError:
                return  # the scorer went away
            if header.get("op") == "exit":
                return
            try:
                reply, out = getattr(self, f"op_{header['op']}")(header, tensors)
            except Exception as exc:  # the model's error, reported to the scorer as one line
                reply, out = {"error": _one_line(exc)}, []
            ipc.send(self.fd_out, reply, out)

    def op_forward(self, header, tensors):
        import torch

        (x,) = tensors
        self.calls += 1
        if header.get("grad"):
            x = x.clone().requires_grad_(True)
            with torch.enable_grad():
                y = self.model(x)
            self.graph = (self.calls, x, y) if isinstance(y, torch.Tensor) and y.requires_grad else None
        else:
            with torch.no_grad():
                y = self.model(x)
        if not isinstance(y, torch.Tensor):
            return {"error": f"model returned {type(y).__name__}, not a tensor"}, []
        return {"id": self.calls}, [y.detach()]

    def op_backward(self, header, tensors):
        import torch

        g, x = tensors
        if self.graph is None or self.graph[0] != header["id"]:  # not the last call: recompute it
            xr = x.clone().requires_grad_(True)
            with torch.enable_grad():
                self.graph = (header["id"], xr, self.model(xr))
        _, xr, y = self.graph
        (gx,) = torch.autograd.grad(y, xr, g, retain_graph=True, allow_unused=False)
        return {}, [gx]

    def op_digest(self, header, tensors):
        return {"digest": _digest(self.model)}, []

    def op_export(self, header, tensors):
        from .program import export_to_file

        path = self.scratch / "exported.safetensors"
        export_to_file(self.model, path)
        return {"path": path.name}, []


def main(argv=None) -> int:
    args = _args(argv)
    _confine(args)
    from .sandbox import die_with_starter

    die_with_starter()  # after _confine: its thread holds no capability _confine dropped
    from . import ipc
    from .format import load_model, read_submission

    try:
        model = load_model(read_submission(args.dir))
    except Exception as exc:  # UsageError from the loader, or whatever the submitted code raised
        msg = str(exc) if type(exc).__name__ == "UsageError" else _one_line(exc)
        ipc.send(args.fd_out, {"error": msg})
        return 2
    ipc.send(args.fd_out, {"ready": True})
    _Server(model, args.fd_in, args.fd_out, Path(args.scratch)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
