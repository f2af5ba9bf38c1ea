"""CPU time of one SAGA elastic-net path per ISA copy of the kernel (csrc/cpu/saga_enet_kernel.h).

The synthetic problem of ``bench_glm_path.py`` (5,000 × 512, k = 10, Toeplitz(0.5) columns), a
100-λ path to 1e-3·λ_max at α = 0.99, every λ certified to gap ≤ 1e-4·D, one thread; the path runs
once per ISA path named on the command line (default: every path this CPU has)::

    OMP_NUM_THREADS=1 python benchmarks/studies/glm_isa_paths.py [baseline avx2 avx512]
"""
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_glm_path import synthetic  # noqa: E402

from shortcutbench import _ext  # noqa: E402
from shortcutbench.glm import PathConfig, fit_path, lambda_grid, lambda_max  # noqa: E402


def main(paths):
    torch.set_num_threads(1)
    X, y = synthetic(5000, 512)
    lams = lambda_grid(lambda_max(X, y, 10, 0.99, "multinomial"), 100, 1e-3)
    cfg = PathConfig(alpha=0.99, standardize=False, gap_tol=1e-4)
    for isa in paths:
        _ext._C.set_isa(isa)
        cpu, wall = time.process_time(), time.perf_counter()
        fit_path(X, y, cfg, lambdas=lams)
        print(f"{isa}: CPU {time.process_time() - cpu:.1f} s, wall {time.perf_counter() - wall:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or _ext._C.isa_supported())
