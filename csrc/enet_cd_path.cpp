// enet_cd_path: the whole elastic-net path of the multinomial problem by enet_cd's sweeps, with
// the sequential strong rule, KKT re-checks, the duality-gap stop and the log-λ predictor
// (glm/cd.py). Schema and the Autograd kernel (autograd.h); the CPU kernel registers itself in cpu/enet_cd_path_cpu.cpp.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/enet_cd_path.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // Xt [d, n] float64; target int64 [n]; sample_weight float64 [n] or empty; varies bool [d]
  // (false: the column never enters); lams float64 [L] (the multinomial λ's, decreasing);
  // weight [k, d], bias [k]: the start, updated in place to the last λ's solution (binomial form
  // when first_class = 1). Returns (weights [L, k, d], biases [L, k], stats [L, 9]: sweeps,
  // certificate checks, converged (1: gap ≤ gap_tol·D), primal, dual, gap, data loss, accuracy, seconds).
  m.def(
      "enet_cd_path(Tensor Xt, Tensor target, Tensor sample_weight, Tensor varies, Tensor lams, Tensor(a!) weight, "
      "Tensor(b!) bias, float alpha, float gap_tol, int max_sweeps, float first_tol, int first_class, bool predict, "
      "bool screening) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("enet_cd_path", shortcutbench::non_differentiable()); }
