// CUDA kernel of colorize; built only when CUDA and nvcc are present (setup.py BUILD_CUDA).
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../colorize.h"

namespace {

template <typename gray_t>
__device__ __forceinline__ float to_unit(gray_t v);
template <>
__device__ __forceinline__ float to_unit<uint8_t>(uint8_t v) { return v * (1.0f / 255.0f); }
template <>
__device__ __forceinline__ float to_unit<float>(float v) { return v; }

template <typename gray_t>
__global__ void colorize_cuda_kernel(const gray_t* __restrict__ gray,
                                     const float* __restrict__ color, float* __restrict__ out,
                                     int64_t n, int64_t hw, bool background) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * 3 * hw) return;
  const int64_t p = idx % hw;
  const int64_t c = (idx / hw) % 3;
  const int64_t i = idx / (3 * hw);
  const float v = to_unit<gray_t>(gray[i * hw + p]);
  const float col = color[i * 3 + c];
  out[idx] = background ? v + (1.0f - v) * col : v * col;
}

at::Tensor colorize_cuda(const at::Tensor& gray, const at::Tensor& color, bool background) {
  SB_CHECK_CUDA(gray);
  shortcutbench::check_colorize_inputs(gray, color);
  const c10::cuda::CUDAGuard guard(gray.device());
  auto g = gray.contiguous();
  auto col = color.contiguous();
  const int64_t n = g.size(0), h = g.size(1), w = g.size(2);
  auto out = at::empty({n, 3, h, w}, col.options());
  const int64_t total = n * 3 * h * w;
  if (total == 0) return out;
  const int threads = 256;
  const int64_t blocks = (total + threads - 1) / threads;
  auto stream = c10::cuda::getCurrentCUDAStream();
  if (g.scalar_type() == at::kByte) {
    colorize_cuda_kernel<uint8_t><<<blocks, threads, 0, stream>>>(
        g.data_ptr<uint8_t>(), col.data_ptr<float>(), out.data_ptr<float>(), n, h * w, background);
  } else {
    colorize_cuda_kernel<float><<<blocks, threads, 0, stream>>>(
        g.data_ptr<float>(), col.data_ptr<float>(), out.data_ptr<float>(), n, h * w, background);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CUDA, m) { m.impl("colorize", &colorize_cuda); }
