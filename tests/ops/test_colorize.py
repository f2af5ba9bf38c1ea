import pytest
import torch

from shortcutbench.ops import colorize, colorize_reference
from shortcutbench.testing import compiled, devices

pytestmark = pytest.mark.ext


def _inputs(n, dtype, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    gray = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    if dtype == torch.float32:
        gray = gray.float() / 255
    color = torch.rand(n, 3, generator=g)
    return gray.to(device), color.to(device)


@pytest.mark.parametrize("device", devices)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("n", [0, 1, 37])
def test_compiled_matches_reference(device, dtype, background, n):
    if not compiled("colorize", device):
        pytest.skip(f"colorize not compiled for {device.type}")
    gray, color = _inputs(n, dtype, device)
    out = torch.ops.shortcutbench.colorize(gray, color, background)
    torch.testing.assert_close(out, colorize_reference(gray, color, background), rtol=0, atol=1e-6)
    assert out.shape == (n, 3, 28, 28) and out.dtype == torch.float32


def test_reference_semantics_by_hand():
    gray = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)
    color = torch.tensor([[1.0, 0.5, 0.0]])
    stroke = colorize_reference(gray, color, background=False)
    torch.testing.assert_close(stroke[0, 0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))
    torch.testing.assert_close(stroke[0, 1], torch.tensor([[0.0, 0.5], [0.1, 0.2]]))
    assert stroke[0, 2].abs().sum() == 0
    bg = colorize_reference(gray, color, background=True)
    # white stroke stays white, black background takes the colour
    assert bg[0, :, 0, 1].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert bg[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_non_contiguous_inputs():
    if not compiled("colorize", torch.device("cpu")):
        pytest.skip("colorize not compiled")
    gray, color = _inputs(8, torch.float32, "cpu")
    gray_t = gray.transpose(1, 2)
    color_nc = torch.rand(3, 8).t()
    torch.testing.assert_close(colorize(gray_t, color_nc), colorize_reference(gray_t, color_nc))


@pytest.mark.parametrize("bad, match", [
    (lambda g, c: (g[0], c), "3 dimensions"),
    (lambda g, c: (g, c[:, :2]), r"shape \[N, 3\]"),
    (lambda g, c: (g.double(), c), "uint8 or float32"),
    (lambda g, c: (g, c.double()), "float32"),
])
def test_kernel_rejects_bad_input_with_shapes(bad, match):
    if not compiled("colorize", torch.device("cpu")):
        pytest.skip("colorize not compiled")
    gray, color = _inputs(4, torch.uint8, "cpu")
    with pytest.raises(RuntimeError, match=match):
        torch.ops.shortcutbench.colorize(*bad(gray, color), False)


def test_opcheck():
    if not compiled("colorize", torch.device("cpu")):
        pytest.skip("colorize not compiled")
    gray, color = _inputs(4, torch.float32, "cpu")
    torch.library.opcheck(torch.ops.shortcutbench.colorize.default, (gray, color, False),
                          test_utils=("test_schema", "test_autograd_registration"))
