"""The ssl zoo: the encoders behind the full profile's tables, shipped like the zoo's models
(``zoo/weights/<name>/seed<k>.safetensors`` with a JSON record naming their SHA-256, budget,
history and CPU time; :mod:`shortcutbench.zoo.shipped`). Name: ``<arch>.<method>.<dataset>``.

The track asks :func:`encoder` for an encoder: a shipped one whose record matches the protocol's
configuration and data is loaded (hash checked), never retrained; otherwise it comes from the
cache or is trained (``shortcutbench ssl train`` trains and ships, sharded like ``zoo train``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence, Tuple

from ..models import create_model
from ..utils.environment import provenance
from ..zoo.shipped import is_shipped, load_record, load_shipped, save_shipped
from .methods import create_method
from .pretrain import PretrainConfig, Pretrained, cache_key, encoder_method, load_or_pretrain


@dataclass(frozen=True)
class EncoderRun:
    method: str  # a method that trains its own encoder
    dataset: str
    cfg: PretrainConfig
    seeds: int

    @property
    def name(self) -> str:
        return f"{self.cfg.arch}.{self.method}.{self.dataset}"


def encoder_methods(methods: Sequence[str]) -> List[str]:
    """The distinct encoders ``methods`` read (linear-separated supervised reads supervised's)."""
    out: List[str] = []
    for m in methods:
        if encoder_method(m) not in out:
            out.append(encoder_method(m))
    return out


def catalogue(protocol) -> List[EncoderRun]:
    """Every encoder of a track protocol (``tracks.ssl.SslProtocol``), with its epochs."""
    from dataclasses import replace

    runs = []
    for ds in protocol.datasets:
        for m in encoder_methods(protocol.methods):
            factor = protocol.ssl_epoch_factor if create_method(m).self_supervised else 1
            runs.append(EncoderRun(m, ds, replace(protocol.pretrain, epochs=protocol.pretrain.epochs * factor),
                                   protocol.seeds))
    return runs


def jobs(runs: Sequence[EncoderRun], seeds: Optional[int] = None, shard: Tuple[int, int] = (0, 1)
         ) -> List[Tuple[EncoderRun, int]]:
    picked = [(r, s) for r in runs for s in range(r.seeds) if seeds is None or s < seeds]
    return picked[shard[0]::shard[1]]


def _matches(record, run: EncoderRun, data, seed: int) -> bool:
    return record.get("zoo_key") == cache_key(run.method, data, run.cfg, seed)


def shipped_matches(run: EncoderRun, data, seed: int, root=None) -> bool:
    """Whether ``run``'s encoder for ``seed`` is shipped under this very method, config and data."""
    return is_shipped(run.name, seed, root) and _matches(load_record(run.name, seed, root), run, data, seed)


def encoder(method: str, data, cfg: PretrainConfig, seed: int, root=None) -> Pretrained:
    """Shipped weights when their record matches (method, config, data, seed), else cache/train."""
    run = EncoderRun(encoder_method(method), data.name, cfg, seeds=1)
    if is_shipped(run.name, seed, root):
        state, record = load_shipped(run.name, seed, root)  # SHA-256 checked
        if _matches(record, run, data, seed):
            model = create_model(cfg.arch, in_channels=data.in_channels)
            model.load_state_dict(state)
            return Pretrained(model.eval(), record["history"], record["train_time_s"], cached=True)
    return load_or_pretrain(method, data, cfg, seed)


def ship(run: EncoderRun, data, seed: int, root=None) -> dict:
    """Train (or take from the cache) and ship one encoder; returns its record."""
    res = load_or_pretrain(run.method, data, run.cfg, seed)
    record = {"run": run.name, "method": run.method, "dataset": run.dataset, "arch": run.cfg.arch,
              "pretrain": asdict(run.cfg), "zoo_key": cache_key(run.method, data, run.cfg, seed),
              "data": {"fingerprint": data.fingerprint, "source": data.source, "train_size": len(data["train"])},
              "history": res.history, "train_time_s": res.train_time_s,
              "cpu_s": sum(h.get("cpu_s", 0.0) for h in res.history), "provenance": provenance()}
    return save_shipped(run.name, seed, res.model.state_dict(), record, root)
