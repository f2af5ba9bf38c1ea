"""colorize op and the Colored-MNIST generator.

Groups: ``colorize`` (compiled kernel vs torch reference) and ``colored_mnist`` (our vectorised
generator, all splits with pixels, vs a straightforward per-image Python loop producing the same
pixels). Baselines are named ``*_baseline``.
"""
import numpy as np
import pytest
import torch

from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist, load_embedded
from shortcutbench.data.colored_mnist import PALETTE
from shortcutbench.ops import colorize_reference
from shortcutbench.testing import compiled


@pytest.fixture(scope="module")
def digits():
    return load_embedded()


@pytest.fixture(scope="module")
def batch(digits):
    g = torch.Generator().manual_seed(0)
    color = torch.rand(len(digits), 3, generator=g)
    return digits.images, color


@pytest.mark.benchmark(group="colorize")
def bench_colorize_compiled(benchmark, batch):
    if not compiled("colorize", torch.device("cpu")):
        pytest.skip("colorize not compiled")
    out = benchmark(torch.ops.shortcutbench.colorize, *batch, False)
    torch.testing.assert_close(out, colorize_reference(*batch))


@pytest.mark.benchmark(group="colorize")
def bench_colorize_reference_baseline(benchmark, batch):
    out = benchmark(colorize_reference, *batch)
    assert out.shape == (batch[0].shape[0], 3, 28, 28)


def _all_pixels(data):
    return {name: split.images() for name, split in data.splits.items()}


def _per_image_loop(gray: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """What one writes first: one image at a time, one channel at a time."""
    out = np.empty((gray.shape[0], 3, 28, 28), dtype=np.float32)
    for i in range(gray.shape[0]):
        g = gray[i].astype(np.float32) / 255.0
        for c in range(3):
            out[i, c] = g * rgb[i, c]
    return out


@pytest.mark.benchmark(group="colored_mnist")
def bench_generator_vectorised(benchmark, digits):
    def build():
        return _all_pixels(build_colored_mnist(digits, ColoredMNISTConfig()))

    out = benchmark(build)
    assert out["hard"].shape == (9000, 3, 28, 28)


@pytest.mark.benchmark(group="colored_mnist")
def bench_generator_per_image_loop_baseline(benchmark, digits):
    data = build_colored_mnist(digits, ColoredMNISTConfig())
    plan = {n: (s.gray.numpy(), PALETTE[s.color].numpy()) for n, s in data.splits.items()}

    def build():
        return {n: _per_image_loop(g, rgb) for n, (g, rgb) in plan.items()}

    out = benchmark(build)
    np.testing.assert_allclose(out["hard"], data["hard"].images().numpy(), atol=1e-6)
