// C++ unit test of shortcutbench::nullspace_project through the dispatcher (check.h expectations, main).
// Identities: half-space <g,u> = max(<g,v>,0); null space J u = 0, idempotent; J = 0 gives u = v.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include "check.h"

static at::Tensor project(const at::Tensor& v, const at::Tensor& J, bool halfspace) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("shortcutbench::nullspace_project", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, bool, double)>();
  return op.call(v, J, halfspace, 1e-6);
}

int main() {
  torch::manual_seed(0);
  const int64_t B = 8, k = 10, n = 784;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto v = torch::randn({B, n}, opts);
  auto J = torch::randn({B, k, n}, opts);
  J[2][4].copy_(J[2][0] * 3.0);  // rank deficient sample
  J[5].zero_();                  // zero gradients

  auto u = project(v, J, false);
  auto Ju = torch::einsum("bkn,bn->bk", {J, u});
  SB_EXPECT(Ju.abs().max().item<double>() < 1e-9);
  SB_EXPECT(torch::equal(u[5], v[5]));
  auto uu = project(u, J, false);
  SB_EXPECT((uu - u).abs().max().item<double>() < 1e-10);
  SB_EXPECT((u.norm(2, 1) <= v.norm(2, 1) + 1e-12).all().item<bool>());

  auto g = J.narrow(1, 0, 1).contiguous();
  auto h = project(v, g, true);
  auto gv = (g.squeeze(1) * v).sum(1), gh = (g.squeeze(1) * h).sum(1);
  SB_EXPECT((gh - gv.clamp_min(0)).abs().max().item<double>() < 1e-9);
  SB_TEST_MAIN_END();
}
