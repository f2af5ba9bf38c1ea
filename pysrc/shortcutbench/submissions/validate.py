"""Checks a submission passes before any track runs. Each failure is one UsageError line (exit 2).

The contract every track assumes (and zoo models meet): input float [B, 3, 28, 28] in [0, 1]
(the model does its own normalisation: research/adversarial.md §5.2, preprocessing mismatches are
the commonest complaint), output raw logits [B, 10], deterministic in eval mode, no state change
during evaluation.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from ..errors import UsageError
from .format import INPUT_SHAPE, KINDS, NUM_CLASSES, Submission, load_verified, read_submission
from .ipc import ChannelError
from .program import ProgramError, load_program
from .sandbox import Limits

CHECKS = ("manifest", "factory and weights", "input/output shape", "finite outputs", "deterministic in eval mode",
          "logits not probabilities", "weights unchanged by evaluation", "tracks exist")
_PROBE_BATCH = 8


def state_fingerprint(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_tensors(model: nn.Module, before: Dict[str, torch.Tensor]) -> List[str]:
    after = model.state_dict()
    return [k for k, v in before.items() if k not in after or not torch.equal(after[k], v)]


def weights_snapshot(model: nn.Module) -> Dict:
    """What ``weights_changed`` compares: the tensors here, their sha256 for a sandboxed model."""
    digest = getattr(model, "weights_digest", None)
    return digest() if digest else state_fingerprint(model)


def weights_changed(model: nn.Module, before: Dict) -> List[str]:
    digest = getattr(model, "weights_digest", None)
    if digest is None:
        return changed_tensors(model, before)
    after = digest()
    return [k for k, v in before.items() if after.get(k) != v]


def check_model(sub: Submission, model: nn.Module) -> None:
    def fail(msg: str) -> UsageError:
        return UsageError(f"submission {str(sub.root)!r}: {msg}")

    gen = torch.Generator().manual_seed(0)
    x = torch.rand((_PROBE_BATCH,) + INPUT_SHAPE, generator=gen)
    before = weights_snapshot(model)
    model.eval()
    with torch.no_grad():
        try:
            y1 = model(x.clone())
            y2 = model(x.clone())
        except (UsageError, ChannelError):  # a stage's time limit or a dead sandbox: its own line
            raise
        except Exception as exc:  # a sandboxed model's error arrives as "Type: message" already
            first = str(exc).strip().splitlines()
            what = f"{type(exc).__name__}: " if type(exc).__name__ != "ModelCallError" else ""
            raise fail(f"model fails on input [{_PROBE_BATCH}, 3, 28, 28] in [0, 1]: {what}"
                       f"{first[0] if first else ''}") from None
    if not isinstance(y1, torch.Tensor):
        raise fail(f"model returned {type(y1).__name__}, expected a logits tensor [B, {NUM_CLASSES}]")
    if tuple(y1.shape) != (_PROBE_BATCH, NUM_CLASSES):
        raise fail(f"wrong output shape: input [{_PROBE_BATCH}, 3, 28, 28] gave {list(y1.shape)}, "
                   f"expected [{_PROBE_BATCH}, {NUM_CLASSES}]")
    if not torch.isfinite(y1).all():
        raise fail(f"model outputs NaN/Inf on inputs in [0, 1] ({int((~torch.isfinite(y1)).sum())} of {y1.numel()} values)")
    changed = weights_changed(model, before)
    if changed:
        raise fail(f"model changes its weights during evaluation ({', '.join(changed[:3])})")
    if not torch.allclose(y1, y2, rtol=1e-5, atol=1e-6):
        raise fail(f"non-deterministic outputs in eval mode (max |difference| {float((y1 - y2).abs().max()):.3g} "
                   f"between two identical calls)")
    row_sums = y1.double().sum(1)
    if (y1 >= 0).all() and torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-4):
        raise fail("outputs are probabilities (non-negative, rows sum to 1); return logits, drop the softmax")


def select_tracks(requested: Sequence[str]) -> List[str]:
    """Names of the tracks to run: 'all' → every track that accepts submissions."""
    from ..tracks import TRACKS

    if list(requested) in ([], ["all"]):
        return [n for n in TRACKS.list() if TRACKS.get(n).accepts_submissions]
    unknown = [n for n in requested if n not in TRACKS]
    if unknown:
        raise UsageError(f"unknown track(s) {', '.join(map(repr, unknown))} (known: {', '.join(TRACKS.list())})")
    refused = [n for n in requested if not TRACKS.get(n).accepts_submissions]
    if refused:
        raise UsageError(f"track(s) {', '.join(map(repr, refused))} do not evaluate submitted models")
    return list(dict.fromkeys(requested))


@dataclass
class Validated:
    """A submission that passed every check, and how it will be scored."""
    sub: Submission
    tracks: List[str]
    kind: str  # a value of format.KINDS
    program: Optional[Path] = None  # exported from code: the graph file (in a temporary directory)
    export_failure: str = ""  # code kept as code: why it was not exported


def validate(root, tracks: Sequence[str] = (), limits: Optional[Limits] = None, export: bool = True,
             workdir: Optional[Path] = None) -> Validated:
    """Every check in CHECKS; raises on the first failure. A verified submission is loaded here
    (no submitted code runs); a code submission is checked in the sandbox and, with ``export``,
    exported there into ``workdir`` and checked again as a graph."""
    sub = read_submission(root)
    names = select_tracks(tracks or sub.meta["tracks"])
    if sub.verified:
        check_model(sub, load_verified(sub))
        return Validated(sub, names, KINDS[sub.source])
    from .remote import ModelCallError, ModelClient, RemoteModel

    with ModelClient(sub, limits or Limits()) as client:
        remote = RemoteModel(client)
        with client.stage("checks"):
            check_model(sub, remote)
        if not export:
            return Validated(sub, names, KINDS["code"], export_failure="--no-export")
        try:
            with client.stage("export"):
                produced = client.export()
            program = Path(workdir or tempfile.mkdtemp(prefix="sb-export-")) / f"{sub.hash}.safetensors"
            fd = os.open(produced, os.O_RDONLY | os.O_NOFOLLOW)  # never a link the sandbox swapped in
            with os.fdopen(fd, "rb") as src, open(program, "wb") as dst:
                shutil.copyfileobj(src, dst)  # out of the sandbox's scratch dir before it is removed
            graph = load_program(program).eval()
            with client.stage("export check"):
                _same_outputs(remote, graph)
        except (ModelCallError, ProgramError, UsageError) as exc:  # a hang or crash in export too: keep the code
            return Validated(sub, names, KINDS["code"], export_failure=_one_line(exc))
    check_model(sub, graph)
    return Validated(sub, names, KINDS["exported"], program)


def _same_outputs(remote: nn.Module, graph: nn.Module) -> None:
    """The graph must compute what the code computes, on two batch sizes (the batch is dynamic)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for batch in (_PROBE_BATCH, 3):
            x = torch.rand((batch,) + INPUT_SHAPE, generator=gen)
            a, b = remote(x), graph(x)
            if a.shape != b.shape or not torch.allclose(a, b, rtol=1e-4, atol=1e-5):
                diff = float((a - b).abs().max()) if a.shape == b.shape else float("nan")
                raise ProgramError(f"the exported graph's outputs differ from the code's on a batch of {batch} "
                                   f"(max |difference| {diff:.3g})")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
