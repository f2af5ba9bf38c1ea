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


class PgdStep(Benchmark):
    """pgd_step: the fused attack iteration, compiled vs reference."""

    param_names = ["backend", "norm"]
    params = (["compiled", "reference"], ["linf", "l2"])

    def setup(self, backend, norm):
        import shortcutbench._ext  # noqa: F401  (loads _C)
        from shortcutbench.ops.pgd_step import pgd_step_reference

        b = 500 * SCALE
        g = torch.Generator().manual_seed(0)
        x0 = torch.rand(b, 3, 28, 28, generator=g)
        self.args = (x0.clone(), x0.clone(), torch.randn(x0.shape, generator=g), x0, torch.full((b,), 0.1),
                     torch.full((b,), 0.02), torch.randn(b, generator=g), torch.zeros(b, dtype=torch.bool),
                     torch.zeros(b, dtype=torch.bool), torch.full((b,), -1e9), x0.clone(), torch.zeros_like(x0),
                     x0.clone(), 0.75, norm == "l2")
        self.fn = torch.ops.shortcutbench.pgd_step if backend == "compiled" else pgd_step_reference

    def time_pgd_step(self, backend, norm):
        self.fn(*self.args)

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

class EnetCd(Benchmark):
    """One CD sweep with its certificate (multinomial, k = 10, d = 64, λ = 0.05·λ_max, α = 0.5),
    compiled vs reference."""

    param_names = ["backend", "n"]
    params = (["compiled", "reference"], [500, 1000])  # the reference loops over coordinates in Python

    def setup(self, backend, n):
        import shortcutbench._ext  # noqa: F401  (loads _C)
        from shortcutbench.glm import lambda_max
        from shortcutbench.ops.enet_cd import enet_cd_reference

        g = torch.Generator().manual_seed(0)
        X = torch.randn(n, 64, generator=g, dtype=torch.float64)
        y = torch.randint(0, 10, (n,), generator=g)
        self.args = (X.T.contiguous(), y, torch.empty(0, dtype=torch.float64), torch.arange(64))
        self.lam = 0.05 * lambda_max(X, y, 10, 0.5, "multinomial")
        self.fn = torch.ops.shortcutbench.enet_cd if backend == "compiled" else enet_cd_reference

    def time_enet_cd(self, backend, n):
        W, b = torch.zeros(10, 64, dtype=torch.float64), torch.zeros(10, dtype=torch.float64)
        eta, G = torch.zeros(10, n, dtype=torch.float64), torch.zeros(64, 10, dtype=torch.float64)
        self.fn(*self.args, W, b, eta, G, self.lam, 0.5, 1, 1e-8, 0)


class LtExtended(Benchmark):
    """One pass over a slice of the L-T extended set (seed 001 §6.2): compiled vs reference."""

    param_names = ["backend", "mode"]
    params = (["compiled", "reference"], ["train", "verify"])

    def setup(self, backend, mode):
        from shortcutbench.data.lt import extended_spec, toy_dataset
        from shortcutbench.ops.lt_extended import lt_extended_reference

        import shortcutbench._ext  # noqa: F401  (loads _C)

        spec = extended_spec(toy_dataset("lt"), 0.41, "full")
        w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(0))
        n = (1 << 22 if backend == "compiled" else 1 << 16) * SCALE
        grad = mode == "train"
        self.args = (spec.bases, spec.labels, spec.pixels, spec.offsets, w, None, 0, n, False, grad, grad)
        self.fn = torch.ops.shortcutbench.lt_extended if backend == "compiled" else lt_extended_reference
        self.extra = (0,) if backend == "compiled" else ()

    def time_lt_extended(self, backend, mode):
        self.fn(*self.args, *self.extra)
