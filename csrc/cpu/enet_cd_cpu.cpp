// CPU kernel of enet_cd (see csrc/enet_cd.cpp and ops/enet_cd.py for the meaning). Float64,
// single-threaded: meant for the small and medium problems where one sweep is a few hundred
// microseconds and a fork would cost more than it gives. Feature-major X so that every
// coordinate update streams one contiguous row. The sweeps and the certificate live in
// enet_cd_impl.h (shared with enet_cd_path).
#include <ATen/ATen.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../macros.h"
#include "inplace.h"
#include "enet_cd_impl.h"

using namespace sb_enet_cd;

at::Tensor enet_cd_cpu(const at::Tensor& Xt_in, const at::Tensor& target_in, const at::Tensor& sw_in,
                       const at::Tensor& cols_in, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& eta, const at::Tensor& grad, double lam, double alpha, int64_t max_sweeps,
                       double tol, int64_t first_class) {
  for (const auto* t : {&Xt_in, &target_in, &sw_in, &cols_in, &weight, &bias, &eta, &grad}) SB_CHECK_CPU(*t);
  SB_CHECK_DIM(Xt_in, 2);
  SB_CHECK_DIM(weight, 2);
  TORCH_CHECK(Xt_in.scalar_type() == at::kDouble && weight.scalar_type() == at::kDouble &&
                  bias.scalar_type() == at::kDouble && eta.scalar_type() == at::kDouble,
              "enet_cd works in float64: Xt ", Xt_in.scalar_type(), ", weight ", weight.scalar_type(), ", bias ",
              bias.scalar_type(), ", eta ", eta.scalar_type());
  TORCH_CHECK(target_in.scalar_type() == at::kLong && cols_in.scalar_type() == at::kLong,
              "target and cols must be int64, got ", target_in.scalar_type(), " and ", cols_in.scalar_type());
  const int64_t d = Xt_in.size(0), n = Xt_in.size(1), k = weight.size(0);
  TORCH_CHECK(weight.size(1) == d, "weight must be [k, ", d, "], got ", weight.sizes());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == k, "bias must be [", k, "], got ", bias.sizes());
  TORCH_CHECK(eta.dim() == 2 && eta.size(0) == k && eta.size(1) == n, "eta must be [", k, ", ", n, "], got ",
              eta.sizes());
  TORCH_CHECK(target_in.dim() == 1 && target_in.size(0) == n, "target must be [", n, "], got ", target_in.sizes());
  TORCH_CHECK(sw_in.numel() == 0 || (sw_in.dim() == 1 && sw_in.size(0) == n && sw_in.scalar_type() == at::kDouble),
              "sample_weight must be empty or float64 [", n, "], got ", sw_in.sizes(), " ", sw_in.scalar_type());
  TORCH_CHECK(alpha >= 0 && alpha <= 1 && lam >= 0, "need lam >= 0 and alpha in [0, 1], got ", lam, ", ", alpha);
  TORCH_CHECK(first_class == 0 || (first_class == 1 && k == 2),
              "first_class must be 0, or 1 with k = 2 (the binomial form), got ", first_class, " with k = ", k);
  TORCH_CHECK(grad.numel() == 0 || (grad.scalar_type() == at::kDouble && grad.dim() == 2 && grad.size(0) == d &&
                                    grad.size(1) == k),
              "grad must be empty or a float64 [", d, ", ", k, "], got ", grad.sizes(), " ",
              grad.scalar_type());
  const at::Tensor Xt = Xt_in.contiguous(), target = target_in.contiguous(), sw = sw_in.contiguous();
  const at::Tensor cols = cols_in.contiguous();
  const double* X = Xt.data_ptr<double>();
  const int64_t* y = target.data_ptr<int64_t>();
  const double* s = sw.numel() ? sw.data_ptr<double>() : nullptr;
  const int64_t m = cols.numel();
  const int64_t* J = cols.data_ptr<int64_t>();
  for (int64_t a = 0; a < m; ++a) TORCH_CHECK(J[a] >= 0 && J[a] < d, "cols[", a, "] = ", J[a], " outside 0..", d - 1);
  const shortcutbench::InPlace weight_io(weight), bias_io(bias), eta_io(eta), grad_io(grad);  // any layout
  double* W = weight_io.data<double>();
  double* b = bias_io.data<double>();
  double* E = eta_io.data<double>();
  const auto st = run_sweeps(X, y, s, n, d, k, J, m, W, b, E, lam, alpha, max_sweeps, tol, first_class);
  double cert[5] = {NAN, NAN, NAN, NAN, NAN};
  if (grad.numel()) certificate(X, y, s, n, d, k, W, b, E, lam, alpha, first_class, grad_io.data<double>(), cert);
  for (const auto* io : {&weight_io, &bias_io, &eta_io, &grad_io}) io->commit();
  return torch::tensor({static_cast<double>(st.sweeps), st.last, static_cast<double>(st.halvings), cert[0], cert[1], cert[2],
                        cert[3], cert[4]},
                       torch::dtype(torch::kFloat64));
}

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("enet_cd", &enet_cd_cpu); }
