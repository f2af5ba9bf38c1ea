// nullspace_project: batched projections of a direction v that keep a model's confidences
// (first order) where NSPGD needs them (seed 004 §4, §5.1; research/invariance_lt.md §2).
// Schema and the Autograd kernel (autograd.h); the kernel registers itself in cpu/nullspace_project_cpu.cpp.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/nullspace_project.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // v: [B, n]; J: [B, k, n] (same dtype, float32 or float64).
  // halfspace=true (k must be 1): u = v - min(<g,v>, 0) / <g,g> * g, the Euclidean projection onto
  //   {u : <g,u> >= 0} (what the authors' code does); u = v where g = 0.
  // halfspace=false: u = v - J^T (J J^T)^+ J v, the projection onto null(J); eigenvalues of J J^T
  //   below rcond^2 * (largest eigenvalue) are dropped (rank deficiency, zero rows, J = 0 -> u = v).
  m.def("nullspace_project(Tensor v, Tensor J, bool halfspace, float rcond) -> Tensor");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("nullspace_project", shortcutbench::non_differentiable()); }
