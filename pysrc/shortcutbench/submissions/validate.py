"""Checks a submission passes before any track runs. Each failure is one UsageError line (exit 2).

The contract every track assumes (and zoo models meet): input float [B, 3, 28, 28] in [0, 1]
(the model does its own normalisation: research/adversarial.md §5.2, preprocessing mismatches are
the commonest complaint), output raw logits [B, 10], deterministic in eval mode, no state change
during evaluation.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn as nn

from ..errors import UsageError
from .format import INPUT_SHAPE, NUM_CLASSES, Submission, load_model, read_submission

CHECKS = ("manifest", "factory and weights", "input/output shape", "finite outputs", "deterministic in eval mode",
          "logits not probabilities", "weights unchanged by evaluation", "tracks exist")
_PROBE_BATCH = 8


def state_fingerprint(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_tensors(model: nn.Module, before: Dict[str, torch.Tensor]) -> List[str]:
    after = model.state_dict()
    return [k for k, v in before.items() if k not in after or not torch.equal(after[k], v)]


def check_model(sub: Submission, model: nn.Module) -> None:
    def fail(msg: str) -> UsageError:
        return UsageError(f"submission {str(sub.root)!r}: {msg}")

    gen = torch.Generator().manual_seed(0)
    x = torch.rand((_PROBE_BATCH,) + INPUT_SHAPE, generator=gen)
    before = state_fingerprint(model)
    model.eval()
    with torch.no_grad():
        try:
            y1 = model(x.clone())
            y2 = model(x.clone())
        except Exception as exc:
            first = str(exc).strip().splitlines()
            raise fail(f"model fails on input [{_PROBE_BATCH}, 3, 28, 28] in [0, 1]: {type(exc).__name__}: "
                       f"{first[0] if first else ''}") from None
    if not isinstance(y1, torch.Tensor):
        raise fail(f"model returned {type(y1).__name__}, expected a logits tensor [B, {NUM_CLASSES}]")
    if tuple(y1.shape) != (_PROBE_BATCH, NUM_CLASSES):
        raise fail(f"wrong output shape: input [{_PROBE_BATCH}, 3, 28, 28] gave {list(y1.shape)}, "
                   f"expected [{_PROBE_BATCH}, {NUM_CLASSES}]")
    if not torch.isfinite(y1).all():
        raise fail(f"model outputs NaN/Inf on inputs in [0, 1] ({int((~torch.isfinite(y1)).sum())} of {y1.numel()} values)")
    changed = changed_tensors(model, before)
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


def validate(root, tracks: Sequence[str] = ()) -> tuple:
    """Every check in CHECKS; returns (submission, model, track names). Raises on the first failure."""
    sub = read_submission(root)
    names = select_tracks(tracks or sub.meta["tracks"])
    model = load_model(sub)
    check_model(sub, model)
    return sub, model, names
