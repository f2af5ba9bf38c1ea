// CPU kernel of saga_enet (see csrc/saga_enet.cpp and ops/saga_enet.py for the meaning).
// Fused, BLAS-free: per minibatch the rows are read in place through `order` (no gather copy),
// the forward pass z_i = W x_i + b and the table correction Σ_S Δ_i x_iᵀ run over blocks of
// kRows rows so every load of W (or of the gradient accumulator) serves kRows FMAs while W
// (k·d) stays in cache; then one fused pass over the k·d weights does the SAGA step, the
// elastic-net prox, the step norm and the running-average update. (Measured at n = 5k, d = 512,
// k = 10, B = 64, one thread: the ATen version, index_select + two small GEMMs + double exp per
// minibatch, spent most of its time outside the FMAs.) OpenMP splits rows (forward) and features
// (correction, prox) when a minibatch carries enough work to pay for the fork.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../macros.h"
#include "../saga_enet.h"
#include "inplace.h"
#include "isa.h"

namespace {

constexpr int64_t kGrain = 2048;        // weights per OpenMP chunk in the prox pass
constexpr int64_t kRows = 4;            // rows per register block in the correction
constexpr int64_t kFwdRows = 8;         // rows per register block in the forward pass
constexpr int64_t kCols = 512;          // feature block of the correction (accumulator stays in L1)
constexpr int64_t kWorkGrain = 1 << 16;  // multiply-adds per OpenMP chunk in the row passes

// One copy of the passes per ISA path (isa.h).
#define SB_ISA_KERNEL "saga_enet_kernel.h"
#include "isa_copies.h"

at::Tensor saga_enet_cpu(const at::Tensor& X_in, const at::Tensor& target_in, const at::Tensor& sw_in,
                         const at::Tensor& order_in, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& table, const at::Tensor& w_avg, const at::Tensor& b_avg, double lr,
                         double lam, double alpha, int64_t batch_size, c10::string_view family, bool group,
                         int64_t n_total, double step_tol) {
  SB_CHECK_CPU(X_in);
  const bool multinomial = shortcutbench::check_saga_enet_inputs(X_in, target_in, sw_in, order_in, weight, bias, table,
                                                                 w_avg, b_avg, lr, lam, alpha, batch_size, family,
                                                                 n_total);
  const auto dtype = X_in.scalar_type();
  auto order = order_in.contiguous();
  auto target = target_in.contiguous();
  auto sw = sw_in.contiguous();
  auto X = X_in.contiguous();
  // updated in place, in any layout
  const shortcutbench::InPlace w_io(weight), b_io(bias), t_io(table), wa_io(w_avg), ba_io(b_avg);
  auto out = AT_DISPATCH_FLOATING_TYPES(dtype, "saga_enet_cpu", [&] {
    return SB_ISA_PICK(epoch<scalar_t>)(X, target, sw, order, w_io.buf(), b_io.buf(), t_io.buf(), wa_io.buf(), ba_io.buf(), lr,
                           lam, alpha, batch_size, multinomial, group, n_total, step_tol);
  });
  for (const auto* io : {&w_io, &b_io, &t_io, &wa_io, &ba_io}) io->commit();
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("saga_enet", &saga_enet_cpu); }
