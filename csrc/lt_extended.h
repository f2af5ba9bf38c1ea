#pragma once
// Input contract of lt_extended, shared by the CPU and CUDA kernels: every check quotes what was
// passed. Labels and pixel lists are read on the host (B is small: 8 L-T or 72 triangle-square images).
#include <torch/types.h>

#include <vector>

#include "macros.h"

namespace shortcutbench {

struct LtSizes {
  int64_t B, n, P, K, per_base, total;
};

inline LtSizes check_lt_extended_inputs(const at::Tensor& bases, const at::Tensor& labels, const at::Tensor& pixels,
                                        const at::Tensor& offsets, const at::Tensor& weight,
                                        const c10::optional<at::Tensor>& bias, int64_t start, int64_t stop,
                                        int64_t max_misclassified) {
  for (const at::Tensor* t : {&labels, &pixels, &offsets, &weight}) SB_CHECK_SAME_DEVICE(bases, (*t));
  SB_CHECK_DIM(bases, 3);
  SB_CHECK_DIM(labels, 1);
  SB_CHECK_DIM(pixels, 2);
  SB_CHECK_DIM(offsets, 3);
  SB_CHECK_DIM(weight, 3);
  const int64_t B = bases.size(0), n = bases.size(1);
  TORCH_CHECK(bases.size(2) == n, "bases must be square canvases [B, n, n], got shape ", bases.sizes());
  TORCH_CHECK(bases.scalar_type() == at::kFloat || bases.scalar_type() == at::kDouble,
              "bases must be float32 or float64, got ", bases.scalar_type());
  TORCH_CHECK(offsets.scalar_type() == bases.scalar_type() && weight.scalar_type() == bases.scalar_type(),
              "bases, offsets and weight must share one dtype, got ", bases.scalar_type(), ", ",
              offsets.scalar_type(), " and ", weight.scalar_type());
  TORCH_CHECK(labels.scalar_type() == at::kLong && labels.size(0) == B, "labels must be int64 [B] with B = ", B,
              ", got ", labels.scalar_type(), " ", labels.sizes());
  TORCH_CHECK(pixels.scalar_type() == at::kLong && pixels.size(0) == B,
              "pixels must be int64 [B, P] with B = ", B, ", got ", pixels.scalar_type(), " ", pixels.sizes());
  const int64_t P = pixels.size(1), K = offsets.size(2);
  TORCH_CHECK(offsets.size(0) == B && offsets.size(1) == P && K >= 1,
              "offsets must have shape [B, P, K] = [", B, ", ", P, ", K>=1], got ", offsets.sizes());
  TORCH_CHECK(weight.size(0) == 2 && weight.size(1) == weight.size(2) && weight.size(1) <= n && weight.size(1) >= 1,
              "weight must be [2, k, k] with k <= canvas ", n, ", got shape ", weight.sizes());
  if (bias.has_value() && bias->defined()) {
    SB_CHECK_SAME_DEVICE(bases, (*bias));
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == 2 && bias->scalar_type() == bases.scalar_type(),
                "bias must be [2] of the weight's dtype, got ", bias->scalar_type(), " ", bias->sizes());
  }
  TORCH_CHECK(max_misclassified >= 0, "max_misclassified must be >= 0, got ", max_misclassified);
  auto lab = labels.to(at::kCPU).contiguous();
  auto pix = pixels.to(at::kCPU).contiguous();
  const int64_t* lp = lab.data_ptr<int64_t>();
  const int64_t* pp = pix.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK(lp[b] == 0 || lp[b] == 1, "labels must be 0 or 1, got ", lp[b], " at ", b);
    std::vector<char> seen(n * n, 0);
    for (int64_t d = 0; d < P; ++d) {
      const int64_t p = pp[b * P + d];
      TORCH_CHECK(p >= 0 && p < n * n, "pixels[", b, ", ", d, "] = ", p, " is outside the ", n, "x", n, " canvas");
      TORCH_CHECK(!seen[p], "pixels[", b, "] lists canvas pixel ", p, " twice; each digit must move its own pixel");
      seen[p] = 1;
    }
  }
  int64_t per_base = 1, total = 0;
  for (int64_t d = 0; d < P; ++d)
    TORCH_CHECK(!__builtin_mul_overflow(per_base, K, &per_base), "index space K^P = ", K, "^", P, " overflows int64");
  TORCH_CHECK(!__builtin_mul_overflow(per_base, B, &total), "index space B*K^P = ", B, "*", K, "^", P, " overflows int64");
  TORCH_CHECK(0 <= start && start <= stop && stop <= total, "need 0 <= start <= stop <= ", total, ", got [", start,
              ", ", stop, ")");

  return {B, n, P, K, per_base, total};
}

}  // namespace shortcutbench
