"""Datasets that ``shortcutbench data show`` can summarise and draw.

An entry is ``builder(options: dict[str, str], mnist_dir) -> DatasetView``; options come from
``--set key=value`` and map onto the dataset's typed config.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from ..registry import Registry
from ..utils.config import config_from_strings
from .colored_mnist import COLOR_NAMES, NUM_CLASSES, ColoredMNISTConfig, build_colored_mnist
from .mnist import load_digits, load_source


@dataclass
class DatasetView:
    """What ``data show`` prints and draws: summary lines and labelled sample images."""

    name: str
    lines: List[str]
    images: torch.Tensor  # [K, C, H, W] float in [0, 1]
    captions: List[str] = field(default_factory=list)

    def summary(self) -> str:
        return "\n".join([self.name] + ["  " + ln for ln in self.lines])

    def save_grid(self, path: Path, ncol: int = 10) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..utils.atomic import atomic_write_bytes
        import io

        k = self.images.shape[0]
        nrow = math.ceil(k / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(1.2 * ncol, 1.35 * nrow), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i < k:
                img = self.images[i].permute(1, 2, 0).clamp(0, 1).numpy()
                ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                          interpolation="nearest")
                if i < len(self.captions):
                    ax.set_title(self.captions[i], fontsize=6)
        fig.suptitle(self.name, fontsize=9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        atomic_write_bytes(path, buf.getvalue())


DatasetBuilder = Callable[[Dict[str, str], Optional[str]], DatasetView]
DATASETS: Registry[DatasetBuilder] = Registry("dataset")


@DATASETS.register("mnist")
def _mnist(options: Dict[str, str], mnist_dir: Optional[str]) -> DatasetView:
    digits = load_digits(mnist_dir)
    counts = torch.bincount(digits.labels, minlength=10).tolist()
    idx = torch.cat([torch.nonzero(digits.labels == d)[:2, 0] for d in range(10)])
    lines = [f"source: {digits.source}", f"images: {len(digits)} × 1×28×28 uint8",
             f"per class: {counts}", f"fingerprint: {digits.fingerprint}"]
    return DatasetView("mnist", lines, digits.images[idx].unsqueeze(1).float() / 255.0,
                       [f"y={int(digits.labels[i])}" for i in idx])


@DATASETS.register("colored_mnist")
def _colored_mnist(options: Dict[str, str], mnist_dir: Optional[str]) -> DatasetView:
    cfg = config_from_strings(ColoredMNISTConfig, options)
    data = build_colored_mnist(load_source(cfg.digits, mnist_dir), cfg)
    lines = [f"source: {data.source}", f"config: {cfg}", f"fingerprint: {data.fingerprint}"]
    for name, split in data.splits.items():
        dom = split.aligned.float().mean().item()
        lines.append(f"{name:>12}: {len(split):6d} images, dominant-colour share {dom:.4f}")
    train = data["train"]
    per_digit = [(train.aligned[train.digit == d].float().mean().item()) for d in range(NUM_CLASSES)]
    lines.append("train dominant share per digit: " + " ".join(f"{d}:{s:.4f}" for d, s in enumerate(per_digit)))
    hard = data["hard"]
    cells = torch.bincount(hard.group, minlength=100).reshape(10, 10)
    off = cells[~torch.eye(10, dtype=torch.bool)]
    lines.append(f"hard cells: 90 conflicting, counts min {int(off.min())} max {int(off.max())}, "
                 f"dominant-colour images {int(cells.diag().sum())}")
    rng = np.random.default_rng(0)
    picks, captions = [], []
    for split_name in ("train", "hard"):
        s = data[split_name]
        for i in rng.choice(len(s), size=10, replace=False):
            picks.append(s.images(torch.tensor([int(i)])))
            captions.append(f"{split_name} y={int(s.digit[i])} {COLOR_NAMES[int(s.color[i])]}")
    return DatasetView("colored_mnist", lines, torch.cat(picks), captions)


@dataclass(frozen=True)
class _ToyOptions:
    canvas: Optional[int] = None
    eps: float = 0.41


def _toy_view(name: str, options: Dict[str, str]) -> DatasetView:
    from .lt import CLASS_NAMES, VALUE_SETS, extended_spec, toy_dataset

    opts = config_from_strings(_ToyOptions, options)
    data = toy_dataset(name, opts.canvas)
    lines = [f"seed 001 §6: {data.kernel}×{data.kernel} patterns on a {data.canvas}×{data.canvas} canvas, "
             f"{len(data)} images, classes {CLASS_NAMES[name]} = {torch.bincount(data.labels).tolist()}",
             f"extended sets at ε = {opts.eps} (enumerated by index, never stored):"]
    for vs in VALUE_SETS:
        n = extended_spec(data, opts.eps, vs).size
        lines.append(f"  {vs:>16}: {n:,} samples" + ("" if n < 2**63 else " (overflows int64)"))
    caps = [f"{CLASS_NAMES[name][int(y)]} @{tuple(o.tolist())}" for y, o in zip(data.labels, data.offsets)]
    return DatasetView(name, lines, data.images[:20].unsqueeze(1), caps[:20])


@DATASETS.register("lt")
def _lt(options: Dict[str, str], mnist_dir: Optional[str]) -> DatasetView:
    return _toy_view("lt", options)


@DATASETS.register("triangle_square")
def _triangle_square(options: Dict[str, str], mnist_dir: Optional[str]) -> DatasetView:
    return _toy_view("triangle_square", options)


@dataclass(frozen=True)
class _SceneOptions:
    n: int = 20
    seed: int = 0


def _scene_view(variant: str, options: Dict[str, str]) -> DatasetView:
    from .scenes import RESOLUTION, SHAPES, VARIANTS, describe, load_scenes

    opts = config_from_strings(_SceneOptions, options)
    data = load_scenes(variant, opts.n, opts.seed, "train", cache=False)
    var = VARIANTS.get(variant)
    lines = [f"seed 001 §7: procedural scenes, {RESOLUTION}×{RESOLUTION} RGB, classes {list(SHAPES)}, "
             f"{len(data)} sampled (seed {opts.seed})", "factors (latent in [−1, 1], mapped linearly to the range):"]
    lines += ["  " + ln for ln in describe(var)]
    lines.append(f"fingerprint: {data.fingerprint}")
    key = "distance" if "distance" in [f.name for f in var.factors] else "theta"
    vals = data.values(key)
    caps = [f"{SHAPES[int(c)]} {key[:4]}={float(v):.2f}" for c, v in zip(data.labels, vals)]
    return DatasetView(f"scenes_{variant}", lines, data.float_images(), caps)


def _scene_builder(variant: str) -> DatasetBuilder:
    return lambda options, mnist_dir: _scene_view(variant, options)


for _variant in ("light", "distance"):
    DATASETS.register(f"scenes_{_variant}")(_scene_builder(_variant))
