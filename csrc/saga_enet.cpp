// saga_enet: one epoch of minibatch SAGA for an elastic-net GLM with the O(n·k) residual table
// (seed 002, Appendix A, Algorithm 1; glm-saga 0.1.2's order of operations).
// Schema and the Autograd kernel (autograd.h); the CPU kernel registers itself in cpu/saga_enet_cpu.cpp.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/saga_enet.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // X [n, d]; target: int64 labels [n] (family "multinomial") or [n, k] (family "gaussian");
  // sample_weight [n] or empty; order: int64 rows visited, in minibatches of batch_size.
  // weight [k, d], bias [k], table [n, k], w_avg [k, d], b_avg [k] are updated in place.
  // Returns float64 [4]: weighted loss sum, steps applied, stopped-by-step_tol flag, last step norm.
  m.def(
      "saga_enet(Tensor X, Tensor target, Tensor sample_weight, Tensor order, Tensor(a!) weight, "
      "Tensor(b!) bias, Tensor(c!) table, Tensor(d!) w_avg, Tensor(e!) b_avg, float lr, float lam, "
      "float alpha, int batch_size, str family, bool group, int n_total, float step_tol) -> Tensor");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("saga_enet", shortcutbench::non_differentiable()); }
