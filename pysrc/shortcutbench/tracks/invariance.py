"""The ``invariance`` track (seed 004): how far can an image travel towards another class's image
while the model keeps its confidence? NSPGD success over a 10 × 10 (target × source class) matrix,
the untargeted ℓ∞ success at ε = 0.03 beside it (seed Tables 1–2), final-image panels (Figures 4–5)
and equi-confidence path widths (§6.1), for ERM, adversarially trained and CCAT-family models.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import torch

from ..data import ColoredMNISTConfig
from ..attacks import AttackResult, create_attack
from ..data.cifar import load_cifar10
from ..invariance.ccat import robust_error, robust_error_at, tpr_threshold
from ..invariance.distances import distance, success_curve
from ..invariance.equiconfidence import path_percentiles
from ..invariance.nspgd import NSPGDConfig, nspgd
from ..results.image_blob import encode_images
from ..results.record import Record, make_record
from ..results.tables import Table
from ..train import TrainConfig
from ..zoo import ZooSpec, catalogue as cat, load_or_train
from ..zoo.select import resolve_models, shipped_pairs
from ..zoo.shipped import load_shipped_model
from .base import TRACKS, RunContext, Track, select_profile
from .common import colored_mnist
from .options import TrackOptions, option


# Shipped zoo models (zoo/catalogue.py DEFENCES: trained at the seed ERM's budget, lazy_cnn.erm their
# control): ERM, PGD-AT, AT-50 %, CCAT and the seed's two CCAT variants (seed 004 §5).
DEFENCES: Tuple[str, ...] = ("lazy_cnn.erm", "lazy_cnn.pgd_at", "lazy_cnn.ccat.at50", "lazy_cnn.ccat",
                             "lazy_cnn.ccat_perceptual", "lazy_cnn_temp.ccat_temp")
QUICK_DEFENCES = ("lazy_cnn.erm", "lazy_cnn.pgd_at", "lazy_cnn.ccat")  # the ordering Table 1 is about


@dataclass(frozen=True)
class InvarianceProtocol:
    """Frozen preset. NSPGD as the authors' code runs it: η = 0.05 of the gap per step, 100
    iterations, δ = 0.05 against the source's confidence (research invariance_lt.md §2). The ℓ∞
    column and CCAT's RErr use the attack engine's PGD (``create_attack("pgd")``); v2: since then."""

    name: str
    sources_per_class: int
    nspgd: NSPGDConfig = NSPGDConfig()
    projections: Tuple[str, ...] = ("halfspace",)
    distance: str = "ssim"
    threshold: float = 0.1  # headline cut: SSIM ≥ 0.9, the usual "visually close" rule; not the seed's LPIPS 0.03
    thresholds: Tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
    linf_eps: float = 0.03  # seed Table 2
    linf_images: int = 200
    linf_iters: int = 20
    path_pairs: int = 4
    path_every: int = 10  # seed §6.1: every 10th iterate
    radii: Tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    path_samples: int = 32
    defences: Tuple[str, ...] = DEFENCES  # shipped zoo names
    cifar_train: TrainConfig = TrainConfig()  # CIFAR-10 only: its models are trained here, on the user's files
    data: ColoredMNISTConfig = cat.SEED_DATA
    seeds: int = 1


PROTOCOLS: Dict[str, InvarianceProtocol] = {
    # v3: the shipped seed-regime zoo on full MNIST (v2: models trained here on the embedded digits)
    "quick": InvarianceProtocol("invariance.quick.v3", sources_per_class=1, nspgd=NSPGDConfig(iters=30),
                                linf_images=100, linf_iters=10, path_pairs=2, path_samples=8, radii=(1.0, 4.0, 16.0),
                                defences=QUICK_DEFENCES),
    # v4: 6 sources per class, 540 (target, source) pairs per model (v3: 180; issue #18 asks ≥ 500, so
    # that success rates of a few % separate: 0/180 has an exact 95% upper bound of 2.0%, 0/540 0.7%)
    "full": InvarianceProtocol("invariance.full.v4", sources_per_class=6, linf_images=300),
}


def _projections(names: Tuple[str, ...]) -> None:
    for proj in names:
        NSPGDConfig(projection=proj)  # unknown name: one line listing the known ones


@dataclass(frozen=True)
class InvarianceOptions(TrackOptions):
    projection: Optional[Tuple[str, ...]] = option("NSPGD projections, joined by + (the first is the headline)",
                                                   target="projections", check=_projections,
                                                   parse=lambda text: tuple(t for t in text.split("+") if t))
    models: Optional[Tuple[str, ...]] = option("shipped models (fnmatch; default: the protocol's defences)", run=True,
                                               parse=resolve_models)
    cifar_dir: Optional[str] = option("CIFAR-10 binary batches: train the recipes here on them", run=True)


def cifar_spec(name: str, protocol: InvarianceProtocol, seed: int) -> ZooSpec:
    """The zoo entry a shipped model's recipe gives on CIFAR-10 (trained here: nothing is shipped
    for data the user brings)."""
    run, _ = cat.shipped_names()[name]
    return ZooSpec(arch=run.arch, method=run.method, train=protocol.cifar_train, hparams=dict(run.hparams), seed=seed,
                   tag=".".join(t for t in (run.tag, "cifar10") if t))


def _pick(model, split, per_class: int) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """Targets: the first image of each class; sources: the next ``per_class`` correctly classified
    images of each class, topped up with misclassified ones when a model gets fewer right (their
    kept class is the predicted one; the count is recorded). Deterministic, held-out easy split."""
    with torch.no_grad():
        pred = model(split.images()).argmax(1)
    targets, sources, wrong = [], [], 0
    for c in range(10):
        idx = torch.nonzero(split.digit == c).flatten()
        targets.append(int(idx[0]))
        rest = idx[1:]
        ok = rest[pred[rest] == c][:per_class]
        if len(ok) < per_class:
            fill = rest[pred[rest] != c][:per_class - len(ok)]
            wrong += len(fill)
            ok = torch.cat([ok, fill])
        sources.append(ok)
    return torch.tensor(targets), torch.stack(sources), wrong  # [10], [10, per_class]


def _linf(model, x: torch.Tensor, y: torch.Tensor, protocol: "InvarianceProtocol", loss: str,
          early_stop: bool = True) -> AttackResult:
    """The attack engine's ℓ∞ PGD at ε = linf_eps (Madry et al.: random start, step 2.5·ε/steps)."""
    atk = create_attack("pgd", eps=protocol.linf_eps, steps=protocol.linf_iters, loss=loss, early_stop=early_stop)
    return atk(model, x, y)


