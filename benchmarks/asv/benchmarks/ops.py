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
