"""Why DANN-FixA and the saliency penalties do not leave ERM's floor on the embedded data
(README "Shortcut track", issue 5). Not part of any profile; prints one JSON line per run.

For each ρ, method and seed it trains with the track's schedule and records, per epoch: hard
accuracy (curve subset), accuracy on the aligned and on the conflicting *training* images
(memorisation), and for DANN-FixA what its dominance adversary achieves (``train_adv_*``).
``erm_adam`` is trained for 15 epochs, so its curve also serves as the same-optimiser,
same-epochs control for the 9-epoch saliency runs (Adam with a constant lr: the first 9 epochs
of a 15-epoch run are the 9-epoch run).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/studies/shortcut_why.py --rho 0.95 --seeds 0 1 2
    # the seed's number of optimiser steps (its epochs are over ~60,000 images, ours over 3,200)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/studies/shortcut_why.py --seeds 0 1 --epoch-scale 19 \
        --methods erm_adam dann_fixa saliency_stroke

The outputs quoted in the README are in ``benchmarks/studies/results/``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import torch

from shortcutbench.data import ColoredMNISTConfig
from shortcutbench.metrics import accuracy, predict_logits
from shortcutbench.models import create_model
from shortcutbench.tracks.common import colored_mnist
from shortcutbench.train import METHODS as METHODS_REGISTRY, TrainConfig, fit
from shortcutbench.zoo.evaluator import epoch_evaluator

METHODS = ("erm_adam", "dann_fixa", "saliency_bg", "saliency_stroke")
EPOCHS = {"erm_adam": 15}  # the others keep their seed schedule


def stretched(method: str, scale: int) -> str:
    """``method`` registered as ``method@xS``: its per-epoch schedules read epoch // S."""
    base = METHODS_REGISTRY.get(method)
    name = f"{method}@x{scale}"
    if name not in METHODS_REGISTRY:
        cls = type(name, (base,), {"name": name,
                                   "training_step": lambda self, b, e, st: base.training_step(self, b, e // scale, st)})
        METHODS_REGISTRY.register(name)(cls)
    return name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rho", type=float, default=0.95)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--epoch-scale", type=int, default=1,
                    help="s > 1: s× the epochs, every per-epoch schedule (λ) stretched s× (more steps)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    # the embedded digits (3,200 train) with the schedules of the old trained-here protocol
    data = colored_mnist(None, ColoredMNISTConfig(rho=args.rho))
    train = data["train"]
    aligned, conflicting = train.take(train.aligned, "train_aligned"), train.take(~train.aligned, "train_conf")
    # P(dominant | colour): what an adversary reading colour only can know about d
    p_dom = [float(train.aligned[train.color == c].float().mean()) for c in range(10)]
    print(json.dumps({"rho": args.rho, "n_train": len(train), "n_conflicting": len(conflicting),
                      "p_dominant_given_colour": [round(p, 4) for p in p_dom]}), flush=True)
    base_eval = epoch_evaluator(data)
    calls = {"n": 0}

    def evaluate(model):
        calls["n"] += 1
        if calls["n"] % args.epoch_scale:  # stretched runs: evaluate at the end of each original epoch
            return {}
        out = base_eval(model)
        out["train_aligned_acc"] = accuracy(predict_logits(model, aligned).argmax(1), aligned)
        out["train_conflicting_acc"] = accuracy(predict_logits(model, conflicting).argmax(1), conflicting)
        return out

    for method in args.methods:
        cfg = getattr(METHODS_REGISTRY.get(method), "default_train", None) or TrainConfig()
        if method in EPOCHS:
            cfg = replace(cfg, epochs=EPOCHS[method])
        name = method
        if args.epoch_scale > 1:
            cfg = replace(cfg, epochs=cfg.epochs * args.epoch_scale)
            name = stretched(method, args.epoch_scale)
        for seed in args.seeds:
            t0, c0 = time.perf_counter(), time.process_time()
            res = fit(create_model("lazy_cnn", seed=seed), name, data, cfg, seed, evaluate=evaluate, desc="why")
            hard = accuracy(predict_logits(res.model, data["hard"]).argmax(1), data["hard"])
            print(json.dumps({"rho": args.rho, "method": method, "epoch_scale": args.epoch_scale, "seed": seed, "epochs": cfg.epochs, "hard_acc": hard,
                              "train_time_s": res.train_time_s, "wall_s": time.perf_counter() - t0,
                              "cpu_s": time.process_time() - c0, "history": res.history}), flush=True)


if __name__ == "__main__":
    main()
