import torch

from shortcutbench.invariance.two_layer import TwoLayerConfig, null_step, train_mlp


def _data(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.3
    for c in range(3):
        x[y == c, 0, 2 * c:2 * c + 3, :] += 0.6  # a bar per class
    return x.clamp(0, 1), y


def test_null_step_keeps_logits_when_no_unit_flips():
    x, y = _data()
    cfg = TwoLayerConfig(hidden=16, epochs=5, threshold=0.3, rounds=5)
    model = train_mlp(x, y, cfg)
    kept = 0
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4)]:
        r = null_step(model, x[i, 0], x[j, 0], cfg)
        assert 0 <= r["null_dim"] <= 64 - min(r["rows"], 3)
        if r["flipped_units"] == 0:
            kept += 1
            assert r["logit_change"] < 1e-6 and r["pred_kept"]
        # the step moved towards the target, never away
        assert r["l2_to_target_after"] <= r["l2_to_target_before"] + 1e-6
    assert kept >= 1


def test_null_step_is_exact_for_an_all_active_network():
    """With every unit active and far from 0 (large positive bias), M = W2·W1 and the step in null(M)
    leaves logits unchanged exactly, whatever the target."""
    cfg = TwoLayerConfig(hidden=6, threshold=0.3)
    x, y = _data(n=30)
    model = train_mlp(x, y, TwoLayerConfig(hidden=6, epochs=1))
    with torch.no_grad():
        model.fc1.weight.mul_(0.01)
        model.fc1.bias.fill_(5.0)
    r = null_step(model, x[0, 0], x[1, 0], cfg)
    assert r["rows"] == 3 and r["null_dim"] == 64 - 3
    assert r["flipped_units"] == 0 and r["logit_change"] < 1e-9
    assert r["l2_to_target_after"] < r["l2_to_target_before"]
