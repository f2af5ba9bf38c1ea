"""One class per compiled op: ``time_compiled`` and ``time_reference`` time one call each, and
``track_max_error`` records beside them how far the compiled result is from the reference
(largest absolute difference over the outputs and the arguments updated in place).

Inputs are built once per class by ``setup_cache`` (fixed seeds); ``setup`` copies them before
every sample and ``number = 1``, so an op that updates arguments in place always starts from the
same state: no timed call sees another call's mutation.
"""
import itertools

import torch

from .common import SCALE, Benchmark


def _load_ops():
    import shortcutbench.ops  # noqa: F401  (loads _C, registers the ops and their fake kernels)


def _copy(args):
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def _tensors(out, args):
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return outs + [a for a in args if isinstance(a, torch.Tensor)]


class OpBenchmark(Benchmark):
    number = 1  # setup (a fresh copy of the inputs) runs before every sample
    repeat = (3, 10, 20.0)
    op = ""

    def inputs(self, *params):
        """The op's positional arguments for one parameter combination."""
        raise NotImplementedError

    def reference_inputs(self, args, *params):
        """Arguments of the reference call (a smaller problem where the reference is slow)."""
        return args

    def setup_cache(self):
        _load_ops()
        return {key: self.inputs(*key) for key in itertools.product(*self.params)}

    def setup(self, cache, *params):
        _load_ops()
        if not hasattr(torch.ops.shortcutbench, self.op):
            raise NotImplementedError(f"{self.op} is not compiled")
        self.args = _copy(cache[params])
        self.ref_args = _copy(self.reference_inputs(cache[params], *params))
        self.compiled = getattr(torch.ops.shortcutbench, self.op)
        import shortcutbench.ops as ops

        self.reference = getattr(ops, f"{self.op}_reference")

    def time_compiled(self, cache, *params):
        self.compiled(*self.args)

    def time_reference(self, cache, *params):
        self.reference(*self.ref_args)

    def track_max_error(self, cache, *params):
        a, b = _copy(self.ref_args), _copy(self.ref_args)
        got, want = _tensors(self.compiled(*a), a), _tensors(self.reference(*b), b)
        return max((float((x.double() - y.double()).abs().max()) for x, y in zip(got, want) if x.numel()),
                   default=0.0)

    track_max_error.unit = "max |compiled - reference|"


class Colorize(OpBenchmark):
    op = "colorize"
    param_names = ["n"]
    params = ([1000 * SCALE, 5000 * SCALE],)

    def inputs(self, n):
        g = torch.Generator().manual_seed(0)
        return (torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8), torch.rand(n, 3, generator=g),
                False)


class PgdStep(OpBenchmark):
    """The fused attack iteration (updates x_prev, best_loss, best_x, best_grad, adv_x in place)."""

    op = "pgd_step"
    param_names = ["norm"]
    params = (["linf", "l2"],)

    def inputs(self, norm):
        b = 500 * SCALE
        g = torch.Generator().manual_seed(0)
        x0 = torch.rand(b, 3, 28, 28, generator=g)
        x = (x0 + 0.05 * torch.randn(x0.shape, generator=g)).clamp(0, 1)
        return (x, x0.clone(), torch.randn(x0.shape, generator=g), x0, torch.full((b,), 0.1), torch.full((b,), 0.02),
                torch.randn(b, generator=g), torch.rand(b, generator=g) < 0.3, torch.rand(b, generator=g) < 0.3,
                torch.randn(b, generator=g), x0.clone(), torch.randn(x0.shape, generator=g), x0.clone(), 0.75,
                norm == "l2")


class NullspaceProject(OpBenchmark):
    """k = 10 rows, 784-pixel images."""

    op = "nullspace_project"
    param_names = ["batch"]
    params = ([64 * SCALE, 256 * SCALE],)

    def inputs(self, batch):
        g = torch.Generator().manual_seed(0)
        return torch.randn(batch, 784, generator=g), torch.randn(batch, 10, 784, generator=g), False, 1e-6


class SagaEnet(OpBenchmark):
    """One minibatch SAGA epoch (multinomial, k = 10, d = 512, batch 64; updates its state in place)."""

    op = "saga_enet"
    param_names = ["n"]
    params = ([2000 * SCALE, 5000 * SCALE],)

    def inputs(self, n):
        g = torch.Generator().manual_seed(0)
        state = [torch.zeros(10, 512), torch.zeros(10), torch.zeros(n, 10), torch.zeros(10, 512), torch.zeros(10)]
        return (torch.randn(n, 512, generator=g), torch.randint(0, 10, (n,), generator=g), torch.empty(0),
                torch.randperm(n, generator=g), *state, 0.05, 1e-3, 0.99, 64, "multinomial", False, n, -1.0)


class EnetCd(OpBenchmark):
    """One CD sweep with its certificate (multinomial, k = 10, d = 64, λ = 0.05·λ_max, α = 0.5)."""

    op = "enet_cd"
    param_names = ["n"]
    params = ([500, 1000],)  # the reference loops over coordinates in Python

    def inputs(self, n):
        from shortcutbench.glm import lambda_max

        g = torch.Generator().manual_seed(0)
        X = torch.randn(n, 64, generator=g, dtype=torch.float64)
        y = torch.randint(0, 10, (n,), generator=g)
        f64 = dict(dtype=torch.float64)
        return (X.T.contiguous(), y, torch.empty(0, **f64), torch.arange(64), torch.zeros(10, 64, **f64),
                torch.zeros(10, **f64), torch.zeros(10, n, **f64), torch.zeros(64, 10, **f64),
                0.05 * lambda_max(X, y, 10, 0.5, "multinomial"), 0.5, 1, 1e-8, 0)


class LtExtended(OpBenchmark):
    """A slice of the L-T extended set (seed 001 §6.2) on each ISA path this CPU has: the compiled
    pass over 2^22·SCALE samples, the reference (and the error) over the first 2^16·SCALE."""

    op = "lt_extended"
    param_names = ["isa", "mode"]
    params = (["baseline", "avx2", "avx512"], ["train", "verify"])

    def inputs(self, isa, mode):
        from shortcutbench.data.lt import extended_spec, toy_dataset

        spec = extended_spec(toy_dataset("lt"), 0.41, "full")
        w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(0))
        grad = mode == "train"
        return (spec.bases, spec.labels, spec.pixels, spec.offsets, w, None, 0, (1 << 22) * SCALE, False, grad, grad,
                0)

    def reference_inputs(self, args, isa, mode):
        return args[:7] + ((1 << 16) * SCALE,) + args[8:]

    def setup(self, cache, isa, mode):
        from shortcutbench import _ext

        super().setup(cache, isa, mode)
        self.previous = _ext.isa()
        if isa not in _ext._C.isa_supported():
            raise NotImplementedError(f"this CPU cannot run the {isa} path")
        _ext._C.set_isa(isa)

    def teardown(self, cache, isa, mode):
        from shortcutbench import _ext

        _ext._C.set_isa(self.previous)
