"""Datasets: embedded MNIST, IDX reader, Colored-MNIST, CIFAR-10 (binary batches, local only);
``DATASETS`` backs ``data show``."""
from .cifar import Cifar10, CifarSplit, load_cifar10
from .colored_mnist import (COLOR_NAMES, COLORS, PALETTE, ColoredMNIST, ColoredMNISTConfig, ColoredSplit,
                            build_colored_mnist)
from .mnist import Digits, load_digits, load_embedded, read_idx, read_idx_dir
from .registry import DATASETS, DatasetView

__all__ = [
    "COLORS", "COLOR_NAMES", "PALETTE", "ColoredMNIST", "ColoredMNISTConfig", "ColoredSplit",
    "build_colored_mnist", "Digits", "load_digits", "load_embedded", "read_idx", "read_idx_dir",
    "DATASETS", "DatasetView", "Cifar10", "CifarSplit", "load_cifar10",
]
