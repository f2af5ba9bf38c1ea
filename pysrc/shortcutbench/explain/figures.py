"""Diagnostic figures (matplotlib Agg, written through ``results.plots.save`` so the same inputs
give the same bytes): the seed's two-case Grad-CAM figure, the layer × objective prototype grid,
and image / map panels for the CLI."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..data.colored_mnist import COLOR_NAMES
from ..results.plots import plt, save
from .evaluate import decode_image
from .featviz import OBJECTIVES
from .metrics import ratio_text


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.clip(np.transpose(img, (1, 2, 0)), 0, 1)


def two_case_figure(cases: Dict[str, Dict], path: Path, title: str) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(5.6, 5.8))
    for row, (name, c) in enumerate(cases.items()):
        img = decode_image(c["image"], (3, 28, 28))
        heat = decode_image(c["map"], (1, 28, 28))[0]
        axes[row, 0].imshow(_rgb(img))
        axes[row, 0].set_title(f"{name}: digit {c['digit']}, {COLOR_NAMES[c['colour']]}", fontsize=8)
        axes[row, 1].imshow(_rgb(img).mean(2), cmap="gray")
        axes[row, 1].imshow(heat, cmap="jet", alpha=0.5, vmin=0, vmax=1)
        axes[row, 1].set_title(f"pred {c['pred']} (p = {c['p_pred']:.3f}), bg/stroke = {ratio_text(c['ratio'])}", fontsize=8)
        for ax in axes[row]:
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def prototype_grid(grid: Dict[str, Dict], path: Path, title: str, order: Optional[Sequence[str]] = None) -> None:
    """Rows = layers (in ``order``, input → output), columns = objectives; prototypes clipped to
    the valid pixel range [0, 1]."""
    layers = [l for l in (order or grid) if l in grid]
    fig, axes = plt.subplots(len(layers), len(OBJECTIVES), figsize=(1.5 * len(OBJECTIVES) + 1, 1.5 * len(layers)))
    axes = np.atleast_2d(axes)
    for i, layer in enumerate(layers):
        for j, obj in enumerate(OBJECTIVES):
            ax = axes[i, j]
            ax.imshow(_rgb(decode_image(grid[layer][obj], (3, 28, 28))))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(obj, fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{layer} ch{grid[layer]['channel']}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def panels(images: np.ndarray, maps: np.ndarray, captions: Sequence[str], path: Path, title: str) -> None:
    """images [B, 3, H, W] in [0, 1], maps [B, H, W] in [0, 1]: image above, overlay below."""
    b = images.shape[0]
    fig, axes = plt.subplots(2, b, figsize=(1.6 * b + 0.4, 3.6), squeeze=False)
    for k in range(b):
        axes[0, k].imshow(_rgb(images[k]))
        axes[0, k].set_title(captions[k], fontsize=7)
        axes[1, k].imshow(_rgb(images[k]).mean(2), cmap="gray")
        axes[1, k].imshow(maps[k], cmap="jet", alpha=0.5, vmin=0, vmax=1)
        for ax in axes[:, k]:
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def image_grid(images: np.ndarray, captions: Sequence[str], path: Path, title: str, cols: int = 9) -> None:
    n = images.shape[0]
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(_rgb(images[k]))
            ax.set_title(captions[k], fontsize=6)
    fig.suptitle(title, fontsize=9)
    save(fig, path)
