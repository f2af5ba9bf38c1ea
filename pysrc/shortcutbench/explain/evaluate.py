"""The numbers the ``diagnostics`` track puts into its tables, one function per family, shared by
the track and the CLI. Every function takes a trained model in eval mode and Colored-MNIST."""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..data.colored_mnist import NUM_CLASSES, ColoredMNIST, ColoredSplit
from ..errors import UsageError
from .attribution import ATTRIBUTIONS, attribute, to_input
from .baselines import BASELINES
from .featviz import FeatVizConfig, OBJECTIVES, layer_activations, maximise, microscope, purity
from .metrics import bg_stroke_ratio, deletion_insertion_auc, mass_inside, pointing_game, stroke_mask
from .sae import (SAEConfig, SplicedSAE, Standardiser, collect, eta_null, eta_squared, quality, train_sae)
from .sanity import cascading_randomisation


@dataclass(frozen=True)
class DiagnosticsConfig:
    images_per_side: int = 500  # aligned (easy) and conflicting (hard) images scored per model
    layer: str = "conv3"  # the seed's Grad-CAM layer (§5.3: final conv layer)
    methods: Tuple[str, ...] = ("gradcam", "gradcam++", "hirescam", "cam", "saliency", "smoothgrad", "ig")
    cam_layer: str = "pool3"  # CAM needs the map the GAP reads
    pointing_tolerance: float = 1.0
    deletion_step: int = 28  # pixels per deletion/insertion step (28 → 28 steps on 28×28)
    ig_steps: int = 32
    smoothgrad_samples: int = 25
    randomisation_images: int = 200
    randomisation_methods: Tuple[str, ...] = ("gradcam", "saliency", "ig")
    sae: SAEConfig = SAEConfig()
    sae_sites: Tuple[Tuple[str, str], ...] = (("relu1", "spatial_mean"), ("relu1", "per_position"),
                                              ("relu2", "spatial_mean"), ("relu2", "per_position"),
                                              ("relu3", "spatial_mean"), ("relu3", "per_position"),
                                              ("gap", "spatial_mean"))
    sae_train_images: int = 4000  # seed §8.4: ~4000 samples for μ, σ
    sae_eval_per_cell: int = 20  # easy ∪ hard images per (digit, colour) cell for η² and quality
    intervention_alpha: float = 5.0  # seed §8.7
    ablate_k: int = 10  # seed §8.8
    ablation_images: int = 1000  # hard images the ablation is measured on
    microscope_k: int = 8
    microscope_layers: Tuple[str, ...] = ("relu1", "relu2", "relu3")
    featviz: FeatVizConfig = FeatVizConfig()
    featviz_layers: Tuple[str, ...] = ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "fc")
    seed: int = 0


