"""``shortcutbench explain``: PNG panels of attribution maps, the seed's two-case figure, the
prototype grid and the microscope for a zoo model."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import List

import numpy as np
import torch

from ..data.colored_mnist import COLOR_NAMES
from ..errors import UsageError

EXTRA = ("two-case", "featviz", "microscope")


def add_parser(sub) -> None:
    from .attribution import ATTRIBUTIONS

    from ..utils.device import add_device_arg

    methods = ATTRIBUTIONS.list() + list(EXTRA)
    p = sub.add_parser("explain", help="write PNG panels of attribution maps / diagnostics for a zoo model",
                       description="Explain a zoo model of the shortcut track. Methods: " + ", ".join(methods) + ".")
    p.add_argument("--model", default="lazy_cnn.erm",
                   help="shipped zoo model, e.g. lazy_cnn.erm (default); see: shortcutbench zoo list")
    p.add_argument("--seed", type=int, default=0, help="training seed of the zoo model (default 0)")
    p.add_argument("--method", default="gradcam", help="one of: " + ", ".join(methods))
    p.add_argument("--images", default="hard:0-7", metavar="SPLIT:RANGE",
                   help="images to explain, e.g. hard:0-7, easy:0,5,9 (splits: train, val, val_balanced, hard_val, "
                        "easy, hard); default hard:0-7")
    p.add_argument("--layer", default=None, help="layer for CAMs / featviz / microscope (default conv3; CAM: pool3)")
    p.add_argument("--target", default=None, help="class to explain (default: each image's prediction)")
    p.add_argument("--mnist-dir", default=None, metavar="DIR", help="local MNIST IDX directory (default: embedded)")
    p.add_argument("--out", default=str(Path("results") / "figures" / "explain"), metavar="DIR",
                   help="output directory for the PNG")
    add_device_arg(p)


def parse_images(spec: str):
    if ":" not in spec:
        raise UsageError(f"--images must look like SPLIT:RANGE (e.g. hard:0-7), got {spec!r}")
    split, rng = spec.split(":", 1)
    idx: List[int] = []
    try:
        for part in rng.split(","):
            if "-" in part:
                a, b = (int(v) for v in part.split("-", 1))
                idx += list(range(a, b + 1))
            else:
                idx.append(int(part))
    except ValueError:
        raise UsageError(f"--images range must be integers like 0-7 or 0,3,5, got {rng!r}") from None
    if not idx or len(idx) > 64 or min(idx) < 0:
        raise UsageError(f"--images must name 1 to 64 non-negative indices, got {len(idx)}")
    return split, torch.tensor(idx)


def _load_model(args):
    """The shipped model (hash checked, never trained here) and the data it was trained on."""
    from ..data.colored_mnist import cached_colored_mnist as colored_mnist
    from ..zoo import catalogue
    from ..zoo.shipped import load_shipped_model

    names = catalogue.shipped_names()
    if args.model not in names:
        raise UsageError(f"unknown zoo model {args.model!r} (see: shortcutbench zoo list)")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    run = names[args.model][0]
    model, _ = load_shipped_model(args.model, args.seed)
    data = colored_mnist(args.mnist_dir if run.data.digits == "mnist" else None, run.data)
    return model, data


def run(args) -> int:
    from ..utils.atomic import ensure_writable_dir
    from .attribution import ATTRIBUTIONS, attribute, to_input
    from .evaluate import DiagnosticsConfig, encode_image, prototypes, two_case
    from .featviz import layer_activations, microscope
    from .figures import image_grid, panels, prototype_grid, two_case_figure

    if args.method not in EXTRA:
        ATTRIBUTIONS.get(args.method)  # unknown method: one line before any work
    split_name, idx = parse_images(args.images)
    target = None if args.target is None else int(args.target)
    if target is not None and not 0 <= target <= 9:
        raise UsageError(f"--target must be a class 0..9, got {target}")
    model, data = _load_model(args)
    out = ensure_writable_dir(args.out)
    stem = f"{args.model}.s{args.seed}_{args.method}"
    if args.method == "two-case":
        path = out / f"{stem}.png"
        two_case_figure(two_case(model, data, args.layer or "conv3"), path,
                        f"{args.model} seed {args.seed}: Grad-CAM, biased red 0 vs conflicting green 0")
    elif args.method == "featviz":
        cfg = DiagnosticsConfig()
        if args.layer:
            cfg = replace(cfg, featviz_layers=(args.layer,))
        path = out / f"{stem}.png"
        prototype_grid(prototypes(model, data, cfg), path, f"{args.model} seed {args.seed}: activation maximisation",
                       cfg.featviz_layers)
    else:
        split = data[split_name]
        if int(idx.max()) >= len(split):
            raise UsageError(f"split {split_name!r} has {len(split)} images; index {int(idx.max())} is out of range")
        x = split.images(idx)
        if args.method == "microscope":
            layer = args.layer or "relu1"
            top = microscope(layer_activations(model, layer, split.images()), k=8)
            ch = int(idx[0]) % top.shape[0]
            imgs = split.images(top[ch]).numpy()
            caps = [f"y={int(split.digit[i])} c={COLOR_NAMES[int(split.color[i])]}" for i in top[ch]]
            path = out / f"{stem}_{layer}_ch{ch}_{split_name}.png"
            image_grid(imgs, caps, path, f"{args.model}: top-8 {split_name} images for {layer} channel {ch}", cols=8)
        else:
            layer = args.layer or ("pool3" if args.method == "cam" else "conv3")
            a = attribute(args.method, model, x, target, layer)
            maps = to_input(a.map, tuple(x.shape[-2:]))
            with torch.no_grad():
                p = torch.softmax(model(x), 1)
            caps = [f"y={int(split.digit[i])} {COLOR_NAMES[int(split.color[i])]}\npred {int(p[k].argmax())} "
                    f"({float(p[k].max()):.2f}) t={int(a.target[k])}" for k, i in enumerate(idx)]
            path = out / f"{stem}_{split_name}.png"
            panels(x.numpy(), maps.numpy(), caps, path, f"{args.model} seed {args.seed}: {args.method}"
                   + (f" at {layer}" if args.method not in ("saliency", "smoothgrad", "ig") else ""))
    print(f"wrote {path}")
    return 0
