// CUDA kernel of pgd_step (schema in ../pgd_step.cpp, meaning in ops/pgd_step.py): one block per
// sample; the l2 norms are block reductions. Same order of operations as cpu/pgd_step_cpu.cpp.
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "../cpu/inplace.h"
#include "../pgd_step.h"
#include "utils.cuh"

namespace {

using shortcutbench::cuda::block_sum;

template <typename T>
__device__ __forceinline__ T clamp01(T v) { return v < T(0) ? T(0) : (v > T(1) ? T(1) : v); }

// P(v) for one coordinate: l2 uses the sample's scale min(eps, ||v - x0||) / (||v - x0|| + 1e-12).
template <typename T>
__device__ __forceinline__ T project(T v, T x0, T eps, bool l2, T scale) {
  if (l2) return clamp01(x0 + (v - x0) * scale);
  return clamp01(fmin(fmax(v, x0 - eps), x0 + eps));
}

template <typename T>
__global__ void pgd_step_kernel(const T* __restrict__ x, T* x_prev, const T* __restrict__ grad,
                                const T* __restrict__ x0, const T* __restrict__ eps, const T* __restrict__ step,
                                const T* __restrict__ loss, const bool* __restrict__ success,
                                const bool* __restrict__ restore, T* best_loss, T* best_x, T* best_grad, T* adv_x,
                                T* __restrict__ out, int64_t d, T alpha, bool l2) {
  const int64_t i = blockIdx.x, o = i * d;
  const T *xi = x + o, *gi = grad + o, *x0i = x0 + o;
  // 1. bookkeeping (strict improvement; latest success wins)
  const bool improved = loss[i] > best_loss[i];
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    if (improved) {
      best_x[o + j] = xi[j];
      best_grad[o + j] = gi[j];
    }
    if (success[i]) adv_x[o + j] = xi[j];
  }
  __syncthreads();
  if (threadIdx.x == 0 && improved) best_loss[i] = loss[i];
  // 2. base point and gradient
  const T* base = restore[i] ? best_x + o : xi;
  const T* g = restore[i] ? best_grad + o : gi;
  const T s = step[i], e = eps[i];
  T inv = 0;
  if (l2) {
    T n2 = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) n2 += g[j] * g[j];
    inv = T(1) / (sqrt(block_sum(n2)) + T(1e-12));
  }
  auto first = [&](int64_t j) { return base[j] + (l2 ? s * g[j] * inv : s * T((g[j] > T(0)) - (g[j] < T(0)))); };
  // 3. z = P(first), then v = base + alpha (z - base) + (1 - alpha)(base - x_prev), x_next = P(v)
  // the l2 projection's scale min(eps, ||v - x0||) / (||v - x0|| + 1e-12) for v = point(j)
  auto l2_scale = [&](auto point) {
    T n2 = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const T dj = point(j) - x0i[j];
      n2 += dj * dj;
    }
    const T n = sqrt(block_sum(n2));
    return fmin(e, n) / (n + T(1e-12));
  };
  const T scale1 = l2 ? l2_scale(first) : T(1);
  auto second = [&](int64_t j) {
    const T z = project(first(j), x0i[j], e, l2, scale1);
    return base[j] + alpha * (z - base[j]) + (T(1) - alpha) * (base[j] - x_prev[o + j]);
  };
  const T scale2 = l2 ? l2_scale(second) : T(1);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) out[o + j] = project(second(j), x0i[j], e, l2, scale2);
  __syncthreads();  // every thread has read x_prev
  // 4. the base becomes the previous point
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) x_prev[o + j] = base[j];
}

at::Tensor pgd_step_cuda(const at::Tensor& x, at::Tensor& x_prev, const at::Tensor& grad, const at::Tensor& x_orig,
                         const at::Tensor& eps, const at::Tensor& step, const at::Tensor& loss,
                         const at::Tensor& success, const at::Tensor& restore, at::Tensor& best_loss,
                         at::Tensor& best_x, at::Tensor& best_grad, at::Tensor& adv_x, double alpha, bool l2) {
  SB_CHECK_CUDA(x);
  shortcutbench::check_pgd_step_inputs(x, x_prev, grad, x_orig, eps, step, loss, success, restore, best_loss, best_x,
                                       best_grad, adv_x);
  const int64_t b = x.size(0);
  const c10::cuda::CUDAGuard guard(x.device());
  const shortcutbench::InPlace prev_io(x_prev), bl_io(best_loss), bx_io(best_x), bg_io(best_grad), adv_io(adv_x);
  auto xc = x.contiguous(), gc = grad.contiguous(), x0c = x_orig.contiguous();
  auto ec = eps.contiguous(), sc = step.contiguous(), lc = loss.contiguous();
  auto okc = success.contiguous(), rc = restore.contiguous();
  auto out = at::empty(xc.sizes(), xc.options());
  const int64_t d = b > 0 ? xc.numel() / b : 0;
  if (b > 0 && d > 0) {
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pgd_step_cuda", [&] {
      pgd_step_kernel<scalar_t><<<b, shortcutbench::cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
          xc.data_ptr<scalar_t>(), prev_io.data<scalar_t>(), gc.data_ptr<scalar_t>(), x0c.data_ptr<scalar_t>(),
          ec.data_ptr<scalar_t>(), sc.data_ptr<scalar_t>(), lc.data_ptr<scalar_t>(), okc.data_ptr<bool>(),
          rc.data_ptr<bool>(), bl_io.data<scalar_t>(), bx_io.data<scalar_t>(), bg_io.data<scalar_t>(),
          adv_io.data<scalar_t>(), out.data_ptr<scalar_t>(), d, static_cast<scalar_t>(alpha), l2);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  for (const auto* io : {&prev_io, &bl_io, &bx_io, &bg_io, &adv_io}) io->commit();
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CUDA, m) { m.impl("pgd_step", &pgd_step_cuda); }
