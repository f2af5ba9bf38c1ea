// colorize: paint grayscale digits with one RGB colour per image (seed 000 §2.2).
// Schema and the Autograd kernel (autograd.h); kernels register themselves in cpu/colorize_cpu.cpp and cuda/colorize_cuda.cu.
// Meaning is defined by the pure-torch reference in pysrc/shortcutbench/ops/colorize.py.
#include <torch/library.h>

#include "autograd.h"

TORCH_LIBRARY_FRAGMENT(shortcutbench, m) {
  // gray: [N, H, W] uint8 (0..255) or float32 (0..1); color: [N, 3] float32 in [0, 1].
  // background=false: out = g * color (coloured stroke on black);
  // background=true:  out = g + (1 - g) * color (white stroke on coloured background).
  m.def("colorize(Tensor gray, Tensor color, bool background) -> Tensor");
}

TORCH_LIBRARY_IMPL(shortcutbench, Autograd, m) { m.impl("colorize", shortcutbench::non_differentiable()); }
