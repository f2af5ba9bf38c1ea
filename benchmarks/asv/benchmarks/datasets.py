"""The Colored-MNIST generator, tracked across commits (time and the exact split sizes)."""
from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist, load_embedded

from .common import Benchmark


class ColoredMNIST(Benchmark):
    param_names = ["rho"]
    params = ([0.95, 0.99],)

    def setup_cache(self):
        return load_embedded()

    def time_build_with_pixels(self, digits, rho):
        data = build_colored_mnist(digits, ColoredMNISTConfig(rho=rho))
        for split in data.splits.values():
            split.images()

    def track_hard_cells_balanced(self, digits, rho):
        import torch

        hard = build_colored_mnist(digits, ColoredMNISTConfig(rho=rho))["hard"]
        counts = torch.bincount(hard.group, minlength=100)
        off = counts.reshape(10, 10)[~torch.eye(10, dtype=torch.bool)]
        return int(off.max() - off.min())
