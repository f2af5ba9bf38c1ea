"""The ``ssl`` track (seed 001 §4, §2.7.1): are self-supervised encoders more robust, or less
shortcut-prone, than supervised ones? Each method of :mod:`shortcutbench.ssl.methods` trains an
encoder (small ResNet by default, ``arch=resnet18`` for the seed's backbone); linear readouts are
fitted on the frozen encoder (standard, adversarial, or the supervised methods' own head) and the
classifier is attacked (:mod:`shortcutbench.ssl.evaluate`). Datasets: full-MNIST digits and
Colored-MNIST by default, CIFAR-10 with ``--cifar-dir``.

Options (``--set ssl.KEY=VALUE``): ``methods=a,b``, ``datasets=a,b``, ``arch=NAME``, ``cifar_dir=DIR``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from itertools import groupby
from typing import Any, Dict, Iterable, List, Optional, Tuple

import torch

from ..errors import UsageError
from ..results.record import Record, make_record
from ..ssl.data import SSL_DATA, subset
from ..ssl.evaluate import EvalConfig, robustness, shortcut_probe
from ..ssl.methods import PRETRAIN_METHODS, create_method
from ..ssl.catalogue import encoder
from ..ssl.pretrain import PretrainConfig, encoder_method
from ..ssl.readout import AdversarialReadoutConfig, ReadoutConfig, ReadoutModel, features, fit_adversarial, fit_linear
from ..utils.progress import progress
from .base import TRACKS, RunContext, Track
from .options import TrackOptions, option, registered

METHOD_ORDER = ("supervised", "linear_separated_supervised", "supervised_noaug", "simclr", "supervised_simclr",
                "simsiam", "barlow_twins")


def method_readouts(methods: Tuple[str, ...] = METHOD_ORDER) -> List[Tuple[str, str]]:
    """Every (method, readout) row of ``methods``: the order the track runs them and its tables list them."""
    return [(method, readout) for method in methods for readout in create_method(method).readouts]


@dataclass(frozen=True)
class SslProtocol:
    name: str
    seeds: int
    pretrain: PretrainConfig
    readout_train_size: Optional[int]  # images the standard readout is fitted on (None: all train)
    adversarial: AdversarialReadoutConfig
    adversarial_train_size: Optional[int]
    val_size: int  # validation images that choose the adversarial readout's rate
    eval: EvalConfig
    probe_per_half: int  # Colored-MNIST probes: hard images per half
    datasets: Tuple[str, ...] = ("digits", "colored_mnist")
    methods: Tuple[str, ...] = METHOD_ORDER
    # the seed trains SSL longer than supervised (400-800 vs 200 epochs): SSL methods get this factor more epochs
    ssl_epoch_factor: int = 1


PROTOCOLS = {
    # a smoke run of the whole pipeline in about 2.5 CPU-minutes (README, ssl track): 16 pre-training steps
    # per encoder, a 200-image test subset, one ε, a short cascade; its numbers say nothing about the seed's claims
    "quick": SslProtocol("ssl.quick.v2", seeds=1,
                         pretrain=PretrainConfig(epochs=1, batch_size=64, train_size=1024),
                         readout_train_size=2048,
                         adversarial=AdversarialReadoutConfig(lrs=(1e-4, 1e-3), epochs=1, batch_size=256),
                         adversarial_train_size=256, val_size=100,
                         eval=EvalConfig(n_test=200, headline_only=True, apgd_steps=20, n_targets=2, square_queries=100),
                         probe_per_half=500),
    # the seed's protocol at CPU scale (README, ssl track, for the measured cost): every training image;
    # supervised 10 epochs, SSL 20 (the seed's 200 vs 400); adversarial readout on 5,000 images for the
    # seed's 10 epochs; 1,000 test images (the cascade's survivors dominate the cost)
    "full": SslProtocol("ssl.full.v1", seeds=3,
                        pretrain=PretrainConfig(epochs=10, batch_size=256),
                        readout_train_size=None, adversarial=AdversarialReadoutConfig(),
                        adversarial_train_size=5000, val_size=1000, eval=EvalConfig(n_test=1000),
                        probe_per_half=10_000, ssl_epoch_factor=2),
}


def _architecture(name: str) -> None:
    from ..models import MODELS

    MODELS.get(name)


@dataclass(frozen=True)
class SslOptions(TrackOptions):
    methods: Optional[Tuple[str, ...]] = option("pre-training methods run", run=True, check=registered(PRETRAIN_METHODS))
    datasets: Optional[Tuple[str, ...]] = option("datasets run", run=True, check=registered(SSL_DATA))
    cifar_dir: Optional[str] = option("CIFAR-10 binary batches (then the datasets default to cifar10)", run=True)
    arch: Optional[str] = option("encoder architecture", target="pretrain.arch", check=_architecture)


def model_id(arch: str, method: str, readout: str, dataset: str) -> str:
    return f"{arch}.{method}.{readout}.{dataset}"


@TRACKS.register("ssl")
class SslTrack(Track):
    name = "ssl"
    title = "SSL track: are self-supervised encoders more robust than supervised ones? (seed 001 §4)"
    accepts_submissions = False  # compares its own pre-training methods (a submitted classifier has no SSL encoder)

    options_type = SslOptions

    def protocol_for(self, ctx: RunContext) -> SslProtocol:
        """The protocol (``arch`` changes it, under a derived name) narrowed to the chosen methods and
        datasets (``--set cifar_dir=DIR``: CIFAR-10 only); narrowing keeps the name: each run is
        still the protocol's own."""
        p, opts = self.protocol(ctx), self.options(ctx)
        datasets = opts.datasets or (("cifar10",) if opts.cifar_dir else p.datasets)
        return replace(p, methods=opts.methods or p.methods, datasets=datasets)

    def evaluate(self, model, ctx: RunContext) -> Dict[str, Any]:
        raise UsageError("the ssl track evaluates its own encoders (shortcutbench run ssl), not submitted models")

    def run(self, ctx: RunContext) -> Iterable[Record]:
        p = self.protocol_for(ctx)
        for ds in p.datasets:
            data = SSL_DATA.get(ds)(ctx.mnist_dir, self.options(ctx).cifar_dir)
            for seed in ctx.seed_list(p.seeds):
                yield from self._run_seed(p, data, seed, ctx.profile)

    def _run_seed(self, p: SslProtocol, data, seed: int, profile: str) -> Iterable[Record]:
        x_tr, y_tr, _ = subset(data["train"], p.readout_train_size)
        x_adv_tr, y_adv_tr = x_tr[:p.adversarial_train_size], y_tr[:p.adversarial_train_size]
        x_val, y_val, _ = subset(data["val"], p.val_size)
        x_te, y_te, _ = subset(data["test"], p.eval.n_test)
        eps_grid = (data.headline_eps,) if p.eval.headline_only else (p.eval.eps or data.eps)
        headline = data.headline_eps if data.headline_eps in eps_grid else eps_grid[0]
        standard_fc: Dict[str, Any] = {}
        steps = method_readouts(p.methods)
        bar = progress(steps, desc=f"ssl {data.name} seed {seed}", total=len(steps), leave=True)
        for method, group in groupby(bar, key=lambda step: step[0]):
            spec = create_method(method)
            factor = p.ssl_epoch_factor if spec.self_supervised else 1
            cfg = replace(p.pretrain, epochs=p.pretrain.epochs * factor)
            bar.set_postfix_str(f"{method}: encoder")
            enc = encoder(method, data, cfg, seed)  # shipped weights where they match, else cache/train
            pre_s = 0.0 if enc.cached else enc.train_time_s
            for _, readout in group:
                bar.set_postfix_str(f"{method}: {readout} readout, attacks")
                t1 = time.perf_counter()
                clf, extra = self._classifier(readout, enc.model, data, p, seed, standard_fc, method,
                                              (x_tr, y_tr, x_adv_tr, y_adv_tr, x_val, y_val), headline)
                metrics: Dict[str, Any] = {"readout": readout, "method": method, "dataset": data.name,
                                           "headline_eps": headline, **extra,
                                           **robustness(clf, x_te, y_te, p.eval, eps_grid, headline)}
                if "hard" in data.splits:
                    metrics["shortcut"] = shortcut_probe(clf, data["hard"], p.probe_per_half, seed)
                metrics["pretrain_history"] = enc.history
                metrics["pretrain_s"] = enc.train_time_s
                config = {"protocol": asdict(p), "pretrain": asdict(cfg), "data_source": data.source}
                yield make_record(self.name, model_id(cfg.arch, method, readout, data.name), seed, profile, p.name,
                                  metrics, config, data.fingerprint, pre_s + time.perf_counter() - t1)
                pre_s = 0.0  # the encoder's training time is charged to its first record only

    def _classifier(self, readout: str, encoder, data, p: SslProtocol, seed: int, standard_fc: Dict[str, Any],
                    method: str, arrays, headline: float):
        x_tr, y_tr, x_adv_tr, y_adv_tr, x_val, y_val = arrays
        if readout == "joint":
            return encoder.eval(), {}
        key = encoder_method(method)  # one standard readout per encoder (the adversarial one starts from it)
        if key not in standard_fc:
            standard_fc[key] = fit_linear(features(encoder, x_tr), y_tr, 10, ReadoutConfig(), seed)
        fc = standard_fc[key]
        if readout == "standard":
            return ReadoutModel(encoder, fc), {}
        tuned, val_acc = fit_adversarial(encoder, fc, x_adv_tr, y_adv_tr, x_val, y_val, headline, data.supervised,
                                         p.adversarial, seed)
        best = max(val_acc, key=val_acc.get)
        return ReadoutModel(encoder, tuned), {"adv_lr": float(best), "adv_val_acc": val_acc}

    def render(self, records: List[Record], out_dir) -> List[Any]:
        from .ssl_render import render

        return render(self, records)
