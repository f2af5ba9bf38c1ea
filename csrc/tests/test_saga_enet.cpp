// C++ unit test of saga_enet without Python: one full-batch epoch with the table at the true
// residuals is one proximal-gradient step, computed here by hand (gaussian, k = 1, d = 2).
#include <ATen/ATen.h>
#include <torch/library.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cassert>
#include <cmath>
#include <cstdio>

static bool close(double a, double b, double tol = 1e-12) { return std::fabs(a - b) <= tol; }

int main() {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("shortcutbench::saga_enet", "").typed<at::Tensor(
      // the CPU kernel takes its in-place tensors as const Tensor&; the typed call must match it
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double, double, double, int64_t, c10::string_view, bool, int64_t,
      double)>();
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  // X = [[1, 0], [0, 2]], y = [1, 1], W = [0.5, 0.5], b = 0 → residuals r = [-0.5, 0]
  at::Tensor X = at::tensor({1.0, 0.0, 0.0, 2.0}, f64).reshape({2, 2});
  at::Tensor y = at::tensor({1.0, 1.0}, f64).reshape({2, 1});
  at::Tensor W = at::tensor({0.5, 0.5}, f64).reshape({1, 2});
  at::Tensor b = at::zeros({1}, f64);
  at::Tensor table = at::tensor({-0.5, 0.0}, f64).reshape({2, 1});
  at::Tensor w_avg = at::tensor({-0.25, 0.0}, f64).reshape({1, 2});  // Aᵀ X / n
  at::Tensor b_avg = at::tensor({-0.25}, f64);
  at::Tensor order = at::arange(2, at::TensorOptions().dtype(at::kLong));
  at::Tensor empty = at::empty({0}, f64);
  // lr = 1, λ = 0.1, α = 0.5: v = W − ∇ = [0.75, 0.5]; soft(·, 0.05) / (1 + 0.05) = [0.7/1.05, 0.45/1.05]
  at::Tensor out = op.call(X, y, empty, order, W, b, table, w_avg, b_avg, 1.0, 0.1, 0.5, 2, "gaussian", false, 2, -1.0);
  bool ok = close(W[0][0].item<double>(), 0.7 / 1.05) && close(W[0][1].item<double>(), 0.45 / 1.05) &&
            close(b[0].item<double>(), 0.25) && close(out[1].item<double>(), 1.0) &&
            close(out[0].item<double>(), 0.125);  // Σ ½ r² = ½ · 0.25
  // the averages moved by (|S|/n)·Δ = 0 (table already held the true residuals)
  ok = ok && close(w_avg[0][0].item<double>(), -0.25) && close(b_avg[0].item<double>(), -0.25);
  std::printf("test_saga_enet: %s\n", ok ? "ok" : "FAILED");
  assert(ok);
  return ok ? 0 : 1;
}
