#pragma once
// Shared pieces of the CUDA kernels: input checks, launch sizes, block reductions.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/types.h>

#include "../macros.h"

namespace shortcutbench {
namespace cuda {

constexpr int kThreads = 256;

inline int64_t blocks_for(int64_t n, int threads = kThreads) { return (n + threads - 1) / threads; }

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
template <typename T>
__device__ __forceinline__ T block_sum(T v) {
  __shared__ T partial[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // partial[] may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = 0;
  const int warps = (blockDim.x + 31) >> 5;
  for (int w = 0; w < warps; ++w) total += partial[w];
  return total;
}

}  // namespace cuda
}  // namespace shortcutbench
