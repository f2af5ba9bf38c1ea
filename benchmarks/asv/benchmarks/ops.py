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


class SagaEnet(Benchmark):
    """One minibatch SAGA epoch (multinomial, k = 10, d = 512, batch 64), compiled vs reference."""

    param_names = ["backend", "n"]
    params = (["compiled", "reference"], [2000 * SCALE, 5000 * SCALE])

    def setup(self, backend, n):
        import shortcutbench._ext  # noqa: F401  (loads _C)
        from shortcutbench.ops.saga_enet import saga_enet_reference

        g = torch.Generator().manual_seed(0)
        self.args = (torch.randn(n, 512, generator=g), torch.randint(0, 10, (n,), generator=g), torch.empty(0),
                     torch.randperm(n, generator=g))
        self.n = n
        self.fn = torch.ops.shortcutbench.saga_enet if backend == "compiled" else saga_enet_reference

    def time_saga_enet(self, backend, n):
        state = [torch.zeros(10, 512), torch.zeros(10), torch.zeros(n, 10), torch.zeros(10, 512), torch.zeros(10)]
        self.fn(*self.args, *state, 0.05, 1e-3, 0.99, 64, "multinomial", False, n, -1.0)
