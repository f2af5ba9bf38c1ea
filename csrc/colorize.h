#pragma once
// Input contract of colorize, shared by the CPU and CUDA kernels.
#include <torch/types.h>

#include "macros.h"

namespace shortcutbench {

inline void check_colorize_inputs(const at::Tensor& gray, const at::Tensor& color) {
  SB_CHECK_SAME_DEVICE(gray, color);
  SB_CHECK_DIM(gray, 3);
  SB_CHECK_DIM(color, 2);
  TORCH_CHECK(color.size(0) == gray.size(0) && color.size(1) == 3,
              "color must have shape [N, 3] with N = gray.size(0) = ", gray.size(0), ", got ",
              color.sizes());
  TORCH_CHECK(gray.scalar_type() == at::kByte || gray.scalar_type() == at::kFloat,
              "gray must be uint8 or float32, got ", gray.scalar_type());
  TORCH_CHECK(color.scalar_type() == at::kFloat, "color must be float32, got ",
              color.scalar_type());
}

}  // namespace shortcutbench
