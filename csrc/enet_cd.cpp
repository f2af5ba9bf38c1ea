// enet_cd: sweeps of block coordinate descent for the multinomial elastic net, one class block
// at a time with a Newton-type quadratic model and an Armijo line search (Tseng & Yun 2009;
// the per-class quadratic model is glmnet's partial Newton, Friedman, Hastie & Tibshirani 2010 §3).
// Schema and the Autograd kernel (autograd.h); the CPU kernel registers itself in cpu/enet_cd_cpu.cpp.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/enet_cd.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // Xt [d, n] float64 (feature-major: row j is feature j over the examples); target int64 [n];
  // sample_weight float64 [n] or empty; cols int64: the features that may move (others stay).
  // weight [k, d], bias [k] and eta [k, n] (= weight·Xt + bias, kept consistent) are updated in place;
  // classes below first_class stay pinned. grad [d, k] (or empty: no certificate) receives the
  // certificate's gradient. Returns float64 [8]: sweeps run, the last sweep's largest scaled change,
  // line-search halvings, then primal, dual, gap, data loss and training accuracy of the certificate
  // (NaN without one).
  m.def(
      "enet_cd(Tensor Xt, Tensor target, Tensor sample_weight, Tensor cols, Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) eta, Tensor(d!) grad, float lam, float alpha, int max_sweeps, float tol, int first_class) -> Tensor");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("enet_cd", shortcutbench::non_differentiable()); }
