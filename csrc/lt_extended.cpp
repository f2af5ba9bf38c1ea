// lt_extended: one fused pass over an index range of the extended L-T / triangle-square set
// (seed 001 §6.2), through the 2-filter conv + global max-pool model.
// Schema and the Autograd kernel (autograd.h); the CPU kernel registers itself in cpu/lt_extended_cpu.cpp. Meaning is defined by
// the pure-torch reference lt_extended_reference in pysrc/shortcutbench/ops/lt_extended.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // bases [B, n, n]; labels [B] int64 in {0, 1}; pixels [B, P] int64 flat canvas index of each
  // code digit (distinct per row); offsets [B, P, K] the value digit d adds when it reads k;
  // weight [2, k, k]; bias [2] or None. Sample i in [start, stop): base i / K^P, digit d of
  // i % K^P (least significant first). clip: clamp each pixel to [0, 1].
  // Returns (loss_sum f64 [], grad_weight f64 [2, k, k], grad_bias f64 [2], correct i64 [],
  //          min_margin f64 [], misclassified i64 [m] — the first max_misclassified, ascending).
  m.def(
      "lt_extended(Tensor bases, Tensor labels, Tensor pixels, Tensor offsets, Tensor weight, "
      "Tensor? bias, int start, int stop, bool clip, bool with_loss, bool with_grad, "
      "int max_misclassified) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("lt_extended", shortcutbench::non_differentiable()); }
