"""Data and model plumbing shared by tracks."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..data import ColoredMNIST, ColoredMNISTConfig, build_colored_mnist, load_digits


@lru_cache(maxsize=4)
def colored_mnist(mnist_dir: Optional[str] = None, config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    """Colored-MNIST from the embedded digits (or a local IDX directory), built once per process."""
    return build_colored_mnist(load_digits(mnist_dir), config)
