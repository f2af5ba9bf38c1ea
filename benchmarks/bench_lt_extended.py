"""lt_extended: one pass over the whole L-T extended set (3^16 · 8 = 344,373,768 samples).

Groups: ``lt_extended`` — compiled full pass (loss + gradient + counts) on every ISA path this
CPU has (``[baseline]``, ``[avx2]``, ``[avx512]``; the kernel keeps one copy per path and picks at
run time) vs the chunked pure-torch reference (``*_baseline``), which is timed first on a
2^18-sample sub-range and scaled by the sample count (stated in extra_info; the reference is
linear in the range); each compiled pass records ``speedup_vs_reference`` (scaled reference time /
its own min) in extra_info. ``lt_extended_verify`` — the exhaustive verification pass (counts and
min margin only, no loss). Every benchmark asserts on its output. Ratios only mean something
within one run on one machine.
"""
import os
import time

import pytest
import torch

from shortcutbench.data.lt import extended_spec, toy_dataset
from shortcutbench.ops.lt_extended import LTPass, lt_extended_reference
from shortcutbench.testing import ISA_PATHS, compiled, on_isa

SUB_RANGE = 1 << 18
REFERENCE_S = {}  # the scaled reference full-pass time of this run (filled by the baseline)


@pytest.fixture(params=ISA_PATHS)
def isa(request):
    """Run the compiled kernel on one ISA path (skipped where the CPU lacks it), then restore."""
    if not compiled("lt_extended", torch.device("cpu")):
        pytest.skip("lt_extended not compiled")
    with on_isa(request.param) as name:
        yield name


def _cpu_seconds(fn, *args):
    """Process CPU time of one call (all threads): on a shared, loaded machine wall time overstates
    the cost; CPU time / 2 is what the call needs on 2 idle cores."""
    t = time.process_time()
    fn(*args)
    return time.process_time() - t


def _note_load(benchmark, before):
    """The 1-minute load average before and after the timed calls: on a shared machine a time
    means little without it."""
    benchmark.extra_info["loadavg_1min_before"] = before
    benchmark.extra_info["loadavg_1min_after"] = os.getloadavg()[0]
    benchmark.extra_info["torch_threads"] = torch.get_num_threads()


@pytest.fixture(scope="module")
def problem():
    spec = extended_spec(toy_dataset("lt"), 0.41, "full")
    w = torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(0))
    return spec, w


def _args(spec, w, lo, hi, loss, grad):
    return (spec.bases, spec.labels, spec.pixels, spec.offsets, w, None, lo, hi, False, loss, grad, 0)


def _timed_full_pass(benchmark, problem, train: bool, isa: str) -> LTPass:
    """Three timed compiled passes over the whole set, plus the CPU time of one."""
    if not compiled("lt_extended", torch.device("cpu")):
        pytest.skip("lt_extended not compiled")
    spec, w = problem
    args = _args(spec, w, 0, spec.size, train, train)
    load = os.getloadavg()[0]
    out = LTPass(*benchmark.pedantic(torch.ops.shortcutbench.lt_extended, args, rounds=3, iterations=1))
    benchmark.extra_info["samples"] = spec.size
    benchmark.extra_info["cpu_s"] = _cpu_seconds(torch.ops.shortcutbench.lt_extended, *args)
    benchmark.extra_info["isa"] = isa
    if train and "train" in REFERENCE_S:
        benchmark.extra_info["speedup_vs_reference"] = REFERENCE_S["train"] / benchmark.stats.stats.min
    _note_load(benchmark, load)
    return out


@pytest.mark.benchmark(group="lt_extended")
def bench_full_pass_reference_scaled_baseline(benchmark, problem):
    spec, w = problem
    load = os.getloadavg()[0]
    out = benchmark.pedantic(lt_extended_reference, _args(spec, w, 0, SUB_RANGE, True, True)[:-1], rounds=1,
                             iterations=1)
    scale = spec.size / SUB_RANGE
    benchmark.extra_info["timed_samples"] = SUB_RANGE
    benchmark.extra_info["scale_to_full_set"] = scale
    benchmark.extra_info["scaled_full_pass_s"] = REFERENCE_S["train"] = benchmark.stats.stats.min * scale
    benchmark.extra_info["cpu_s_scaled"] = _cpu_seconds(lt_extended_reference, *_args(spec, w, 0, SUB_RANGE >> 2, True, True)[:-1]) * scale * 4
    _note_load(benchmark, load)
    assert torch.isfinite(out.loss_sum)


@pytest.mark.benchmark(group="lt_extended")
def bench_full_pass_compiled(benchmark, problem, isa):
    out = _timed_full_pass(benchmark, problem, True, isa)
    spec, w = problem
    ref = lt_extended_reference(*_args(spec, w, 0, SUB_RANGE, True, True)[:-1])
    part = LTPass(*torch.ops.shortcutbench.lt_extended(*_args(spec, w, 0, SUB_RANGE, True, True)))
    torch.testing.assert_close(part.grad_weight, ref.grad_weight, rtol=1e-5, atol=1e-3)
    assert 0 < int(out.correct) < spec.size and torch.isfinite(out.loss_sum)


@pytest.mark.benchmark(group="lt_extended_verify")
def bench_verify_pass_compiled(benchmark, problem, isa):
    out = _timed_full_pass(benchmark, problem, False, isa)
    spec, w = problem
    full = LTPass(*torch.ops.shortcutbench.lt_extended(*_args(spec, w, 0, spec.size, True, True)))
    assert int(out.correct) == int(full.correct)
