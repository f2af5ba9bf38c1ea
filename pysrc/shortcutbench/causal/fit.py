"""Training the causal track's encoders (MSE on every factor's latent, Adam; pre-trained ones such
as SimCLR by their own hook, without the factors), with the result stored as safetensors + a JSON
record (zoo/shipped.py's format): shipped under
``zoo/weights/causal.<variant>.<encoder>/`` for the committed (full) protocol, cached under the
user cache dir otherwise. A stored model is reused only when its record's key matches the
training configuration."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

from ..data.scenes import SceneSet
from ..utils.fingerprint import hash_config
from ..utils.progress import progress
from ..zoo.shipped import WEIGHTS_DIR, is_shipped, load_shipped, save_shipped
from . import encoders as enc

FIT_VERSION = 1


@dataclass(frozen=True)
class FitConfig:
    epochs: int = 4
    batch: int = 128
    lr: float = 5e-3  # one-cycle peak; at 2e-3 the constrained net's head was far from trained after 2 epochs
    gain: float = 16.0  # linf_cnn's head bound (its ℓ∞ Lipschitz constant per latent)


@dataclass
class Fitted:
    name: str
    body: nn.Module  # an nn.Sequential for every built-in encoder
    head: Optional[nn.Linear]
    info: Dict[str, Any]


def weights_name(variant: str, encoder: str) -> str:
    return f"causal.{variant}.{encoder}"


def _root(ship: bool) -> Path:
    from ..zoo.spec import cache_dir

    return WEIGHTS_DIR if ship else cache_dir() / "causal_weights"


def fit_encoder(name: str, train: SceneSet, cfg: FitConfig, seed: int, ship: bool = False,
                pretrain_epochs: Optional[int] = None) -> Fitted:
    """The encoder ``name`` for ``train``'s variant at ``seed``: loaded when stored with the same
    key, else built (and, when trained, trained and stored). Pre-trained encoders (SimCLR) train
    for ``pretrain_epochs`` without the factors; their features are read by ridge readouts."""
    spec = enc.ENCODERS.get(name)
    pretrained = spec.pretrained is not None
    nf = train.latents.shape[1]
    body, head = enc.build(name, nf, seed, cfg.gain)
    if not spec.trained and not pretrained:
        return Fitted(name, body.eval(), head, {"trained": False})
    if pretrained and not pretrain_epochs:
        raise ValueError(f"encoder {name!r} is pre-trained: fit_encoder needs pretrain_epochs ≥ 1")
    # a pre-trained encoder's weights follow its own training settings, not the regressors' config
    if pretrained:
        config: Any = spec.settings(pretrain_epochs) if spec.settings else pretrain_epochs
    else:
        config = asdict(cfg)
    key = hash_config({"encoder": name, "data": train.fingerprint, "seed": seed, "v": FIT_VERSION,
                       ("settings" if pretrained else "cfg"): config}, n=20)
    model = nn.Sequential(body) if head is None else nn.Sequential(body, head)
    wname = weights_name(train.variant.name, name)
    for root in {_root(True), _root(ship), _root(False)}:
        if is_shipped(wname, seed, root):
            state, record = load_shipped(wname, seed, root)
            if record.get("key") == key:
                enc.bake(model)
                model.load_state_dict(state)
                return Fitted(name, body.eval(), head.eval() if head is not None else None, {**record, "cached": True})
    t0 = time.perf_counter()
    if pretrained:
        trained, history = spec.pretrained(train, seed, pretrain_epochs)
        body.load_state_dict(trained.state_dict())
    else:
        history = _train(model, train, cfg, seed, desc=f"{wname} seed {seed}")
    enc.bake(model)
    info = {"key": key, "trained": True, "config": config, "data": train.fingerprint, "n_train": len(train),
            "train_s": time.perf_counter() - t0, "history": history,
            "params": sum(p.numel() for p in model.parameters())}
    save_shipped(wname, seed, model.state_dict(), info, _root(ship))
    return Fitted(name, body.eval(), head.eval() if head is not None else None, {**info, "cached": False})


def _train(model: nn.Module, train: SceneSet, cfg: FitConfig, seed: int, desc: str):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * ((len(train) + cfg.batch - 1) // cfg.batch))
    history = []
    model.train()
    for epoch in progress(range(cfg.epochs), desc=desc):
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(0, len(train), cfg.batch):
            idx = order[i:i + cfg.batch]
            loss = nn.functional.mse_loss(model(train.float_images(idx)), train.latents[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * idx.numel()
        history.append({"epoch": epoch + 1, "mse": total / len(train)})
    model.eval()
    return history


@torch.no_grad()
def features(body: nn.Module, data: SceneSet, chunk: int = 1024) -> torch.Tensor:
    return torch.cat([body(data.float_images(torch.arange(i, min(i + chunk, len(data)))))
                      for i in range(0, len(data), chunk)])


def task_regressor(body: nn.Module, weight: torch.Tensor, bias: float, scale: float, offset: float) -> nn.Sequential:
    """body → one linear output = offset + scale·(w·features + b): the factor in its units."""
    lin = nn.Linear(weight.numel(), 1)
    with torch.no_grad():
        lin.weight.copy_(scale * weight.view(1, -1))
        lin.bias.fill_(offset + scale * bias)
    layers = list(body) if isinstance(body, nn.Sequential) else [body]  # flat, so the certifier sees every layer
    return nn.Sequential(*layers, lin).eval()


def regressor_for(fitted: Fitted, train: SceneSet, factor: str, readout) -> Tuple[nn.Sequential, str]:
    """The task regressor of ``factor`` (in its units): the trained head's row, or else the ridge
    readout (a :class:`~.readouts.LinearReadout` of the latents) fit on the training features."""
    j = train.variant.index(factor)
    f = train.variant.factor(factor)
    scale = 0.5 * (f.high - f.low)
    offset = f.low + scale
    if fitted.head is not None:
        return task_regressor(fitted.body, fitted.head.weight[j].detach(), float(fitted.head.bias[j].detach()), scale,
                              offset), "trained head"
    return task_regressor(fitted.body, readout.weight[:, j].float(), float(readout.bias[j]), scale, offset), "ridge readout"