def _subset(split: ColoredSplit, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(len(split), generator=g)[:min(n, len(split))]


def method_maps(model: nn.Module, x: torch.Tensor, method: str, cfg: DiagnosticsConfig,
                target: Optional[torch.Tensor] = None):
    """(maps [B, 28, 28] normalised at input resolution, targets, attribution) for one method."""
    kw = {}
    layer = cfg.cam_layer if method == "cam" else cfg.layer
    if method == "ig":
        kw["n_steps"] = cfg.ig_steps
    if method == "smoothgrad":
        kw.update(n_samples=cfg.smoothgrad_samples, seed=cfg.seed)
    a = attribute(method, model, x, target, layer, **kw)
    return to_input(a.map, tuple(x.shape[-2:])), a.target, a


def _scores(model, x, maps, target, mask, cfg) -> Dict[str, List[float]]:
    auc = deletion_insertion_auc(model, x, maps, target, cfg.deletion_step)
    return {"ratio": bg_stroke_ratio(maps, mask).tolist(),
            "pointing": pointing_game(maps, mask, cfg.pointing_tolerance).tolist(),
            "mass": mass_inside(maps, mask).tolist(),
            "deletion": auc["deletion"].tolist(), "insertion": auc["insertion"].tolist()}


def _nanmean(v: Sequence[float]) -> float:
    a = np.asarray(v, dtype=float)
    return float(np.nanmean(a)) if np.isfinite(a).any() else math.nan


def attribution_scores(model: nn.Module, data: ColoredMNIST, cfg: DiagnosticsConfig) -> Dict[str, object]:
    """Per method and per model-free baseline, means over the aligned and conflicting images of the
    background/stroke ratio, pointing game, mass inside the stroke, deletion and insertion AUC;
    IG's mean |δ|/|ΔF|."""
    out: Dict[str, object] = {}
    sides = {"aligned": data["easy"], "conflicting": data["hard"]}
    batches = {}
    for side, split in sides.items():
        idx = _subset(split, cfg.images_per_side, cfg.seed + (side == "conflicting"))
        x = split.images(idx)
        with torch.no_grad():
            pred = model(x).argmax(1)
        batches[side] = (x, stroke_mask(split.gray[idx]), pred, split.digit[idx])
        out[f"acc_{side}"] = float((pred == split.digit[idx]).float().mean())
    for name in list(cfg.methods) + list(BASELINES):
        entry: Dict[str, float] = {}
        for side, (x, mask, pred, _) in batches.items():
            if name in BASELINES:
                maps, target = BASELINES[name](x, cfg.seed), pred
            else:
                maps, target, a = method_maps(model, x, name, cfg)
                if a.delta is not None:
                    gap = a.delta - a.raw.flatten(1).sum(1)  # = −(F(x) − F(x'))
                    entry[f"ig_rel_delta_{side}"] = float((a.delta.abs() / gap.abs().clamp_min(1e-12)).mean())
            for k, v in _scores(model, x, maps, target, mask, cfg).items():
                entry[f"{k}_{side}"] = _nanmean(v)
        out[name] = entry
    return out


def randomisation_scores(model: nn.Module, data: ColoredMNIST, cfg: DiagnosticsConfig) -> Dict[str, object]:
    hard = data["hard"]
    x = hard.images(_subset(hard, cfg.randomisation_images, cfg.seed + 2))
    with torch.no_grad():
        target = model(x).argmax(1)
    res = {}
    for method in cfg.randomisation_methods:
        res[method] = cascading_randomisation(model, x, target,
                                              lambda m, xx, t, _n=method: method_maps(m, xx, _n, cfg, t)[0], cfg.seed)
    return res


def _balanced_eval(data: ColoredMNIST, per_cell: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """easy ∪ hard: every held-out digit in all 10 colours (digit ⟂ colour); ``per_cell`` images
    of each (digit, colour) cell."""
    images, digits, colors = [], [], []
    g = torch.Generator().manual_seed(seed)
    for split in (data["easy"], data["hard"]):
        group = split.group
        for cell in torch.unique(group):
            members = torch.nonzero(group == cell)[:, 0]
            pick = members[torch.randperm(members.numel(), generator=g)[:per_cell]]
            images.append(split.images(pick))
            digits.append(split.digit[pick])
            colors.append(split.color[pick])
    return torch.cat(images), torch.cat(digits), torch.cat(colors)


def _ce(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float(torch.nn.functional.cross_entropy(logits, y))


def sae_scores(model: nn.Module, data: ColoredMNIST, cfg: DiagnosticsConfig) -> Dict[str, object]:
    """Per SAE site (layer/mode): quality, best colour and digit selectivity (η² − null),
    intervention on the top colour latent and ablation of the top-k colour latents."""
    train = data["train"]
    tr_images = train.images(_subset(train, cfg.sae_train_images, cfg.seed + 3))
    ev_x, ev_digit, ev_color = _balanced_eval(data, cfg.sae_eval_per_cell, cfg.seed + 4)
    hard = data["hard"]
    hard_idx = _subset(hard, cfg.ablation_images, cfg.seed + 5)
    hard_x, hard_y = hard.images(hard_idx), hard.digit[hard_idx]
    with torch.no_grad():
        clean_ev, clean_hard = model(ev_x), model(hard_x)
    out: Dict[str, object] = {"acc_clean": float((clean_ev.argmax(1) == ev_digit).float().mean()),
                              "ce_clean": _ce(clean_ev, ev_digit)}
    sites = {}
    for layer, mode in cfg.sae_sites:
        f_tr, _ = collect(model, layer, tr_images, mode, cfg.sae.positions, cfg.seed)
        std = Standardiser.fit(f_tr)
        sae = train_sae(std(f_tr), cfg.sae)
        f_ev, src = collect(model, layer, ev_x, mode, cfg.sae.positions, cfg.seed + 1)
        q = quality(sae, std(f_ev))
        with torch.no_grad():
            z = sae.encode(std(f_ev))
        null = eta_null(NUM_CLASSES, int(src.numel()))
        eta_c = (eta_squared(z, ev_color[src]) - null).nan_to_num(-1.0)
        eta_d = (eta_squared(z, ev_digit[src]) - null).nan_to_num(-1.0)
        spliced = SplicedSAE(model, layer, mode, sae, std)
        recon = spliced.logits(ev_x, reconstruct=True)
        top_colour = eta_c.topk(min(cfg.ablate_k, eta_c.numel())).indices
        site = dict(q, best_colour=float(eta_c.max()), best_digit=float(eta_d.max()), eta_null=null,
                    n_colour_selective=int((eta_c > 0.5).sum()), n_digit_selective=int((eta_d > 0.5).sum()),
                    acc_spliced=float((recon.argmax(1) == ev_digit).float().mean()), ce_spliced=_ce(recon, ev_digit))
        site.update(_intervene(spliced, z, src, ev_x, ev_color, int(top_colour[0]), cfg.intervention_alpha))
        site.update(_ablate(spliced, hard_x, hard_y, clean_hard, top_colour))
        sites[f"{layer}/{mode}"] = site
    out["sites"] = sites
    return out


def _intervene(spliced: SplicedSAE, z: torch.Tensor, src: torch.Tensor, x: torch.Tensor, color: torch.Tensor,
               k: int, alpha: float) -> Dict[str, float]:
    """Add α to latent k on every image; the latent's colour = the colour with the highest mean
    z_k; report the mean change of P(class of that colour) over images of other colours."""
    zk = z[:, k].double()
    per_colour = torch.zeros(NUM_CLASSES, dtype=torch.float64).index_add_(0, color[src], zk)
    counts = torch.bincount(color[src], minlength=NUM_CLASSES).clamp_min(1)
    c = int((per_colour / counts).argmax())
    others = color != c

    def edit(zz):
        zz[:, k] += alpha
        return zz

    p0 = torch.softmax(spliced.logits(x[others]), 1)[:, c]
    p1 = torch.softmax(spliced.logits(x[others], edit=edit), 1)[:, c]
    return {"intervention_latent": k, "intervention_colour": c, "intervention_dp": float((p1 - p0).mean()),
            "intervention_flip_to_colour": float((spliced.logits(x[others], edit=edit).argmax(1) == c).float().mean())}


def _ablate(spliced: SplicedSAE, x: torch.Tensor, y: torch.Tensor, clean: torch.Tensor,
            latents: torch.Tensor) -> Dict[str, float]:
    """Seed §8.8: z_k = 0 for the top-k colour latents on hard images."""
    def edit(zz):
        zz[:, latents] = 0
        return zz

    logits = spliced.logits(x, edit=edit)
    pred0 = clean.argmax(1)
    conf0 = torch.softmax(clean, 1).gather(1, pred0[:, None])[:, 0]
    conf1 = torch.softmax(logits, 1).gather(1, pred0[:, None])[:, 0]
    drop = conf0 - conf1
    return {"ablation_pred_change": float((logits.argmax(1) != pred0).float().mean()),
            "ablation_conf_drop_mean": float(drop.mean()), "ablation_conf_drop_median": float(drop.median()),
            "ablation_acc": float((logits.argmax(1) == y).float().mean())}


def microscope_scores(model: nn.Module, data: ColoredMNIST, cfg: DiagnosticsConfig) -> Dict[str, object]:
    """Per layer, mean over channels of the colour and digit purity of the top-k activating images
    of the balanced easy ∪ hard set (chance for k = 8 of 10 equiprobable labels ≈ 0.27)."""
    x, digit, color = _balanced_eval(data, cfg.sae_eval_per_cell, cfg.seed + 4)
    out = {}
    for layer in cfg.microscope_layers:
        top = microscope(layer_activations(model, layer, x), cfg.microscope_k)
        out[layer] = {"colour_purity": float(purity(color, top).mean()), "digit_purity": float(purity(digit, top).mean())}
    return out


def encode_image(img: torch.Tensor) -> str:
    """[C, H, W] → base64 of uint8 after per-image min-max (prototypes and maps in records)."""
    a = img.detach().float()
    a = (a - a.min()) / (a.max() - a.min() + 1e-12)
    arr = (a * 255).round().to(torch.uint8).numpy()
    return base64.b64encode(arr.tobytes()).decode()


def decode_image(s: str, shape: Sequence[int]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=np.uint8).reshape(shape).astype(np.float32) / 255.0


def prototypes(model: nn.Module, data: ColoredMNIST, cfg: DiagnosticsConfig) -> Dict[str, object]:
    """Layer × objective prototype grid (seed §4.4). Per layer the channel shown is the one with
    the largest mean activation on the balanced set; images stored as base64 uint8."""
    x, _, _ = _balanced_eval(data, 2, cfg.seed + 6)
    grid = {}
    for layer in cfg.featviz_layers:
        acts = layer_activations(model, layer, x)
        ch = int(acts.reshape(acts.shape[0], acts.shape[1], -1).mean((0, 2)).argmax())
        row = {"channel": ch}
        for obj in OBJECTIVES:
            r = maximise(model, layer, [ch], obj, cfg.featviz)
            row[obj] = encode_image(r["images"][0].clamp(0, 1))
        grid[layer] = row
    return grid


def two_case(model: nn.Module, data: ColoredMNIST, layer: str = "conv3", method: str = "gradcam",
             digit: int = 0, conflict_colour: int = 1) -> Dict[str, object]:
    """Seed §5.4: the same grayscale digit as an aligned image (digit d in colour d) and as a
    conflicting one (colour ``conflict_colour``); map, prediction, confidence, bg/stroke ratio."""
    easy, hard = data["easy"], data["hard"]
    i = int(torch.nonzero(easy.digit == digit)[0, 0])
    j = torch.nonzero((hard.source_index == easy.source_index[i]) & (hard.color == conflict_colour))
    if j.numel() == 0:
        raise UsageError(f"no conflicting image of digit {digit} in colour {conflict_colour}")
    cases = {}
    for name, split, k in (("aligned", easy, i), ("conflicting", hard, int(j[0, 0]))):
        x = split.images(torch.tensor([k]))
        a = attribute(method, model, x, None, layer if method != "cam" else "pool3")
        maps = to_input(a.map, (28, 28))
        mask = stroke_mask(split.gray[k:k + 1])
        with torch.no_grad():
            p = torch.softmax(model(x), 1)[0]
        cases[name] = {"digit": int(split.digit[k]), "colour": int(split.color[k]), "pred": int(p.argmax()),
                       "p_pred": float(p.max()), "ratio": float(bg_stroke_ratio(maps, mask)[0]),
                       "bg_mean": float((maps[0][~mask[0]]).mean()), "stroke_mean": float((maps[0][mask[0]]).mean()),
                       "image": encode_image(x[0]), "map": encode_image(maps[0][None])}
    return cases
