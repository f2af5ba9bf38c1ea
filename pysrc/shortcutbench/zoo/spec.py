"""The model zoo: every trained model is an entry keyed by (architecture, method, training config,
hyperparameters, seed, data fingerprint), cached on disk and rebuilt deterministically when
missing. Tracks evaluate zoo entries and submitted models alike.

Cache: ``$SHORTCUTBENCH_CACHE`` or ``~/.cache/shortcutbench``; weights load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn

from ..models import create_model
from ..train import METHODS, TrainConfig, fit
from ..utils.atomic import atomic_torch_save, atomic_write_text
from ..utils.device import place
from ..utils.cache import cache_dir  # noqa: F401  (zoo.spec.cache_dir: its users' import path)
from ..utils.fingerprint import canonical_json, hash_config


# Bump when training changes meaning, so stale cache entries are never reused.
# v2: initial weights drawn from the entry's seed (create_model(seed=...)).
ZOO_VERSION = 2


@dataclass(frozen=True)
class ZooSpec:
    arch: str = "lazy_cnn"
    method: str = "erm"
    train: TrainConfig = TrainConfig()
    hparams: Dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    arch_kwargs: Dict[str, Any] = field(default_factory=dict)
    tag: str = ""  # variant name shown in tables when hparams differ from the method's defaults

    @property
    def model_id(self) -> str:
        """Seed-free name of the model family, e.g. ``lazy_cnn.erm`` (tables group seeds by it)."""
        return f"{self.arch}.{self.method}" + (f".{self.tag}" if self.tag else "")

    def key(self, data_fingerprint: str) -> str:
        payload = {"spec": {**asdict(self), "train": self.train.key_dict()}, "data": data_fingerprint,
                   "zoo": ZOO_VERSION}
        version = METHODS.get(self.method).zoo_version if self.method in METHODS else 1
        if version > 1:  # only methods that changed carry it, so every other key stays as it was
            payload["method_version"] = version
        return hash_config(payload, n=20)


@dataclass
class ZooEntry:
    spec: ZooSpec
    key: str
    model: nn.Module
    history: List[Dict[str, Any]]
    checkpoints: List[Dict[str, torch.Tensor]]
    train_time_s: float
    cached: bool

    def model_at_epoch(self, epoch: int) -> nn.Module:
        """The model as it was after ``epoch`` (1-based); for checkpoint-selection rules."""
        m = create_model(self.spec.arch, **self.spec.arch_kwargs)
        m.load_state_dict(self.checkpoints[epoch - 1])
        return place(m.eval())


def _paths(key: str):
    d = cache_dir() / "zoo"
    return d / f"{key}.pt", d / f"{key}.json"


def load_or_train(spec: ZooSpec, data: Any, evaluate: Optional[Callable[[nn.Module], Dict[str, Any]]] = None,
                  desc: str = "train") -> ZooEntry:
    key = spec.key(data.fingerprint)
    weights, meta = _paths(key)
    model = create_model(spec.arch, seed=spec.seed, **spec.arch_kwargs)
    if weights.is_file() and meta.is_file():
        state = torch.load(weights, map_location="cpu", weights_only=True)
        info = json.loads(meta.read_text())
        model.load_state_dict(state["final"])
        return ZooEntry(spec, key, place(model.eval()), info["history"], state["checkpoints"], info["train_time_s"], True)
    res = fit(model, spec.method, data, spec.train, spec.seed, evaluate=evaluate, hparams=spec.hparams, desc=desc)
    atomic_torch_save(weights, {"final": res.model.state_dict(), "checkpoints": res.checkpoints})
    atomic_write_text(meta, canonical_json({"spec": asdict(spec), "data": data.fingerprint, "history": res.history,
                                            "train_time_s": res.train_time_s}))
    return ZooEntry(spec, key, res.model, res.history, res.checkpoints, res.train_time_s, False)
