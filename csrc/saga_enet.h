#pragma once
// Input contract of saga_enet, shared by the CPU and CUDA kernels (messages quote what was passed);
// each kernel checks the device type of X itself. Returns whether the family is multinomial.
#include <torch/types.h>

#include <string>

#include "macros.h"

namespace shortcutbench {

inline void check_saga_enet_param(const at::Tensor& X, const at::Tensor& t, const char* name, at::IntArrayRef shape) {
  TORCH_CHECK(t.device() == X.device(), name, " must be on X's device (", X.device(), "), got ", t.device());
  TORCH_CHECK(t.scalar_type() == X.scalar_type(), name, " must have the dtype of X (", X.scalar_type(), "), got ",
              t.scalar_type());
  TORCH_CHECK(t.sizes() == shape, name, " must have shape ", shape, ", got ", t.sizes());
}

inline bool check_saga_enet_inputs(const at::Tensor& X, const at::Tensor& target, const at::Tensor& sw,
                                   const at::Tensor& order, const at::Tensor& weight, const at::Tensor& bias,
                                   const at::Tensor& table, const at::Tensor& w_avg, const at::Tensor& b_avg,
                                   double lr, double lam, double alpha, int64_t batch_size, c10::string_view family,
                                   int64_t n_total) {
  SB_CHECK_DIM(X, 2);
  TORCH_CHECK(X.scalar_type() == at::kFloat || X.scalar_type() == at::kDouble, "X must be float32 or float64, got ",
              X.scalar_type());
  const std::string fam(family.data(), family.size());
  TORCH_CHECK(fam == "multinomial" || fam == "gaussian", "family must be multinomial or gaussian, got ", fam);
  const int64_t n = X.size(0), d = X.size(1);
  SB_CHECK_DIM(weight, 2);
  const int64_t k = weight.size(0);
  TORCH_CHECK(k >= 1, "weight must have at least one row (class), got shape ", weight.sizes());
  check_saga_enet_param(X, weight, "weight", {k, d});
  check_saga_enet_param(X, bias, "bias", {k});
  check_saga_enet_param(X, table, "table", {n, k});
  check_saga_enet_param(X, w_avg, "w_avg", {k, d});
  check_saga_enet_param(X, b_avg, "b_avg", {k});
  TORCH_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  TORCH_CHECK(n_total >= 1, "n_total must be >= 1, got ", n_total);
  TORCH_CHECK(lr > 0 && lam >= 0 && alpha >= 0 && alpha <= 1, "need lr > 0, lam >= 0, 0 <= alpha <= 1, got lr=", lr,
              " lam=", lam, " alpha=", alpha);
  SB_CHECK_SAME_DEVICE(X, order);
  TORCH_CHECK(order.scalar_type() == at::kLong && order.dim() == 1, "order must be int64 [m], got ",
              order.scalar_type(), " ", order.sizes());
  if (order.numel()) {  // one host sync per call on a GPU, not per minibatch
    TORCH_CHECK(order.min().item<int64_t>() >= 0 && order.max().item<int64_t>() < n,
                "order must index rows of X in [0, ", n, ")");
  }
  SB_CHECK_SAME_DEVICE(X, target);
  const bool multinomial = fam == "multinomial";
  if (multinomial) {
    TORCH_CHECK(target.scalar_type() == at::kLong && target.dim() == 1 && target.size(0) == n,
                "multinomial target must be int64 labels of shape [", n, "], got ", target.scalar_type(), " ",
                target.sizes());
    if (n) {
      TORCH_CHECK(target.min().item<int64_t>() >= 0 && target.max().item<int64_t>() < k, "labels must lie in [0, ", k,
                  ") for weight of shape ", weight.sizes());
    }
  } else {
    TORCH_CHECK(target.scalar_type() == X.scalar_type() && target.dim() == 2 && target.size(0) == n &&
                    target.size(1) == k,
                "gaussian target must have the dtype of X and shape [", n, ", ", k, "], got ", target.scalar_type(),
                " ", target.sizes());
  }
  TORCH_CHECK(sw.numel() == 0 || (sw.device() == X.device() && sw.scalar_type() == X.scalar_type() && sw.dim() == 1 &&
                                  sw.size(0) == n),
              "sample_weight must be empty or of shape [", n, "] with the dtype and device of X, got ", sw.scalar_type(),
              " ", sw.sizes(), " on ", sw.device());
  return multinomial;
}

}  // namespace shortcutbench