def _untargeted_success(model, x: torch.Tensor, y: torch.Tensor, ce: AttackResult) -> float:
    """Seed Table 2's column: share of the correctly classified inputs whose prediction the
    untargeted cross-entropy PGD ``ce`` flips."""
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    return float(ce.success[correct].double().mean()) if correct.any() else float("nan")


def _thresholded(model, data, x: torch.Tensor, y: torch.Tensor, ce: AttackResult,
                 protocol: "InvarianceProtocol") -> Dict[str, float]:
    """CCAT's evaluation: τ at 99% TPR from the held-out val split, RErr and RErr@99%TPR against
    the worse (wrong first, then more confident) of the cross-entropy PGD ``ce`` and a PGD that
    maximises the best other-class confidence (Stutz et al.'s F7P), ℓ∞ at ε = linf_eps."""
    val = data["val"]
    with torch.no_grad():
        pv = torch.softmax(model(val.images()), 1)
        ok = pv.argmax(1) == val.digit
        tau = tpr_threshold(pv.max(1).values[ok], 0.99)
        pc = torch.softmax(model(x), 1)
    conf = _linf(model, x, y, protocol, "conf", early_stop=False)  # every iterate: the most confident one
    succ = ce.success.view(-1, *[1] * (x.dim() - 1))
    best_wrong, best_conf = torch.zeros(len(y), dtype=torch.bool), torch.zeros(len(y))
    for xa in (torch.where(succ, ce.x_adv, ce.x_best), conf.x_best):
        with torch.no_grad():
            pa = torch.softmax(model(xa), 1)
        wrong, c = pa.argmax(1) != y, pa.max(1).values
        better = (wrong & ~best_wrong) | ((wrong == best_wrong) & (c > best_conf))
        best_wrong, best_conf = torch.where(better, wrong, best_wrong), torch.where(better, c, best_conf)
    cw, cc = pc.argmax(1) != y, pc.max(1).values
    return {"tau_99tpr": tau, "clean_err": float(cw.double().mean()), "rerr": robust_error(cw, best_wrong),
            "rerr_99tpr": robust_error_at(cw, cc, best_wrong, best_conf, tau)}


