"""One class per compiled op, compiled vs reference (``param: backend``)."""
import torch

from shortcutbench.ops import colorize_reference

from .common import SCALE, Benchmark


class Colorize(Benchmark):
    param_names = ["backend", "n"]
    params = (["compiled", "reference"], [1000 * SCALE, 5000 * SCALE])

    def setup(self, backend, n):
        if backend == "compiled" and not hasattr(torch.ops.shortcutbench, "colorize"):
            import shortcutbench._ext  # noqa: F401  (loads _C)
        g = torch.Generator().manual_seed(0)
        self.gray = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        self.color = torch.rand(n, 3, generator=g)
        self.fn = torch.ops.shortcutbench.colorize if backend == "compiled" else colorize_reference

    def time_colorize(self, backend, n):
        self.fn(self.gray, self.color, False)

    def peakmem_colorize(self, backend, n):
        self.fn(self.gray, self.color, False)


class NullspaceProject(Benchmark):
    """k = 10 rows, 784-pixel images: compiled kernel vs the batched torch reference."""

    param_names = ["backend", "batch"]
    params = (["compiled", "reference"], [64 * SCALE, 256 * SCALE])

    def setup(self, backend, batch):
        import shortcutbench._ext  # noqa: F401  (loads _C)
        from shortcutbench.ops.nullspace_project import nullspace_project_reference

        g = torch.Generator().manual_seed(0)
        self.v = torch.randn(batch, 784, generator=g)
        self.J = torch.randn(batch, 10, 784, generator=g)
        self.fn = torch.ops.shortcutbench.nullspace_project if backend == "compiled" else nullspace_project_reference

    def time_nullspace_project(self, backend, batch):
        self.fn(self.v, self.J, False, 1e-6)
