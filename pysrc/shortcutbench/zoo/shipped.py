"""Shipped zoo weights: ``weights/<name>/seed<k>.safetensors`` with a JSON record beside it
(budget, training history, data fingerprint, code commit and the file's SHA-256). Loading
checks the hash and refuses a mismatch; safetensors holds tensors only, so loading runs no code.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch

from ..errors import UsageError
from ..utils.atomic import atomic_write_bytes, atomic_write_text
from ..utils.device import place

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def shipped_paths(name: str, seed: int, root: Optional[Path] = None) -> Tuple[Path, Path]:
    d = Path(root or WEIGHTS_DIR) / name
    return d / f"seed{seed}.safetensors", d / f"seed{seed}.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_shipped(name: str, seed: int, root: Optional[Path] = None) -> bool:
    return all(p.is_file() for p in shipped_paths(name, seed, root))


def save_shipped(name: str, seed: int, state: Dict[str, torch.Tensor], record: Dict[str, Any],
                 root: Optional[Path] = None) -> Dict[str, Any]:
    """Write the weights, then the record naming their hash (the record is the commit point:
    weights without a record are not shipped)."""
    from safetensors.torch import save

    weights, meta = shipped_paths(name, seed, root)
    blob = save({k: v.detach().cpu().contiguous() for k, v in state.items()})
    record = {**record, "name": name, "seed": seed, "weights": weights.name, "sha256": sha256(blob)}
    atomic_write_bytes(weights, blob)
    atomic_write_text(meta, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def load_record(name: str, seed: int, root: Optional[Path] = None) -> Dict[str, Any]:
    _, meta = shipped_paths(name, seed, root)
    if not meta.is_file():
        raise UsageError(f"zoo model {name} seed {seed} is not shipped (train it: shortcutbench zoo train "
                         f"--only {name} --seeds {seed + 1})")
    return json.loads(meta.read_text())


def load_shipped(name: str, seed: int, root: Optional[Path] = None) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """(state_dict, record) of a shipped model, its SHA-256 checked against the record."""
    from safetensors.torch import load

    record = load_record(name, seed, root)
    weights, _ = shipped_paths(name, seed, root)
    try:
        blob = weights.read_bytes()
    except OSError as exc:
        raise UsageError(f"zoo model {name} seed {seed}: cannot read {weights} ({exc.strerror})") from None
    got = sha256(blob)
    if got != record["sha256"]:
        raise UsageError(f"zoo model {name} seed {seed}: {weights.name} has SHA-256 {got[:16]}…, its record says "
                         f"{record['sha256'][:16]}… (corrupt or replaced; retrain with --retrain)")
    return load(blob), record


def load_shipped_model(name: str, seed: int, root: Optional[Path] = None):
    """(model in eval mode, record) of a shipped model; the architecture is the record's."""
    from ..models import create_model

    state, record = load_shipped(name, seed, root)
    model = create_model(record["arch"], seed=seed)
    model.load_state_dict(state)
    return place(model.eval()), record
