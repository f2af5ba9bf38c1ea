// CUDA kernel of nullspace_project (schema in ../nullspace_project.cpp, meaning in
// ops/nullspace_project.py). Half-space: one fused kernel, a block per sample (two dot products
// by block reduction, then the update). Null space: the Gram matrices J Jᵀ and J v in float64 by
// batched GEMM, a batched symmetric eigendecomposition (cuSOLVER through ATen) with the rcond
// cut, and u = v − cᵀJ; small k×k systems are what the GPU does worst, so they go to the library.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "utils.cuh"

namespace {

using shortcutbench::cuda::block_sum;

template <typename T>
__global__ void halfspace_kernel(const T* __restrict__ v, const T* __restrict__ g, T* __restrict__ out, int64_t n) {
  const int64_t o = blockIdx.x * n;
  double gv = 0, gg = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const double gj = g[o + j];
    gv += gj * static_cast<double>(v[o + j]);
    gg += gj * gj;
  }
  gv = block_sum(gv);
  gg = block_sum(gg);
  const double c = (gg > 0 && gv < 0) ? gv / gg : 0.0;  // u = v - min(<g,v>, 0)/<g,g> g
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    out[o + j] = static_cast<T>(static_cast<double>(v[o + j]) - c * static_cast<double>(g[o + j]));
}

at::Tensor nullspace_project_cuda(const at::Tensor& v, const at::Tensor& J, bool halfspace, double rcond) {
  SB_CHECK_CUDA(v);
  SB_CHECK_SAME_DEVICE(v, J);
  SB_CHECK_DIM(v, 2);
  SB_CHECK_DIM(J, 3);
  TORCH_CHECK(J.size(0) == v.size(0) && J.size(2) == v.size(1),
              "J must have shape [B, k, n] with B, n = v.shape = ", v.sizes(), ", got ", J.sizes());
  TORCH_CHECK(J.size(1) >= 1, "J must have at least one row, got shape ", J.sizes());
  TORCH_CHECK(!halfspace || J.size(1) == 1, "halfspace projection takes one row (J of shape [B, 1, n]), got ",
              J.sizes());
  TORCH_CHECK(v.scalar_type() == J.scalar_type(), "v and J must share a dtype, got ", v.scalar_type(), " and ",
              J.scalar_type());
  TORCH_CHECK(v.scalar_type() == at::kFloat || v.scalar_type() == at::kDouble, "v must be float32 or float64, got ",
              v.scalar_type());
  TORCH_CHECK(rcond >= 0.0 && rcond < 1.0, "rcond must be in [0, 1), got ", rcond);
  const c10::cuda::CUDAGuard guard(v.device());
  auto vc = v.contiguous(), Jc = J.contiguous();
  const int64_t B = vc.size(0), n = vc.size(1);
  if (halfspace) {
    auto out = at::empty(vc.sizes(), vc.options());
    if (B > 0 && n > 0) {
      AT_DISPATCH_FLOATING_TYPES(vc.scalar_type(), "nullspace_project_cuda", [&] {
        halfspace_kernel<scalar_t><<<B, shortcutbench::cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
            vc.data_ptr<scalar_t>(), Jc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    } else {
      out.copy_(vc);
    }
    return out;
  }
  if (B == 0) return at::empty(vc.sizes(), vc.options());
  // (J Jᵀ)⁺ drops eigenvalues <= rcond² λ_max (the scipy null_space rule, as the CPU kernel)
  auto Jd = Jc.to(at::kDouble), vd = vc.to(at::kDouble);
  auto G = at::bmm(Jd, Jd.transpose(1, 2));
  auto b = at::bmm(Jd, vd.unsqueeze(2));  // [B, k, 1]
  auto [lam, Q] = at::linalg_eigh(G);
  auto lmax = std::get<0>(lam.max(1, true)).clamp_min(0);
  auto keep = (lam > rcond * rcond * lmax).logical_and(lam > 0);
  auto inv = at::where(keep, 1.0 / at::where(keep, lam, at::ones_like(lam)), at::zeros_like(lam));
  auto c = at::bmm(Q, inv.unsqueeze(2) * at::bmm(Q.transpose(1, 2), b));  // [B, k, 1]
  return (vd - at::bmm(c.transpose(1, 2), Jd).squeeze(1)).to(vc.scalar_type());
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CUDA, m) { m.impl("nullspace_project", &nullspace_project_cuda); }
