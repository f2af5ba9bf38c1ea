import pytest
import torch
import torch.nn.functional as F

from shortcutbench.data.lt import VALUE_SETS, extended_spec, toy_dataset
from shortcutbench.models.conv_maxpool import ConvMaxPool
from shortcutbench.ops.lt_extended import LTPass, lt_decode, lt_extended, lt_extended_reference
from shortcutbench.testing import compiled

CPU = torch.device("cpu")


def _args(spec, w, b, lo, hi, clip, max_wrong=64):
    return (spec.bases, spec.labels, spec.pixels, spec.offsets, w, b, lo, hi, clip, True, True, max_wrong)


def _rounding_slack(spec, weight, lo, hi, clip):
    """How far the (weight, bias) gradients may honestly differ. Each per-sample term carries ~eps
    relative error in the weight's dtype. And where a filter's two best windows over *different*
    patches tie to rounding (|gap| within 64 eps of the sum of |terms|), each code's own summation
    order picks the argmax, so kernel and reference may route that sample's gradient
    (|dL/dlogit| <= 1) to different patches: that moves the weight gradient by at most the largest
    difference between the two patches. (Windows over identical patches route the same gradient.)"""
    x = lt_decode(spec.bases.double(), spec.pixels, spec.offsets.double(), torch.arange(lo, hi), clip).unsqueeze(1)
    eps = torch.finfo(weight.dtype).eps
    per_term = (hi - lo) * 4 * eps
    w = weight.double().unsqueeze(1)
    values = F.conv2d(x, w).flatten(2)  # [M, 2, windows]
    slack = 0.0
    if values.shape[2] > 1:
        top2 = values.topk(2, dim=2)
        scale = F.conv2d(x.abs(), w.abs()).flatten(2).gather(2, top2.indices).amax(2)
        near = top2.values[..., 0] - top2.values[..., 1] <= 64 * eps * (1 + scale)  # [M, 2]
        patches = F.unfold(x, weight.shape[-1])  # [M, k*k, windows]
        m, f = near.nonzero(as_tuple=True)
        a = patches[m, :, top2.indices[m, f, 0]]
        b = patches[m, :, top2.indices[m, f, 1]]
        slack = float((a - b).abs().amax(1).sum()) if m.numel() else 0.0
    return slack + per_term * float(x.abs().max()), per_term


def _assert_same(ref, out, rtol=1e-5, slack=(0.0, 0.0)):
    torch.testing.assert_close(out.loss_sum, ref.loss_sum, rtol=rtol, atol=1e-9)
    torch.testing.assert_close(out.grad_weight, ref.grad_weight, rtol=rtol,
                               atol=1e-6 * ref.grad_weight.abs().max() + slack[0])
    torch.testing.assert_close(out.grad_bias, ref.grad_bias, rtol=rtol,
                               atol=1e-6 * ref.grad_bias.abs().max() + slack[1])
    assert int(out.correct) == int(ref.correct)
    torch.testing.assert_close(out.min_margin, ref.min_margin, rtol=1e-5, atol=1e-6)
    assert torch.equal(out.misclassified, ref.misclassified)


def test_sizes_and_balance_as_in_the_thesis():
    lt = toy_dataset("lt")
    assert len(lt) == 8 and lt.labels.tolist() == [0, 1] * 4
    assert extended_spec(lt, 0.41, "full").size == 344_373_768  # 3^16 · 8 (seed 001 §6.2.2)
    assert extended_spec(lt, 0.41, "corners").size == 524_288  # 2^16 · 8
    ts = toy_dataset("triangle_square")
    assert len(ts) == 72 and int(ts.labels.sum()) == 36  # 36 per class (seed 001 §6.1)
    assert ts.patterns.flatten(1).sum(1).tolist() == [16.0, 16.0]


