// pgd_step: one fused, batched iteration of a projected-gradient attack (PGD / APGD):
// best-iterate and success bookkeeping, optional restore from the best point, sign or
// l2-normalised step with per-sample step size, momentum, projection onto the per-sample
// eps-ball intersected with [0, 1]. Schema and the Autograd kernel (autograd.h); kernels in cpu/pgd_step_cpu.cpp.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/pgd_step.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // x, x_prev, grad, x_orig, best_x, best_grad, adv_x: [B, ...] (same shape, float32/64);
  // eps, step, loss, best_loss: [B] same dtype; success, restore: [B] bool.
  // Mutates x_prev (-> base point), best_loss, best_x, best_grad, adv_x; returns x_next.
  m.def(
      "pgd_step(Tensor x, Tensor(a!) x_prev, Tensor grad, Tensor x_orig, Tensor eps, Tensor step, "
      "Tensor loss, Tensor success, Tensor restore, Tensor(b!) best_loss, Tensor(c!) best_x, "
      "Tensor(d!) best_grad, Tensor(e!) adv_x, float alpha, bool l2) -> Tensor");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("pgd_step", shortcutbench::non_differentiable()); }
