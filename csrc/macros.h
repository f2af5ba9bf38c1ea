// Shared helpers for every op: input checks whose messages quote what was passed.
#pragma once
#include <torch/types.h>
#include <sstream>

#define SB_CHECK_CPU(x) TORCH_CHECK(!(x).is_cuda(), #x " must be a CPU tensor, got ", (x).device())
#define SB_CHECK_CUDA(x) TORCH_CHECK((x).is_cuda(), #x " must be a CUDA tensor, got ", (x).device())
#define SB_CHECK_DIM(x, d) \
  TORCH_CHECK((x).dim() == (d), #x " must have ", d, " dimensions, got shape ", (x).sizes())
#define SB_CHECK_SAME_DEVICE(a, b)                                                    \
  TORCH_CHECK((a).device() == (b).device(), #a " and " #b " must be on one device, got ", \
              (a).device(), " and ", (b).device())
