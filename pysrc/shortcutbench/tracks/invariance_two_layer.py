"""The ``invariance_two_layer`` track (seed 004 §4): a 784-h-10 ReLU MLP trained on grayscale MNIST
digits; for source → target pairs of different classes, one step along the projection of x_t − x_s
onto the null space of [W2⁺W1⁺; near-zero rows of W1] (see :mod:`shortcutbench.invariance.two_layer`),
the activation pattern re-checked, and how far the logits moved."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List

import numpy as np
import torch

from ..data import load_digits
from ..invariance.two_layer import TwoLayerConfig, analyse, train_mlp
from ..results import plots
from ..results.record import Record, make_record
from ..results.tables import Table
from ..utils.fingerprint import hash_config
from .base import TRACKS, RunContext, Track, select_profile


@dataclass(frozen=True)
class TwoLayerProtocol:
    name: str
    pairs_per_class: int
    train_size: int = 4000
    mlp: TwoLayerConfig = TwoLayerConfig()
    thresholds: tuple = (0.0, 0.3, 1.0)


PROTOCOLS = {"quick": TwoLayerProtocol("invariance_two_layer.quick.v1", pairs_per_class=1,
                                       mlp=TwoLayerConfig(epochs=5), thresholds=(0.3,)),
             "full": TwoLayerProtocol("invariance_two_layer.full.v1", pairs_per_class=1)}


def _split(digits, n_train):
    """A fixed random train/test split (the embedded digits are ordered by class)."""
    order = torch.randperm(len(digits.labels), generator=torch.Generator().manual_seed(0))
    x, y = digits.images[order].float().div(255).unsqueeze(1), digits.labels[order]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


@TRACKS.register("invariance_two_layer")
class TwoLayerTrack(Track):
    name = "invariance_two_layer"
    accepts_submissions = False  # analyses its own two-layer MLP (seed 004 §4), not a submitted classifier
    title = "Invariance track: single null-space step on a two-layer ReLU MLP (seed 004 §4)"

    def evaluate(self, model, ctx: RunContext) -> Dict[str, Any]:
        protocol = PROTOCOLS[ctx.profile]
        _, _, xte, yte = _split(load_digits(ctx.mnist_dir), protocol.train_size)
        return self._evaluate(model, xte, yte, protocol)

    def _evaluate(self, model, xte, yte, protocol) -> Dict[str, Any]:
        with torch.no_grad():
            acc = float((model(xte).argmax(1) == yte).double().mean())
        firsts = [torch.nonzero(yte == c).flatten() for c in range(10)]
        src = torch.stack([f[1:1 + protocol.pairs_per_class] for f in firsts])
        pairs = [(int(src[a, i]), int(firsts[b][0])) for a in range(10) for b in range(10) if a != b
                 for i in range(protocol.pairs_per_class)]
        out: Dict[str, Any] = {"test_acc": acc, "pairs": len(pairs)}
        for t in protocol.thresholds:
            cfg = TwoLayerConfig(**{**asdict(protocol.mlp), "threshold": t})
            res = analyse(model, xte[[p[0] for p in pairs], 0], xte[[p[1] for p in pairs], 0], cfg)
            out[f"t={t}"] = {
                "null_dim": float(np.mean([r["null_dim"] for r in res])),
                "rows": float(np.mean([r["rows"] for r in res])),
                "no_flip": float(np.mean([r["flipped_units"] == 0 for r in res])),
                "pred_kept": float(np.mean([r["pred_kept"] for r in res])),
                "max_logit_change_no_flip": float(max([r["logit_change"] for r in res if r["flipped_units"] == 0],
                                                      default=float("nan"))),
                "median_logit_change": float(np.median([r["logit_change"] for r in res])),
                "median_conf_change": float(np.median([r["conf_change"] for r in res])),
                "l2_before": float(np.median([r["l2_to_target_before"] for r in res])),
                "l2_after": float(np.median([r["l2_to_target_after"] for r in res])),
                "ssim_dist_after": float(np.median([r["ssim_dist_after"] for r in res])),
                "example": {"source": xte[pairs[0][0], 0].tolist(), "target": xte[pairs[0][1], 0].tolist(),
                            "result": res[0]["x"].view(28, 28).tolist()},
            }
        return out

    def run(self, ctx: RunContext) -> Iterable[Record]:
        protocol = PROTOCOLS[ctx.profile]
        digits = load_digits(ctx.mnist_dir)
        xtr, ytr, xte, yte = _split(digits, protocol.train_size)
        t0 = time.perf_counter()
        model = train_mlp(xtr.flatten(1), ytr, protocol.mlp)
        metrics = self._evaluate(model, xte, yte, protocol)
        yield make_record(self.name, f"mlp{protocol.mlp.hidden}.adam", protocol.mlp.seed, ctx.profile, protocol.name,
                          metrics, {"protocol": asdict(protocol), "data_source": digits.source},
                          hash_config(digits.source), time.perf_counter() - t0)

    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        records = select_profile(records)
        rows, figures = [], []
        fig_dir = Path(out_dir) / "figures" / self.name
        for r in records:
            for key, v in r.metrics.items():
                if not key.startswith("t="):
                    continue
                rows.append([r.model_id, f"{r.metrics['test_acc'] * 100:.1f}", key[2:], str(r.metrics["pairs"]),
                             f"{v['rows']:.0f}", f"{v['null_dim']:.0f}", f"{v['no_flip'] * 100:.0f}",
                             f"{v['max_logit_change_no_flip']:.1e}", f"{v['median_logit_change']:.3f}",
                             f"{v['median_conf_change']:.3f}", f"{v['pred_kept'] * 100:.0f}",
                             f"{v['l2_before']:.2f} → {v['l2_after']:.2f}", f"{v['ssim_dist_after']:.3f}"])
                ex = v["example"]
                path = fig_dir / f"{r.model_id}_{key}_example.png"
                import matplotlib.pyplot as plt

                fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
                for ax, (name, img) in zip(axes, (("source", ex["source"]), ("target", ex["target"]),
                                                 ("source + null-space step", ex["result"]))):
                    ax.imshow(np.asarray(img), cmap="gray", vmin=0, vmax=1)
                    ax.set_title(name, fontsize=7)
                    ax.axis("off")
                plots.save(fig, path)
                figures.append(str(path.relative_to(out_dir)))
        cols = ["model", "test acc (%)", "threshold t", "pairs", "rows of M", "null(M) dim", "no unit flipped (%)",
                "max |Δlogit| (no flip)", "median max |Δlogit|", "median max |Δconf|", "prediction kept (%)",
                "median ℓ2 to target (before → after)", "median 1−SSIM to target after"]
        notes = ["Seed 004 §4 (Figure 2): MLP 784-500-10, Adam 1e-3, batch 100, trained on 4000 embedded "
                 "digits (fixed random split); pairs = held-out source (per class) × the first held-out image of each other class. "
                 "M stacks W2[:,S]·W1[S] (S = active units at the source) and the W1 rows with |pre-activation| < t; "
                 "the single step x_s + P_null(M)(x_t − x_s) is re-checked, units that flipped join M, up to 5 "
                 "re-projections. 'no unit flipped': the final step kept the activation pattern, so the logits are "
                 "unchanged up to float error (column 'max |Δlogit| (no flip)'). No clipping or thresholding of "
                 "pixels (the notebook's post-processing breaks exact invariance)."]
        return [Table(self.name, self.title, cols, rows, notes, figures)]
