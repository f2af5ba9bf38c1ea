"""SAE quality metrics, selectivity and splicing, with closed-form expectations."""
import torch
import torch.nn as nn

from shortcutbench.explain.sae import (SAEConfig, SparseAutoencoder, SplicedSAE, Standardiser, collect,
                                       eta_null, eta_squared, fraction_variance_explained, quality, train_sae)

from .toy_models import gap_fc_net


def identity_sae(d):
    """W_enc = [I; −I], W_dec = [I, −I]: x = ReLU(x) − ReLU(−x), a perfect reconstruction."""
    sae = SparseAutoencoder(d, 2 * d)
    with torch.no_grad():
        eye = torch.eye(d)
        sae.enc.weight.copy_(torch.cat([eye, -eye]))
        sae.enc.bias.zero_()
        sae.dec.weight.copy_(torch.cat([eye, -eye], 1))
        sae.dec.bias.zero_()
    return sae


def test_identity_sae_explains_everything_and_mean_nothing():
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(0))
    q = quality(identity_sae(6), x)
    assert abs(q["fve"] - 1) < 1e-6 and abs(q["l0"] - 6) < 1e-9 and q["dead_frac"] == 0.0
    assert abs(fraction_variance_explained(x, x.mean(0).expand_as(x))) < 1e-6
    # a constant error off the mean is not forgiven (d_l's per-dimension variance would forgive it)
    assert fraction_variance_explained(x, x + 2.0) < -2


def test_eta_squared_indicator_and_noise():
    labels = torch.arange(1000) % 10
    assert torch.allclose(eta_squared(labels.float()[:, None], labels), torch.ones(1, dtype=torch.float64))
    noise = torch.randn(1000, 400, generator=torch.Generator().manual_seed(0))
    mean_eta = float(eta_squared(noise, labels).mean())
    assert abs(mean_eta - eta_null(10, 1000)) < 0.002  # (K − 1)/(N − 1) = 0.009
    assert torch.isnan(eta_squared(torch.ones(1000, 1), labels)).all()


def test_training_reduces_loss_and_is_deterministic():
    x = torch.randn(2000, 8, generator=torch.Generator().manual_seed(1))
    cfg = SAEConfig(epochs=1, steps_per_epoch=60, batch_size=128)
    a, b = train_sae(x, cfg), train_sae(x, cfg)
    torch.testing.assert_close(a.enc.weight, b.enc.weight)
    assert a.enc.weight.shape == (32, 8) and quality(a, x)["fve"] > 0.1  # beats the mean predictor
    z = a.encode(x)
    torch.testing.assert_close(a(x), a.decode(z))
    # ablating latent i moves x̂ by exactly −z_i·W_dec[:, i]
    z2 = z.clone(); z2[:, 3] = 0
    torch.testing.assert_close(a.decode(z2), a.decode(z) - z[:, 3:4] * a.dec.weight[:, 3], atol=1e-5, rtol=1e-5)


def test_spliced_identity_sae_leaves_logits_unchanged():
    m = gap_fc_net(0)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    for layer, mode in (("3", "spatial_mean"), ("3", "per_position"), ("5", "spatial_mean")):
        f, _ = collect(m, layer, x, mode, positions=5)
        std = Standardiser.fit(f)
        sp = SplicedSAE(m, layer, mode, identity_sae(f.shape[1]), std)
        torch.testing.assert_close(sp.logits(x, reconstruct=True), m(x).detach(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(sp.logits(x), m(x).detach(), atol=1e-6, rtol=1e-6)


def test_intervention_on_gap_moves_logits_by_the_decoded_change():
    m = gap_fc_net(0)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    f, _ = collect(m, "5", x, "spatial_mean")
    std = Standardiser.fit(f)
    sae = identity_sae(f.shape[1])
    sp = SplicedSAE(m, "5", "spatial_mean", sae, std)

    def edit(z):
        z[:, 0] += 2.0  # latent 0 decodes to +e_0 in standardised units
        return z

    delta = sp.logits(x, edit=edit) - m(x).detach()
    expected = 2.0 * std.std[0] * m[6].weight[:, 0].detach()
    torch.testing.assert_close(delta, expected.expand_as(delta), atol=1e-5, rtol=1e-5)


def test_collect_per_position_shapes():
    m = gap_fc_net(0)
    x = torch.rand(3, 3, 8, 8)
    f, src = collect(m, "1", x, "per_position", positions=7)
    assert f.shape == (21, 8) and src.tolist() == [0] * 7 + [1] * 7 + [2] * 7
