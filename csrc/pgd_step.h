#pragma once
// Input contract of pgd_step, shared by the CPU and CUDA kernels (messages quote what was passed).
#include <torch/types.h>

#include "macros.h"

namespace shortcutbench {

inline void check_pgd_step_inputs(const at::Tensor& x, const at::Tensor& x_prev, const at::Tensor& grad,
                                  const at::Tensor& x_orig, const at::Tensor& eps, const at::Tensor& step,
                                  const at::Tensor& loss, const at::Tensor& success, const at::Tensor& restore,
                                  const at::Tensor& best_loss, const at::Tensor& best_x, const at::Tensor& best_grad,
                                  const at::Tensor& adv_x) {
  const at::Tensor* all[] = {&x, &x_prev, &grad, &x_orig, &eps, &step, &loss, &success, &restore, &best_loss,
                             &best_x, &best_grad, &adv_x};
  for (const at::Tensor* t : all) SB_CHECK_SAME_DEVICE(x, (*t));
  TORCH_CHECK(x.dim() >= 1, "x must have a batch dimension, got shape ", x.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "x must be float32 or float64, got ", x.scalar_type());
  const int64_t b = x.size(0);
  const char* names[] = {"x_prev", "grad", "x_orig", "best_x", "best_grad", "adv_x"};
  const at::Tensor* images[] = {&x_prev, &grad, &x_orig, &best_x, &best_grad, &adv_x};
  for (int k = 0; k < 6; ++k) {
    TORCH_CHECK(images[k]->sizes() == x.sizes(), names[k], " must have the shape of x ", x.sizes(), ", got ",
                images[k]->sizes());
    TORCH_CHECK(images[k]->scalar_type() == x.scalar_type(), names[k], " must have dtype ", x.scalar_type(),
                ", got ", images[k]->scalar_type());
  }
  const char* vnames[] = {"eps", "step", "loss", "best_loss"};
  const at::Tensor* vecs[] = {&eps, &step, &loss, &best_loss};
  for (int k = 0; k < 4; ++k) {
    TORCH_CHECK(vecs[k]->dim() == 1 && vecs[k]->size(0) == b, vnames[k], " must have shape [", b, "], got ",
                vecs[k]->sizes());
    TORCH_CHECK(vecs[k]->scalar_type() == x.scalar_type(), vnames[k], " must have dtype ", x.scalar_type(),
                ", got ", vecs[k]->scalar_type());
  }
  TORCH_CHECK(success.dim() == 1 && success.size(0) == b && success.scalar_type() == at::kBool,
              "success must be bool of shape [", b, "], got ", success.scalar_type(), " ", success.sizes());
  TORCH_CHECK(restore.dim() == 1 && restore.size(0) == b && restore.scalar_type() == at::kBool,
              "restore must be bool of shape [", b, "], got ", restore.scalar_type(), " ", restore.sizes());
}

}  // namespace shortcutbench
