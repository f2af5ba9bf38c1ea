"""Tables and figures of the invariance track, a pure function of its records."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import matplotlib.pyplot as plt
import numpy as np

from ..results import plots
from ..results.image_blob import decode_images
from ..results.record import Record
from ..results.stats import fmt_pct, mean_se, wilson_interval
from ..results.tables import Table

ORDER = ["erm", "pgd_at", "at50", "ccat", "ccat_perceptual", "ccat_temp"]


def _rank(model_id: str) -> int:
    key = model_id.split(".", 1)[1] if "." in model_id else model_id
    key = {"ccat.at50": "at50"}.get(key, key)
    return ORDER.index(key) if key in ORDER else len(ORDER)


def _img(a: np.ndarray) -> np.ndarray:
    return a.transpose(1, 2, 0) if a.shape[0] == 3 else a[0]


def panel(rec: Record, path: Path) -> None:
    """Seed Figures 4–5: rows = target class, columns = source class, diagonal = the target image;
    the kept confidence under each image."""
    p = rec.metrics[rec.config["protocol"]["projections"][0]]["panel"]
    imgs, targets = decode_images(p["images"]), decode_images(p["targets"])
    fig, axes = plt.subplots(10, 10, figsize=(8.5, 9.2))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for b in range(10):
        axes[b, b].imshow(_img(targets[b]), cmap="gray", vmin=0, vmax=255)
        axes[b, b].set_xlabel(f"target {p['target_conf'][b]:.2f}", fontsize=5, color="tab:red")
    for k, (b, a) in enumerate(zip(p["target_class"], p["source_class"])):
        axes[b, a].imshow(_img(imgs[k]), cmap="gray", vmin=0, vmax=255)
        axes[b, a].set_xlabel(f"{p['conf'][k]:.2f}", fontsize=5)
    for a in range(10):
        axes[0, a].set_title(f"src {a}", fontsize=6)
        axes[a, 0].set_ylabel(f"tgt {a}", fontsize=6)
    fig.suptitle(f"{rec.model_id}: NSPGD final images (source-class confidence below)", fontsize=9)
    plots.save(fig, path)


def path_plot(recs: List[Record], path: Path, radii) -> None:
    """Seed Figure 9: 5th/95th percentile of the source confidence on the sphere of radius r in the
    hyperplane ⟂ ∇p_j, at every 10th NSPGD iterate (mean over the sampled pairs)."""
    fig, axes = plt.subplots(1, len(recs), figsize=(3.2 * len(recs), 3.2), squeeze=False)
    for ax, rec in zip(axes[0], recs):
        w = np.asarray(rec.metrics[rec.config["protocol"]["projections"][0]]["path_percentiles"])
        cm_hi, cm_lo = plt.get_cmap("plasma"), plt.get_cmap("viridis")
        for i in range(w.shape[0]):
            t = i / max(w.shape[0] - 1, 1)
            ax.plot(radii, w[i, :, 1], color=cm_hi(t), lw=1)
            ax.plot(radii, w[i, :, 0], color=cm_lo(t), lw=1, ls="--")
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(rec.model_id, fontsize=8)
        ax.set_xlabel("ℓ2 radius", fontsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("source confidence: 95th (solid), 5th (dashed)", fontsize=7)
    fig.suptitle("Equi-confidence path width (colour: iterate 0 → last, every 10th)", fontsize=9)
    plots.save(fig, path)


def _loose(protocol):
    """Indices of the looser cuts d = 0.3 and 0.5 on the success curve (shown beside the headline)."""
    th = list(protocol["thresholds"])
    return th.index(0.3), th.index(0.5)


def _success_figure(by_model: Dict[str, List[Record]], models: List[str], projection: str, threshold: float,
                    fig_dir: Path) -> Path:
    """The track's key figure: NSPGD success per model, pooled over its seeds' pairs, 95 % Wilson CI."""
    est = []
    for m in models:
        mm = [r.metrics for r in by_model[m]]
        n = sum(int(x["pairs"]) for x in mm)
        k = sum(round(x[projection]["success"] * int(x["pairs"])) for x in mm)
        est.append((k / n, *wilson_interval(k, n)))
    path = fig_dir / "nspgd_success_by_model.png"
    plots.intervals(models, *zip(*est), path, f"NSPGD ({projection}) success per model at 1 − SSIM < {threshold} "
                    "(pairs pooled over seeds, 95 % Wilson CI)", "NSPGD success rate")
    return path


def render(track, records: List[Record], out_dir: Path) -> List[Table]:
    fig_dir = out_dir / "figures" / track.name
    by_model: Dict[str, List[Record]] = {}
    for r in records:
        by_model.setdefault(r.model_id, []).append(r)
    models = sorted(by_model, key=lambda m: (_rank(m), m))
    if not records:
        return [Table(track.name, track.title, ["model"], [], ["No records."])]
    protocol = records[0].config["protocol"]
    projections = protocol["projections"]
    cols = (["model", "seeds", "clean err"] + [f"NSPGD success ({p})" for p in projections]
            + [f"success @ d = {protocol['thresholds'][i]} / {protocol['thresholds'][j]}" for i, j in [_loose(protocol)]]
            + ["median 1−SSIM (start → end)", "untargeted ℓ∞ success (ε = %g)" % protocol["linf_eps"], "RErr",
               "RErr@99%TPR", "τ@99%TPR", "NSPGD time (s)"])
    rows, figures, curves = [], [], {}
    for m in models:
        recs = by_model[m]
        mm = [r.metrics for r in recs]

        def cell(get) -> str:
            return fmt_pct(*mean_se([get(x) for x in mm]))

        p0 = projections[0]
        rows.append([m, str(len(recs)), cell(lambda x: x["clean_err"])]
                    + [cell(lambda x, p=p: x[p]["success"]) for p in projections]
                    + [" / ".join(cell(lambda x, k=k: x[p0]["curve"][k]) for k in _loose(protocol))]
                    + [f"{np.mean([x[p0]['start_distance'] for x in mm]):.3f} → {np.mean([x[p0]['median_distance'] for x in mm]):.3f}",
                       cell(lambda x: x["linf_success"]), cell(lambda x: x["rerr"]), cell(lambda x: x["rerr_99tpr"]),
                       f"{np.mean([x['tau_99tpr'] for x in mm]):.3f}",
                       " / ".join(f"{np.mean([x[p]['time_s'] for x in mm]):.1f}" for p in projections)])
        for p in projections:
            stack = np.asarray([x[p]["matrix"] for x in mm], dtype=float)
            seen = ~np.isnan(stack).all(0)  # the diagonal (source = target) is never attacked
            mat = np.full(stack.shape[1:], np.nan)
            mat[seen] = np.nanmean(stack[:, seen], axis=0) * 100
            hp = fig_dir / f"{m}_{p}_success_matrix.png"
            plots.heatmap(mat, hp, f"{m}: NSPGD ({p}) success % at 1−SSIM < {protocol['threshold']}",
                          "source class", "target image (class)")
            figures.append(hp)
            c = np.asarray([x[p]["curve"] for x in mm])
            curves[f"{m} ({p})"] = {"x": np.asarray(protocol["thresholds"]), "mean": c.mean(0),
                                    "ls": "-" if p == p0 else "--"}
        pp = fig_dir / f"{m}_panel.png"
        panel(recs[0], pp)
        figures.append(pp)
    cp = fig_dir / "success_curves.png"
    plots.curves(curves, cp, "NSPGD success rate vs success threshold d on 1 − SSIM", "d", "success rate")
    wp = fig_dir / "path_percentiles.png"
    path_plot([by_model[m][0] for m in models], wp, protocol["radii"])
    figures = [_success_figure(by_model, models, projections[0], protocol["threshold"], fig_dir)] + figures + [cp, wp]
    not_run = [m for m in protocol["defences"] if m not in by_model]
    nsp = protocol["nspgd"]
    notes = [
        f"Protocol `{records[0].protocol}`: Colored-MNIST held-out easy split; 10 target images (the first of each "
        f"class) × {protocol['sources_per_class']} correctly classified source image(s) per other class = "
        f"{records[0].metrics['pairs']} pairs per model. NSPGD as the authors' code: step η = {nsp['step']} of the "
        f"remaining gap, {nsp['iters']} iterations, budget δ = {nsp['delta']} below the source's initial confidence, "
        "no clipping; projection `halfspace` = their code (variant a), `jacobian` = null space of the Jacobian of all "
        "10 class confidences (variant c).",
        f"NSPGD success: share of pairs whose final image has 1 − SSIM(x, x_t) < {protocol['threshold']} (data_range 1; "
        "LPIPS-Alex of the seed needs downloaded weights, so the cut is ours and not comparable to the seed's "
        "LPIPS < 0.03); success curves over d in the figure. Mean over the 90 off-diagonal cells = mean over pairs.",
        f"Untargeted ℓ∞ success: the attack engine's PGD (`pgd`, cross-entropy, {protocol['linf_iters']} steps of "
        f"2.5·ε/steps, random start) at ε = {protocol['linf_eps']} on the first {protocol['linf_images']} easy images, "
        "share of correctly classified ones flipped (seed Table 2). RErr / RErr@99%TPR (Stutz et al.): worst of that "
        "attack and an engine PGD maximising the best other-class confidence (F7P, loss `conf`) at the same ε; "
        "τ@99%TPR is the models' clean confidence: the max-softmax that 99% of the correctly classified val "
        "images reach (CCAT's rejection threshold; a confident CCAT in the paper's sense has τ near 1, a model "
        "that spreads its outputs has τ near 0.1); RErr@99%TPR counts only errors, clean or adversarial, whose "
        "confidence reaches τ.",
        "Models: shipped zoo weights trained on full-MNIST Colored-MNIST at the seed ERM's budget (4 × 60,000 "
        "samples, SGD); `erm` = the shortcut zoo's ERM model; `pgd_at` = PGD-AT at ε = 0.1; `ccat.at50` = AT-50% of Stutz et al. (half clean, half CE-PGD "
        "at ε = 0.3, true labels); `ccat` = CCAT (ε = 0.3, ρ = 10, F7P attack, power transition); `ccat_perceptual` = "
        "the seed's LPIPS-CCAT with 1 − SSIM in place of LPIPS (sigmoid transition, ρ = 100); `ccat_temp` = CCAT with a "
        "sample-wise learned temperature (§5.5). Cells: mean ± SE over seeds in %.",
    ]
    wrong = {m: by_model[m][0].metrics.get("misclassified_sources", 0) for m in models}
    if any(wrong.values()):
        notes.append("Sources the model misclassifies (used with their predicted class when a class had too few "
                     "correct ones): " + ", ".join(f"{m}: {w}" for m, w in wrong.items() if w) + ".")
    if not_run:
        notes.append(f"In the protocol but without records (weights not shipped yet, or not in this run): "
                     f"{', '.join(not_run)}.")
    main = Table(track.name, track.title, cols, rows, notes,
                 [str(Path(f).relative_to(out_dir)) for f in figures])
    return [main]
