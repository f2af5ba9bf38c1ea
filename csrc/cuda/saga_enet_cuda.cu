// CUDA version of saga_enet (schema in ../saga_enet.cpp, meaning in ops/saga_enet.py): the
// reference's order of operations as ATen calls on the device (per minibatch a gather, two small
// GEMMs, the softmax residuals, the prox), which on a GPU are the batched kernels worth having;
// the CPU kernel's register blocking answers a CPU's problem. One host sync per minibatch only
// when step_tol asks for the early stop.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../cpu/inplace.h"
#include "../saga_enet.h"
#include "utils.cuh"

namespace {

at::Tensor prox(const at::Tensor& v, double l1, double l2, bool group) {
  at::Tensor out;
  if (group) {  // Σ_j ‖w[:, j]‖₂: scale each column by max(1 − l1/‖·‖, 0)
    auto norm = v.norm(2, {0}, true);
    auto safe = at::where(norm > 0, norm, at::ones_like(norm));
    out = v * at::where(norm > l1, 1.0 - l1 / safe, at::zeros_like(norm));
  } else {
    out = at::sign(v) * at::clamp_min(v.abs() - l1, 0.0);
  }
  return l2 != 0 ? out / (1.0 + l2) : out;
}

at::Tensor saga_enet_cuda(const at::Tensor& X, const at::Tensor& target, const at::Tensor& sw,
                          const at::Tensor& order, const at::Tensor& weight, const at::Tensor& bias,
                          const at::Tensor& table, const at::Tensor& w_avg, const at::Tensor& b_avg, double lr,
                          double lam, double alpha, int64_t batch_size, c10::string_view family, bool group,
                          int64_t n_total, double step_tol) {
  SB_CHECK_CUDA(X);
  const bool multinomial = shortcutbench::check_saga_enet_inputs(X, target, sw, order, weight, bias, table, w_avg,
                                                                 b_avg, lr, lam, alpha, batch_size, family, n_total);
  const c10::cuda::CUDAGuard guard(X.device());
  const shortcutbench::InPlace w_io(weight), b_io(bias), t_io(table), wa_io(w_avg), ba_io(b_avg);
  const at::Tensor &W = w_io.buf(), &b = b_io.buf(), &tab = t_io.buf(), &wa = wa_io.buf(), &ba = ba_io.buf();
  const double l1 = lr * lam * alpha, l2 = lr * lam * (1.0 - alpha);
  auto loss_sum = at::zeros({}, X.options().dtype(at::kDouble));
  int64_t steps = 0;
  double stopped = 0.0, last = 0.0;
  at::Tensor last_t = at::zeros({}, X.options().dtype(at::kDouble));
  for (int64_t s = 0; s < order.numel(); s += batch_size) {
    auto idx = order.narrow(0, s, std::min(batch_size, order.numel() - s));
    const int64_t m = idx.numel();
    auto xs = X.index_select(0, idx);
    auto z = at::addmm(b, xs, W.t());
    at::Tensor a, loss;
    if (multinomial) {
      auto y = target.index_select(0, idx);
      loss = at::logsumexp(z, {1}) - z.gather(1, y.unsqueeze(1)).squeeze(1);
      a = at::softmax(z, 1);
      a.scatter_add_(1, y.unsqueeze(1), at::full({m, 1}, -1.0, a.options()));
    } else {
      a = z - target.index_select(0, idx);
      loss = 0.5 * (a * a).sum(1);
    }
    if (sw.numel()) {
      auto s_i = sw.index_select(0, idx);
      a = a * s_i.unsqueeze(1);
      loss = loss * s_i;
    }
    loss_sum += loss.to(at::kDouble).sum();
    auto delta = a - tab.index_select(0, idx);
    auto g_w = at::mm(delta.t(), xs) / static_cast<double>(m);
    auto g_b = delta.mean(0);
    auto w_new = prox(W - lr * (g_w + wa), l1, l2, group);
    auto b_new = b - lr * (g_b + ba);
    tab.index_copy_(0, idx, a);
    wa.add_(g_w, static_cast<double>(m) / n_total);
    ba.add_(g_b, static_cast<double>(m) / n_total);
    last_t = at::sqrt((w_new - W).pow(2).sum().to(at::kDouble) + (b_new - b).pow(2).sum().to(at::kDouble));
    if (step_tol >= 0 && last_t.item<double>() <= step_tol) {
      stopped = 1.0;
      break;
    }
    W.copy_(w_new);
    b.copy_(b_new);
    ++steps;
  }
  last = last_t.item<double>();
  for (const auto* io : {&w_io, &b_io, &t_io, &wa_io, &ba_io}) io->commit();
  auto head = at::tensor({static_cast<double>(steps), stopped, last}, at::TensorOptions().dtype(at::kDouble));
  return at::cat({loss_sum.cpu().reshape({1}), head}).to(X.device());
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CUDA, m) { m.impl("saga_enet", &saga_enet_cuda); }
