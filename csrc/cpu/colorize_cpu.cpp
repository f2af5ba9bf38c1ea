#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../colorize.h"

namespace {

template <typename gray_t>
inline float to_unit(gray_t v);
template <>
inline float to_unit<uint8_t>(uint8_t v) { return static_cast<float>(v) * (1.0f / 255.0f); }
template <>
inline float to_unit<float>(float v) { return v; }

template <typename gray_t>
void colorize_kernel(const gray_t* gray, const float* color, float* out, int64_t n, int64_t hw,
                     bool background) {
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const gray_t* g = gray + i * hw;
      for (int64_t c = 0; c < 3; ++c) {
        const float col = color[i * 3 + c];
        float* o = out + (i * 3 + c) * hw;
        if (background) {
          for (int64_t p = 0; p < hw; ++p) {
            const float v = to_unit<gray_t>(g[p]);
            o[p] = v + (1.0f - v) * col;
          }
        } else {
          for (int64_t p = 0; p < hw; ++p) o[p] = to_unit<gray_t>(g[p]) * col;
        }
      }
    }
  });
}

at::Tensor colorize_cpu(const at::Tensor& gray, const at::Tensor& color, bool background) {
  SB_CHECK_CPU(gray);
  shortcutbench::check_colorize_inputs(gray, color);
  auto g = gray.contiguous();
  auto col = color.contiguous();
  const int64_t n = g.size(0), h = g.size(1), w = g.size(2);
  auto out = at::empty({n, 3, h, w}, col.options());
  if (g.scalar_type() == at::kByte) {
    colorize_kernel<uint8_t>(g.data_ptr<uint8_t>(), col.data_ptr<float>(), out.data_ptr<float>(),
                             n, h * w, background);
  } else {
    colorize_kernel<float>(g.data_ptr<float>(), col.data_ptr<float>(), out.data_ptr<float>(), n,
                           h * w, background);
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("colorize", &colorize_cpu); }