@TRACKS.register("invariance")
class InvarianceTrack(Track):
    name = "invariance"
    title = "Invariance track: NSPGD equi-confidence attacks (seed 004)"
    # NSPGD success = the attack reached the target image (SSIM distance < threshold) while the
    # source confidence stayed put: excessive invariance, lower is better, so 1 − success
    headline_metric = "1 - NSPGD success"
    headline_rule = ("1 − NSPGD success: share of the 90 × sources (target, source) pairs whose final image "
                     "stays farther than the protocol's SSIM threshold from the target image (first projection)")

    def headline(self, record: Record) -> Optional[float]:
        proj = (record.config.get("protocol", {}).get("projections") or ["halfspace"])[0]
        success = record.metrics.get(proj, {}).get("success")
        return None if success is None else 1.0 - float(success)

    options_type = InvarianceOptions

    def _protocol(self, ctx: RunContext) -> InvarianceProtocol:
        return self.protocol(ctx)

    def _models(self, ctx: RunContext, protocol: InvarianceProtocol) -> Tuple[str, ...]:
        """`--set models=lazy_cnn.erm,lazy_cnn.ccat*` (shipped zoo names, fnmatch), else the protocol's defences."""
        return self.options(ctx).models or protocol.defences

    @staticmethod
    def _data(ctx: RunContext, protocol: InvarianceProtocol):
        """Colored-MNIST by default; CIFAR-10 (binary format) with `--set cifar_dir=DIR`."""
        cifar_dir = InvarianceTrack().options(ctx).cifar_dir
        if cifar_dir:
            return load_cifar10(cifar_dir)
        return colored_mnist(ctx.mnist_dir, protocol.data)

    def evaluate(self, model, ctx: RunContext) -> Dict[str, Any]:
        protocol = self._protocol(ctx)
        data = self._data(ctx, protocol)
        return self._evaluate(model.eval(), data, protocol)

    def _evaluate(self, model, data, protocol: InvarianceProtocol) -> Dict[str, Any]:
        gen = torch.Generator().manual_seed(0)
        split = data["easy"]
        t_idx, s_idx, wrong = _pick(model, split, protocol.sources_per_class)
        N = protocol.sources_per_class
        # pairs: every (target class b, source class a ≠ b, source i)
        tb, sa, si = zip(*[(b, a, i) for b in range(10) for a in range(10) if a != b for i in range(N)])
        tb, sa, si = torch.tensor(tb), torch.tensor(sa), torch.tensor(si)
        xs = split.images(s_idx[sa, si])
        xt = split.images(t_idx[tb])
        out: Dict[str, Any] = {"pairs": len(tb), "misclassified_sources": wrong}
        for proj in protocol.projections:
            cfg = NSPGDConfig(**{**asdict(protocol.nspgd), "projection": proj, "path_every": protocol.path_every})
            t0 = time.perf_counter()
            res = nspgd(model, xs, xt, cfg)
            dist = distance(protocol.distance, res.x, xt)
            hit = (dist < protocol.threshold).double()
            matrix = torch.full((10, 10), float("nan"), dtype=torch.float64)
            for b in range(10):
                for a in range(10):
                    if a != b:
                        matrix[b, a] = hit[(tb == b) & (sa == a)].mean()
            r: Dict[str, Any] = {
                "success": float(hit.mean()), "matrix": matrix.tolist(),
                "curve": success_curve(dist, protocol.thresholds),
                "median_distance": float(dist.median()), "start_distance": float(distance(protocol.distance, xs, xt).median()),
                "median_l2": float((res.x - xt).flatten(1).norm(dim=1).median()),
                "mean_steps": float(res.steps.double().mean()), "iters_run": res.iters_run,
                "time_s": time.perf_counter() - t0,
            }
            if proj == protocol.projections[0]:
                first = si == 0  # panels: one source per class (seed Figures 4–5)
                with torch.no_grad():
                    conf_t = torch.softmax(model(split.images(t_idx)), 1).max(1).values
                r["panel"] = {"target_class": tb[first].tolist(), "source_class": sa[first].tolist(),
                              "images": encode_images(res.x[first]), "conf": res.p_final[first].tolist(),
                              "targets": encode_images(split.images(t_idx)), "target_conf": conf_t.tolist()}
                k = min(protocol.path_pairs, len(tb))
                sel = torch.linspace(0, len(tb) - 1, k).round().long()
                widths = [path_percentiles(model, snap[sel], res.label[sel], protocol.radii, protocol.path_samples, gen)
                          for snap in res.path]
                r["path_percentiles"] = torch.stack(widths).mean(1).tolist()  # [snapshots, radii, 2]
            out[proj] = r
        n = min(protocol.linf_images, len(split))
        xl, yl = split.images(torch.arange(n)), split.digit[:n]
        ce = _linf(model, xl, yl, protocol, "ce")
        out["linf_success"] = _untargeted_success(model, xl, yl, ce)
        out.update(_thresholded(model, data, xl, yl, ce, protocol))
        return out

    def run(self, ctx: RunContext) -> Iterable[Record]:
        """Shipped zoo weights on Colored-MNIST (nothing trains); with `--set cifar_dir=DIR` the same
        recipes trained here on the user's CIFAR-10 (separate rows: ``….cifar10``)."""
        protocol = self._protocol(ctx)
        data = self._data(ctx, protocol)
        seeds, names, cifar = ctx.seed_list(protocol.seeds), self._models(ctx, protocol), self.options(ctx).cifar_dir
        if cifar:
            pairs = [(name, seed) for seed in seeds for name in names]
        else:
            pairs = shipped_pairs(self.name, names, seeds)
        for name, seed in pairs:
            t0 = time.perf_counter()
            if cifar:
                spec = cifar_spec(name, protocol, seed)
                entry = load_or_train(spec, data, desc="invariance")
                model, model_id = entry.model.eval(), spec.model_id
                zoo = {"zoo_key": entry.key, "train_time_s": entry.train_time_s}
            else:
                model, rec = load_shipped_model(name, seed)
                model_id, zoo = name, {"zoo_key": rec["zoo_key"], "weights_sha256": rec["sha256"],
                                       "train_time_s": rec["train_time_s"]}
            metrics = {**self._evaluate(model, data, protocol), "train_time_s": zoo.pop("train_time_s")}
            yield make_record(self.name, model_id, seed, ctx.profile, protocol.name, metrics,
                              {"protocol": asdict(protocol), **zoo, "data_source": data.source},
                              data.fingerprint, time.perf_counter() - t0)

    # ---------------------------------------------------------------- rendering
    def render(self, records: List[Record], out_dir: Path) -> List[Table]:
        from ..invariance.report import render

        return render(self, select_profile(self.current(records)), Path(out_dir))