def test_decode_by_hand():
    spec = extended_spec(toy_dataset("lt"), 0.25, "full")
    base0 = spec.bases[0].flatten()
    imgs = lt_decode(spec.bases, spec.pixels, spec.offsets, torch.tensor([0, 1, 3**16 - 1, 3**16])).flatten(1)
    torch.testing.assert_close(imgs[0], base0 - 0.25)  # every digit 0 → −ε
    expect = base0 - 0.25
    expect[0] = base0[0]  # digit 0 of code 1 reads 1 → offset 0 on pixel 0
    torch.testing.assert_close(imgs[1], expect)
    torch.testing.assert_close(imgs[2], base0 + 0.25)  # every digit 2 → +ε
    torch.testing.assert_close(imgs[3], spec.bases[1].flatten() - 0.25)  # next base


def test_inbound_and_pattern_sets_follow_assumptions_3_and_4():
    data = toy_dataset("lt")
    inb = extended_spec(data, 0.4, "inbound")
    imgs = lt_decode(inb.bases, inb.pixels, inb.offsets, torch.arange(0, inb.size, 997))
    assert imgs.min() >= 0 and imgs.max() <= 1  # never leaves [0, 1]
    pat = extended_spec(data, 0.4, "pattern")
    assert pat.size == 8 * 3**9
    idx = torch.arange(0, pat.size, 101)
    moved = (lt_decode(pat.bases, pat.pixels, pat.offsets, idx) != pat.bases[idx // 3**9]).flatten(1)
    i, j = data.offsets[0].tolist()
    window = torch.zeros(4, 4, dtype=torch.bool)
    window[i:i + 3, j:j + 3] = True
    assert not moved[idx // 3**9 == 0][:, ~window.flatten()].any()  # only the pattern's window moves


@pytest.mark.parametrize("value_set", VALUE_SETS)
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_matches_reference_on_random_subranges(value_set, clip, dtype):
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    g = torch.Generator().manual_seed(VALUE_SETS.index(value_set) * 2 + clip)  # not hash(): salted per process
    spec = extended_spec(toy_dataset("lt", dtype=dtype), 0.41, value_set)
    w, b = torch.randn(2, 3, 3, generator=g, dtype=dtype), torch.randn(2, generator=g, dtype=dtype)
    n = min(12_000, spec.size)
    lo = int(torch.randint(0, spec.size - n + 1, (1,), generator=g))
    args = _args(spec, w, b, lo, lo + n, clip)
    _assert_same(lt_extended_reference(*args), LTPass(*torch.ops.shortcutbench.lt_extended(*args)),
                 slack=_rounding_slack(spec, w, lo, lo + n, clip))


@pytest.mark.parametrize("name, canvas, value_set, k", [
    ("lt", 3, "full", 3), ("lt", 5, "corners", 3), ("triangle_square", 5, "full", 5),
    ("triangle_square", 6, "corners", 5), ("triangle_square", 7, "pattern", 5), ("lt", 4, "full", 2),
])
def test_compiled_matches_reference_on_other_canvases(name, canvas, value_set, k):
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    g = torch.Generator().manual_seed(canvas * 10 + k)
    spec = extended_spec(toy_dataset(name, canvas=canvas), 0.3, value_set)
    w, b = torch.randn(2, k, k, generator=g), torch.randn(2, generator=g)
    # a range that straddles a base-image boundary
    mid = spec.per_base * (spec.bases.shape[0] // 2)
    n = min(9_000, spec.size)
    lo = max(0, min(mid - n // 2, spec.size - n))
    args = _args(spec, w, b, lo, lo + n, True)
    _assert_same(lt_extended_reference(*args), LTPass(*torch.ops.shortcutbench.lt_extended(*args)),
                 slack=_rounding_slack(spec, w, lo, lo + n, True))


def test_whole_small_set_without_bias_and_flags():
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    spec = extended_spec(toy_dataset("lt"), 0.41, "inbound_pattern")
    w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(3))
    for with_loss, with_grad in [(False, False), (True, False), (True, True)]:
        args = (spec.bases, spec.labels, spec.pixels, spec.offsets, w, None, 0, spec.size, False, with_loss, with_grad,
                10**6)
        _assert_same(lt_extended_reference(*args), LTPass(*torch.ops.shortcutbench.lt_extended(*args)))


def test_reference_gradient_equals_autograd_through_the_model():
    """The reference's hand-routed gradient against autograd through ConvMaxPool (float64)."""
    spec = extended_spec(toy_dataset("lt", dtype=torch.float64), 0.41, "full")
    g = torch.Generator().manual_seed(1)
    model = ConvMaxPool(3, bias=True).double()
    model.set_filters(torch.randn(2, 3, 3, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64))
    idx = torch.arange(5_000_000, 5_004_000)
    x = lt_decode(spec.bases, spec.pixels, spec.offsets, idx)
    y = spec.labels[idx // 3**16]
    loss = F.cross_entropy(model(x), y, reduction="sum")
    loss.backward()
    ref = lt_extended_reference(spec.bases, spec.labels, spec.pixels, spec.offsets, model.filters.detach(),
                                model.bias.detach(), int(idx[0]), int(idx[-1]) + 1)
    torch.testing.assert_close(ref.loss_sum, loss.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(ref.grad_weight, model.conv.weight.grad[:, 0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ref.grad_bias, model.conv.bias.grad, rtol=1e-10, atol=1e-10)


def test_misclassified_indices_are_misclassified():
    spec = extended_spec(toy_dataset("lt"), 0.41, "corners")
    w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(5))
    out = lt_extended(spec.bases, spec.labels, spec.pixels, spec.offsets, w, None, 0, 40_000, max_misclassified=50)
    assert out.misclassified.numel() == min(50, 40_000 - int(out.correct))
    assert torch.all(out.misclassified[1:] > out.misclassified[:-1])
    x = lt_decode(spec.bases, spec.pixels, spec.offsets, out.misclassified)
    pred = F.conv2d(x.unsqueeze(1), w.unsqueeze(1)).flatten(2).amax(2).argmax(1)
    assert torch.all(pred != spec.labels[out.misclassified // spec.per_base])


@pytest.mark.parametrize("bad, match", [
    (lambda a: {**a, "pixels": a["pixels"].clone().index_fill_(1, torch.tensor([1]), 0)}, "twice"),
    (lambda a: {**a, "stop": a["stop"] + 1}, "start <= stop"),
    (lambda a: {**a, "weight": torch.zeros(3, 3, 3)}, r"\[2, k, k\]"),
    (lambda a: {**a, "weight": torch.zeros(2, 3, 3, dtype=torch.float64)}, "one dtype"),
    (lambda a: {**a, "labels": torch.full((8,), 2)}, "0 or 1"),
])
def test_kernel_rejects_bad_input(bad, match):
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    spec = extended_spec(toy_dataset("lt"), 0.41, "corners")
    a = dict(bases=spec.bases, labels=spec.labels, pixels=spec.pixels, offsets=spec.offsets,
             weight=torch.zeros(2, 3, 3), bias=None, start=0, stop=spec.size)
    a = bad(a)
    with pytest.raises(RuntimeError, match=match):
        torch.ops.shortcutbench.lt_extended(*a.values(), False, True, True, 0)


def test_index_space_overflow_is_an_error():
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    spec = extended_spec(toy_dataset("triangle_square"), 0.3, "full")  # 72 · 3^100
    with pytest.raises(RuntimeError, match="overflows int64"):
        torch.ops.shortcutbench.lt_extended(spec.bases, spec.labels, spec.pixels, spec.offsets, torch.zeros(2, 5, 5),
                                            None, 0, 0, False, True, True, 0)


def test_opcheck_schema():
    if not compiled("lt_extended", CPU):
        pytest.skip("lt_extended not compiled")
    spec = extended_spec(toy_dataset("lt"), 0.41, "corners")
    torch.library.opcheck(torch.ops.shortcutbench.lt_extended.default,
                          (spec.bases, spec.labels, spec.pixels, spec.offsets, torch.randn(2, 3, 3), None, 0, 100,
                           False, True, True, 4), test_utils=("test_schema",))
