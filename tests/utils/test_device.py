"""``--device``: the model runs there, tensors cross at its boundary; a missing GPU is exit 2."""
import copy
import pickle

import pytest
import torch
import torch.nn.functional as F

from shortcutbench.cli import main
from shortcutbench.errors import UsageError
from shortcutbench.models.lazy_cnn import LazyCNN
from shortcutbench.utils.device import current_device, install_boundary, place, resolve_device, use_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the missing-GPU error cannot occur")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible here)")


def _model():
    torch.manual_seed(0)
    return LazyCNN().eval()


def _value_and_grad(model, x, y):
    xr = x.clone().requires_grad_(True)
    z = model(xr)
    (g,) = torch.autograd.grad(F.cross_entropy(z, y), xr)
    return z.detach(), g


def test_resolve_device_names_the_problem():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("cuda:x")


@no_cuda
def test_cuda_without_cuda_is_a_usage_error():
    with pytest.raises(UsageError, match="CUDA is not available"):
        resolve_device("cuda")


@no_cuda
@pytest.mark.parametrize("argv", [["run", "attack"], ["zoo", "train", "--dry-run"], ["explain"]])
def test_cli_device_cuda_without_cuda_exits_2_with_one_line(argv, capsys, tmp_path):
    assert main(argv + ["--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device cuda: CUDA is not available" in err
    assert current_device() == torch.device("cpu")  # nothing was switched


def test_cpu_leaves_the_model_as_it_is():
    m = _model()
    use_device("cpu")
    assert place(m) is m and not m._forward_hooks and not m._forward_pre_hooks


def test_boundary_keeps_the_function_features_and_pickling():
    """The boundary's hooks on CPU (where they move nothing): same logits, input gradient and
    features; the model still pickles (training resume) and deep-copies (checkpoints)."""
    m, x, y = _model(), torch.rand(4, 3, 28, 28), torch.tensor([0, 1, 2, 3])
    z, g = _value_and_grad(m, x, y)
    f = m.features(x)
    b = install_boundary(copy.deepcopy(m))
    assert install_boundary(b) is b and len(b._forward_hooks) == 1  # installed once
    z2, g2 = _value_and_grad(b, x, y)
    assert torch.equal(z, z2) and torch.equal(g, g2) and torch.equal(b.features(x), f)
    for clone in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b)):
        assert torch.equal(clone(x), z) and torch.equal(clone.features(x), f)


@needs_cuda
def test_model_on_cuda_with_cpu_tensors_outside():
    m, x, y = _model(), torch.rand(4, 3, 28, 28), torch.tensor([0, 1, 2, 3])
    z, g = _value_and_grad(m, x, y)
    gpu = place(copy.deepcopy(m), torch.device("cuda"))
    assert next(gpu.parameters()).is_cuda
    z2, g2 = _value_and_grad(gpu, x, y)
    assert z2.device.type == "cpu" and g2.device.type == "cpu" and gpu.features(x).device.type == "cpu"
    torch.testing.assert_close(z2, z, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g2, g, rtol=1e-3, atol=1e-6)


@needs_cuda
def test_apgd_on_a_cuda_model_matches_cpu():
    from shortcutbench.attacks import APGD

    m, x = _model(), torch.rand(16, 3, 28, 28)
    with torch.no_grad():
        y = m(x).argmax(1)
    cpu = APGD(eps=0.03, steps=10, seed=0)(m, x, y)
    gpu = APGD(eps=0.03, steps=10, seed=0)(place(copy.deepcopy(m), torch.device("cuda")), x, y)
    assert (cpu.success == gpu.success).float().mean() >= 0.9  # float summation order differs on GPU
