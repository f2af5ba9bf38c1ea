"""A result record: one (track, model, seed) evaluation with everything needed to trust and
regenerate it (protocol preset, seeds, data fingerprint, git commit, versions, backend, threads,
wall time). Tables are a pure function of records."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict

from ..utils.environment import provenance
from ..utils.fingerprint import hash_config


def _finite(obj: Any) -> Any:
    """JSON has no NaN/Inf: store them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


@dataclass
class Record:
    track: str
    model_id: str
    seed: int
    profile: str
    protocol: str
    metrics: Dict[str, Any]
    config: Dict[str, Any]
    data_fingerprint: str
    provenance: Dict[str, Any]
    wall_time_s: float
    created_at: float = field(default_factory=time.time)

    @property
    def record_id(self) -> str:
        return hash_config([self.track, self.model_id, self.seed, self.profile, self.protocol,
                            self.data_fingerprint, self.config], n=24)

    def to_json(self) -> str:
        return json.dumps(_finite(asdict(self)), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "Record":
        return cls(**json.loads(text))


def make_record(track: str, model_id: str, seed: int, profile: str, protocol: str, metrics: Dict[str, Any],
                config: Dict[str, Any], data_fingerprint: str, wall_time_s: float) -> Record:
    return Record(track, model_id, seed, profile, protocol, _finite(metrics), _finite(config), data_fingerprint,
                  provenance(), wall_time_s)
