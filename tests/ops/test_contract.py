"""The contract every op keeps (issue 21 "complete trios"): exported with its reference from
shortcutbench.ops; compiled kernel = reference in every layout (contiguous, channels_last or
strided views, a size-0 batch), on every device present; torch.library.opcheck in full (schema,
autograd registration, fake tensor, AOT dispatch); callable inside torch.compile; and without its
kernel (forced, or no _C) the public op runs its reference (issue 19)."""
import importlib
import warnings

import pytest
import torch

import shortcutbench.ops as ops
from shortcutbench import _ext
from shortcutbench.ops import OPS
from shortcutbench.testing import compiled

from .cases import CASES, LAYOUTS

pytestmark = pytest.mark.ext
CPU = torch.device("cpu")
# CUDA always appears, so a CPU-only machine reports the GPU checks as skipped (with the reason)
DEVICES = [CPU, torch.device("cuda:0")]


def _copy(a):
    """A copy with the same strides (clone() would make a non-dense view contiguous)."""
    if not isinstance(a, torch.Tensor):
        return a
    out = torch.empty_strided(a.size(), a.stride(), dtype=a.dtype, device=a.device)
    return out.copy_(a)


def _leaves(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _assert_same(got, want, case, what):
    for i, (a, b) in enumerate(zip(_leaves(got), _leaves(want))):
        if i in case.skip_out:  # drop the last column (seconds spent)
            a, b = a[..., :-1], b[..., :-1]
        b = b.to(a.device)
        if a.dtype in (torch.bool, torch.int64):
            assert torch.equal(a, b), f"{what} {i}"
        else:
            torch.testing.assert_close(a, b, **case.tol, msg=lambda m: f"{what} {i}: {m}")


def _skip_unless_compiled(op, device):
    if device.type == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device here (torch.cuda.is_available() is False)")
    if not compiled(op, device):
        pytest.skip(f"{op} has no {device.type} kernel in this build")


def test_every_op_is_exported_with_its_reference_and_a_case():
    assert sorted(CASES) == OPS
    for op in OPS:
        assert op in ops.__all__ and f"{op}_reference" in ops.__all__
        assert callable(getattr(ops, op)) and callable(getattr(ops, f"{op}_reference"))


@pytest.mark.parametrize("device", DEVICES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op", OPS)
def test_compiled_matches_reference_in_every_layout(op, layout, device):
    _skip_unless_compiled(op, device)
    case = CASES[op](layout, device)
    args_c = tuple(_copy(a) for a in case.args)
    args_r = tuple(_copy(a).cpu() if isinstance(a, torch.Tensor) else a for a in case.args)
    got = getattr(torch.ops.shortcutbench, op)(*args_c)
    want = getattr(ops, f"{op}_reference")(*args_r)
    _assert_same(got, want, case, "output")
    tensors = [(a, b) for a, b in zip(args_c, args_r) if isinstance(a, torch.Tensor)]
    _assert_same([a for a, _ in tensors], [b for _, b in tensors], case, "argument (after in-place updates)")
    for a, orig in zip(args_c, case.args):  # layouts of updated arguments are kept
        if isinstance(a, torch.Tensor):
            assert a.stride() == orig.stride()


@pytest.mark.parametrize("device", DEVICES, ids=str)
@pytest.mark.parametrize("op", OPS)
def test_opcheck_in_full(op, device):
    _skip_unless_compiled(op, device)
    case = CASES[op]("contiguous", device)
    args = list(case.args)
    args[case.grad_arg] = args[case.grad_arg].detach().clone().requires_grad_(True)
    utils = [u for u in ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")
             if u not in case.opcheck_skip]
    torch.library.opcheck(getattr(torch.ops.shortcutbench, op).default, tuple(args), test_utils=utils)


@pytest.mark.parametrize("op", OPS)
def test_inside_torch_compile(op):
    _skip_unless_compiled(op, CPU)
    case = CASES[op]("contiguous", CPU)
    fn = getattr(torch.ops.shortcutbench, op)
    torch._dynamo.reset()
    compiled_fn = torch.compile(lambda *a: fn(*a), backend="aot_eager", fullgraph=True)
    args_e = tuple(_copy(a) for a in case.args)
    args_c = tuple(_copy(a) for a in case.args)
    _assert_same(compiled_fn(*args_c), fn(*args_e), case, "compiled output")
    tensors = [(a, b) for a, b in zip(args_c, args_e) if isinstance(a, torch.Tensor)]
    _assert_same([a for a, _ in tensors], [b for _, b in tensors], case, "argument under torch.compile")


def test_outputs_carry_no_graph_and_updated_arguments_must_not_require_grad():
    _skip_unless_compiled("pgd_step", CPU)
    case = CASES["pgd_step"]("contiguous", CPU)
    args = [_copy(a) for a in case.args]
    args[2].requires_grad_(True)  # grad: read only
    out = torch.ops.shortcutbench.pgd_step(*args)
    assert not out.requires_grad
    args[10].requires_grad_(True)  # best_x: updated in place
    with pytest.raises(RuntimeError, match="not differentiable and updates best_x"):
        torch.ops.shortcutbench.pgd_step(*args)


@pytest.mark.parametrize("why", ["forced", "no _C"])
@pytest.mark.parametrize("op", OPS)
def test_without_its_kernel_the_public_op_runs_its_reference(op, why, monkeypatch):
    """The fallback: with SHORTCUTBENCH_FORCE_REFERENCE=1, or with no compiled core at all (``_C``
    absent, as on a pure-Python install; warned once), the public op calls ``<op>_reference``. The
    reference is spied on, so a compiled kernel that agrees with it cannot pass for it."""
    module = importlib.import_module(f"shortcutbench.ops.{op}")
    real = getattr(module, f"{op}_reference")
    calls = []
    monkeypatch.setattr(module, f"{op}_reference", lambda *a, **kw: calls.append(op) or real(*a, **kw))
    if why == "forced":
        monkeypatch.setenv("SHORTCUTBENCH_FORCE_REFERENCE", "1")
    else:
        monkeypatch.delenv("SHORTCUTBENCH_FORCE_REFERENCE", raising=False)
        monkeypatch.setattr(_ext, "_C", None)
        monkeypatch.setattr(_ext, "_warned", False)
    case = CASES[op]("contiguous", CPU)
    args_p = tuple(_copy(a) for a in case.args)
    args_r = tuple(_copy(a) for a in case.args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = getattr(ops, op)(*args_p)
    assert calls == [op]
    fallback = [w for w in caught
                if issubclass(w.category, RuntimeWarning) and "using the torch reference" in str(w.message)]
    assert len(fallback) == (0 if why == "forced" else 1)
    _assert_same(got, real(*args_r), case, "output")
