import torch

from shortcutbench.causal.readouts import fit_kernel_ridge, fit_ridge, r2_score


def test_r2_matches_its_definition():
    y = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    pred = torch.tensor([[1.0], [2.5], [2.5], [4.0]])
    # SS_res = 0.5, SS_tot = 5 → 0.9 (seed 001 eqs. 23–26)
    assert float(r2_score(y, pred)) == 0.9
    assert float(r2_score(y, y.mean().expand_as(y))) == 0.0


def test_ridge_recovers_a_linear_map_and_kernel_ridge_a_nonlinear_one():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1500, 5, generator=gen)
    y = torch.stack([x @ torch.tensor([1.0, -2.0, 0.0, 0.5, 0.0]) + 3, torch.sin(2 * x[:, 0])], 1)
    tr, te = slice(0, 1000), slice(1000, None)
    lin = r2_score(y[te], fit_ridge(x[tr], y[tr])(x[te]))
    ker = r2_score(y[te], fit_kernel_ridge(x[tr], y[tr])(x[te]))
    assert lin[0] > 0.999 and lin[1] < 0.5
    assert ker[1] > 0.8


def test_a_pretrained_encoder_plugs_in_through_the_registry():
    """How a self-supervised encoder joins (SimCLR does): a registered encoder with a `pretrained` hook and no head; its task
    regressor is a ridge readout of the frozen features, and a module the certifier does not know
    gets no λ (attacks still run)."""
    import torch.nn as nn

    from shortcutbench.causal.delta import certified_radii
    from shortcutbench.causal.encoders import ENCODERS, Encoder
    from shortcutbench.causal.fit import FitConfig, features, fit_encoder, regressor_for
    from shortcutbench.causal.readouts import readout_report
    from shortcutbench.causal.task import TASKS
    from shortcutbench.data.scenes import SHAPES, load_scenes

    class Frozen(nn.Module):  # stands in for a ResNet: not a Sequential of known layers
        def forward(self, x):
            return torch.tanh(nn.functional.avg_pool2d(x, 4).flatten(1))

    ENCODERS.register("test_frozen")(Encoder("test_frozen", "a frozen module", False, True, lambda f, g: (Frozen(), None),
                                             pretrained=lambda train, seed, epochs: (Frozen(), [])))
    try:
        train, test = load_scenes("light", 400, 0, cache=False), load_scenes("light", 100, 0, "test", cache=False)
        fitted = fit_encoder("test_frozen", train, FitConfig(), seed=0, pretrain_epochs=1)
        names = [f.name for f in train.variant.factors]
        report, readout = readout_report(features(fitted.body, train), train.latents, train.labels,
                                         features(fitted.body, test), test.latents, test.labels, names, len(SHAPES))
        assert report["r2"]["linear"]["theta"] > 0.3
        reg, how = regressor_for(fitted, train, "theta", readout)
        task = TASKS.get("theta")
        y = task.labels(test.values("theta"))
        keep = y >= 0
        cert = certified_radii(reg, task, test.float_images()[keep], y[keep], None)
        assert how == "ridge readout" and cert["lambda"] is None and float(cert["r_lip"].abs().sum()) == 0
    finally:
        ENCODERS._entries.pop("test_frozen")
