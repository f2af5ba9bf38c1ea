"""Each method's loss on a tiny hand-made batch: the value against a hand/closed-form derivation
and the direction of its gradient."""
import math

import pytest
import torch
import torch.nn as nn

from shortcutbench.data.colored_mnist import PALETTE
from shortcutbench.train.cf_invar import cf_invar_loss, symmetric_kl
from shortcutbench.train.dann_fixa import adversary_stats, dann_loss, dominance_label, lambda_color
from shortcutbench.train.dfr import refit_last_layer
from shortcutbench.train.group_dro import dro_step, group_losses
from shortcutbench.train.group_reweight import group_weights, weighted_ce
from shortcutbench.train.helpers import balanced_order, coarse_group, grad_reverse, recolor_avoiding
from shortcutbench.train.irm import irm_loss, irm_penalty, make_environments
from shortcutbench.train.jtt import upsampled_order
from shortcutbench.train.lff import ClassNormalisedEMA, gce_loss, relative_difficulty
from shortcutbench.train.saliency import digit_mask, lambda_sal, saliency_penalty, shape_mask

LOG2, LOG10 = math.log(2), math.log(10)


# --------------------------------------------------------------------------- ERM
class _Flat(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 2 * 2, 10)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("method", ["erm", "erm_adam"])
def test_erm_step_value_and_direction(method):
    from shortcutbench.train import METHODS, TrainConfig
    from shortcutbench.train.method import Batch

    x = torch.rand(4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3])
    model = _Flat()
    algo = METHODS.get(method)(model, TrainConfig(lr=0.1, momentum=0.0), None)
    out = algo.training_step(Batch(x, y, y, torch.arange(4)), 0, 0)
    assert out["loss"] == pytest.approx(LOG10, rel=1e-6)  # zero weights: uniform logits
    # the step raised each image's own logit relative to the others
    logits = model(x)
    assert torch.all(logits.gather(1, y[:, None]).squeeze(1) > logits[:, 5])


# --------------------------------------------------------------------------- DANN-FixA
def test_dominance_label_and_schedule():
    assert dominance_label(torch.tensor([3, 3, 7]), torch.tensor([3, 5, 7])).tolist() == [1, 0, 1]
    hp = {"lambda_color_early": 2.0, "lambda_color_late": 0.2, "early_epochs": 5}
    assert [lambda_color(e, hp) for e in (0, 4, 5, 14)] == [2.0, 2.0, 0.2, 0.2]  # seed: epochs ≤ 5 (1-based)


def test_dann_loss_value_and_reversed_feature_gradient():
    # uniform logits: CE = log 10 for the digit head, log 2 for the dominance head
    z = torch.zeros(2, 4, requires_grad=True)
    head, disc = nn.Linear(4, 10), nn.Linear(4, 2)
    for p in (*head.parameters(), *disc.parameters()):
        nn.init.zeros_(p)
    loss = dann_loss(head(z), disc(grad_reverse(z, 1.0)), torch.tensor([1, 2]), torch.tensor([1, 0]), 2.0)
    assert loss.item() == pytest.approx(LOG10 + 2.0 * LOG2, rel=1e-6)
    # the GRL flips the sign of the adversary's gradient at the features
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    (grad_reverse(x, 0.5) * torch.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [-1.5, -2.0]


def test_dann_adversary_descends_while_features_ascend_its_loss():
    torch.manual_seed(0)
    z0 = torch.randn(8, 4)
    d = torch.tensor([1, 0] * 4)
    disc = nn.Linear(4, 2)
    z = z0.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(disc(grad_reverse(z, 1.0)), d)
    loss.backward()
    z_plain = z0.clone().requires_grad_(True)
    nn.functional.cross_entropy(disc(z_plain), d).backward()
    assert torch.allclose(z.grad, -z_plain.grad)  # features get the ascent direction
    assert disc.weight.grad.abs().sum() > 0  # the adversary itself still descends


def test_adversary_stats_against_the_prior():
    # an adversary answering "dominant" for all: accuracy = share of d = 1, spots no counter-example
    d = torch.tensor([1, 1, 1, 0])
    prior = torch.tensor([[0.0, 1.0]]).repeat(4, 1)
    s = adversary_stats(prior, d)
    assert s["adv_acc"] == 0.75 and s["adv_conflicting"] == 1 and s["adv_conflicting_found"] == 0
    assert s["adv_loss"] == pytest.approx(math.log(1 + math.e ** -1) * 3 / 4 + math.log(1 + math.e) / 4)
    spot = prior.clone()
    spot[3] = torch.tensor([1.0, 0.0])
    assert adversary_stats(spot, d)["adv_conflicting_found"] == 1 and adversary_stats(spot, d)["adv_acc"] == 1.0


# --------------------------------------------------------------------------- saliency
class _Linear(nn.Module):
    """f(x) = W · vec(x): its input gradient for class y is W_y, known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w.t()


def _sal_batch():
    x = torch.zeros(1, 3, 2, 2)
    x[0, :, 0, 0] = torch.tensor([0.9, 0.3, 0.0])  # stroke pixel (channel mean 0.4)
    return x, torch.tensor([1])


def test_shape_mask_threshold():
    x, _ = _sal_batch()
    assert shape_mask(x, 0.05)[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("mask", ["stroke", "background"])
def test_saliency_penalty_closed_form(mask):
    x, y = _sal_batch()
    w = torch.arange(24, dtype=torch.float32).reshape(2, 12) / 10
    g = w[1].reshape(3, 2, 2)
    gc = g - g.mean(0, keepdim=True)
    m = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    m = m if mask == "stroke" else 1 - m
    expected = float(((gc ** 2) * m).sum())
    pen, _ = saliency_penalty(_Linear(w), x, y, mask, 0.05)
    assert pen.item() == pytest.approx(expected, rel=1e-6)


def test_saliency_stroke_gradient_shrinks_chroma_sensitivity_only():
    x, y = _sal_batch()
    w = torch.randn(2, 12, generator=torch.Generator().manual_seed(1))
    model = _Linear(w.clone())
    pen, _ = saliency_penalty(model, x, y, "stroke", 0.05)
    pen.backward()
    step = model.w.detach() - 0.1 * model.w.grad
    after, _ = saliency_penalty(_Linear(step), x, y, "stroke", 0.05)
    assert after.item() < pen.item()
    # the channel-mean (brightness) part of the stroke gradient is not penalised
    grad = model.w.grad[1].reshape(3, 2, 2)
    assert grad[:, 0, 0].sum().abs().item() < 1e-6
    assert torch.all(grad[:, 1:, :] == 0) and torch.all(grad[:, 0, 1] == 0)


def test_background_coloured_data_gets_its_stroke_from_the_digit():
    from shortcutbench.ops import colorize

    gray = torch.zeros(1, 2, 2, dtype=torch.uint8)
    gray[0, 0, 0] = 255
    x = colorize(gray, PALETTE[2:3].contiguous(), True)  # white stroke on a blue background
    assert shape_mask(x, 0.05).sum() == 4  # the seed's rule: every pixel is "stroke", no background
    stroke = digit_mask(gray, 0.05)
    assert stroke[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    w = torch.randn(2, 12, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([1])
    assert saliency_penalty(_Linear(w), x, y, "background", 0.05)[0].item() == 0.0
    pen, _ = saliency_penalty(_Linear(w), x, y, "background", 0.05, stroke=stroke)
    g = w[1].reshape(3, 2, 2)
    gc = g - g.mean(0, keepdim=True)
    assert pen.item() == pytest.approx(float((gc ** 2 * (1 - stroke[0])).sum()), rel=1e-6) and pen.item() > 0


def test_saliency_schedule():
    assert [lambda_sal(e, 1.0) for e in (0, 1, 2, 4, 5, 8)] == [1.0, 1.0, 0.7, 0.7, 0.3, 0.3]


# --------------------------------------------------------------------------- CF-INVAR
def test_symmetric_kl_closed_form_and_zero_on_equal():
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[1.0, 0.0]])
    q0 = math.e / (1 + math.e)
    kl_pq = 0.5 * math.log(0.5 / q0) + 0.5 * math.log(0.5 / (1 - q0))
    kl_qp = q0 * math.log(q0 / 0.5) + (1 - q0) * math.log((1 - q0) / 0.5)
    assert symmetric_kl(a, b).item() == pytest.approx(kl_pq + kl_qp, rel=1e-6)
    assert symmetric_kl(b, b).item() == pytest.approx(0.0, abs=1e-7)


def test_cf_invar_loss_value_and_gradient_pulls_views_together():
    logits = torch.zeros(1, 10)
    cf = torch.zeros(1, 10, requires_grad=True)
    cf.data[0, 3] = 2.0  # the counterfactual view leans to class 3, the label is 1
    y = torch.tensor([1])
    loss = cf_invar_loss(logits, cf, y, 1.0, 1.0)
    ce_cf = -(0.0 - math.log(9 + math.exp(2.0)))
    assert loss.item() == pytest.approx(LOG10 + ce_cf + symmetric_kl(logits, cf).item(), rel=1e-6)
    loss.backward()
    assert cf.grad[0, 3] > 0 and cf.grad[0, 1] < 0  # descent lowers class 3, raises the label


def test_recolor_avoiding_never_keeps_the_colour():
    gray = torch.full((200, 2, 2), 255, dtype=torch.uint8)
    color = torch.arange(200) % 10
    out = recolor_avoiding(gray, color, False, torch.Generator().manual_seed(0))
    rgb = out[:, :, 0, 0]
    new = torch.cdist(rgb, PALETTE).argmin(1)
    assert torch.all(new != color)
    assert len(torch.unique(new)) == 10


# --------------------------------------------------------------------------- groups
def test_coarse_group_and_reweighting():
    assert coarse_group(torch.tensor([0, 0, 4]), torch.tensor([0, 3, 4])).tolist() == [0, 1, 8]
    w = group_weights(torch.tensor([3.0, 1.0, 0.0]))
    assert w.tolist() == pytest.approx([4 / 6, 2.0, 0.0])  # N / (G · n_g), mean over images = 1
    logits = torch.zeros(2, 10, requires_grad=True)
    loss = weighted_ce(logits, torch.tensor([0, 1]), torch.tensor([1.0, 3.0]))
    assert loss.item() == pytest.approx(LOG10)
    loss.backward()
    assert logits.grad[1, 1] == pytest.approx(3 * logits.grad[0, 0].item())  # the rare group pulls 3×


def test_balanced_order_equalises_groups():
    groups = torch.tensor([0] * 90 + [1] * 10)
    idx = torch.cat(balanced_order(groups, 32, torch.Generator().manual_seed(0)))
    assert idx.numel() == 100
    share_rare = (groups[idx] == 1).float().mean().item()
    assert 0.35 < share_rare < 0.65  # 10% in the data, ~50% in the balanced epoch


def test_group_dro_weights_move_to_the_worst_group():
    losses, present = group_losses(torch.tensor([1.0, 3.0, 2.0]), torch.tensor([0, 0, 2]), 4)
    assert losses.tolist() == [2.0, 0.0, 2.0, 0.0] and present.tolist() == [True, False, True, False]
    q = dro_step(torch.full((2,), 0.5), torch.tensor([1.0, 0.0]), torch.tensor([True, True]), 1.0)
    assert q.tolist() == pytest.approx([math.e / (1 + math.e), 1 / (1 + math.e)])


def test_jtt_upsampling_counts():
    idx = torch.cat(upsampled_order(5, torch.tensor([1, 3]), 4, 3, torch.Generator().manual_seed(0)))
    assert torch.bincount(idx).tolist() == [1, 4, 1, 4, 1]


def test_dfr_refit_folds_standardisation_back():
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(0)
    f = torch.randn(60, 3, generator=g) * torch.tensor([5.0, 0.1, 1.0]) + 2.0
    y = (f[:, 0] > 2.0).long() + 2 * (f[:, 2] > 2.0).long()
    w, b = refit_last_layer(f, y, 5)
    mu, sd = f.double().mean(0), f.double().std(0, unbiased=False)
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(((f.double() - mu) / sd).numpy(), y.numpy())
    ours = (f @ w.t() + b).argmax(1)
    assert ours.tolist() == clf.predict(((f.double() - mu) / sd).numpy()).tolist()
    assert torch.all(w[4] == 0)  # a class absent from the refit set gets no weights


def test_irm_penalty_closed_form_and_environments():
    logits = torch.tensor([[1.0, 0.0]], requires_grad=True)
    pen = irm_penalty(logits, torch.tensor([0]))
    assert pen.item() == pytest.approx((1 / (1 + math.e)) ** 2, rel=1e-6)  # (Σ p_k l_k − l_y)²
    pen.backward()
    # pen = (δ / (1 + e^δ))², δ = l0 − l1 = 1 → ∂pen/∂l0 = 2 · (1/(1+e)) · (1/(1+e)²): at δ = 1 the
    # penalty still grows with the margin, so descent pulls the logits together (scale invariance)
    assert logits.grad[0].tolist() == pytest.approx([2 / (1 + math.e) ** 3, -2 / (1 + math.e) ** 3], rel=1e-5)
    loss = irm_loss(torch.zeros(4, 10), torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 1, 1]), 100.0)
    assert loss.item() == pytest.approx(2 * LOG10 / 100)  # zero logits: zero penalty, risk / λ
    digit = torch.tensor([0] * 8)
    color = torch.tensor([0, 0, 0, 0, 0, 0, 1, 2])
    env = make_environments(digit, color)
    assert env.tolist() == [1, 0, 0, 0, 0, 0, 1, 0]  # env 1: one conflicting + one aligned


def test_lff_gce_and_relative_difficulty():
    logits = torch.zeros(1, 2, requires_grad=True)
    loss = gce_loss(logits, torch.tensor([0]), 0.7)
    assert loss.item() == pytest.approx(LOG2 * 0.5 ** 0.7 * 0.7, rel=1e-6)
    loss.sum().backward()
    assert logits.grad[0, 0] < 0
    assert relative_difficulty(torch.tensor([3.0]), torch.tensor([1.0])).item() == pytest.approx(0.75)
    ema = ClassNormalisedEMA(torch.tensor([0, 0, 1]), 0.5)
    ema.update(torch.tensor([0, 1, 2]), torch.tensor([2.0, 4.0, 1.0]))
    assert ema.value.tolist() == [1.0, 2.0, 0.5]
    assert ema.normalised(torch.tensor([0, 1, 2])).tolist() == [0.5, 1.0, 1.0]
