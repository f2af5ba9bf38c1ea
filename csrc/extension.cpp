// The Python module shortcutbench._C: non-tensor helpers (build_info) via pybind11.
// Tensor ops are not bound here; each registers itself with the dispatcher from its own
// csrc/<op>.cpp (TORCH_LIBRARY_FRAGMENT) and its kernels (TORCH_LIBRARY_IMPL), so loading
// this module is enough to make torch.ops.shortcutbench.<op> available.
#include <torch/extension.h>

#include "build_info.h"
#include "cpu/isa.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "shortcutbench compiled core";
  m.def("build_info", &shortcutbench::build_info,
        "Compiler, flags, OpenMP, SIMD, ISA path and CUDA facts of this build, as a dict of strings");
  m.def("isa", [] { return std::string(shortcutbench::isa_name(shortcutbench::active_isa())); },
        "The instruction-set path of the per-ISA kernels in use (baseline, avx2 or avx512)");
  m.def("isa_supported", &shortcutbench::isa_supported, "The ISA paths this CPU can run, baseline first");
  m.def("set_isa", &shortcutbench::set_isa, "Switch the per-ISA kernels to a path (benchmarks, tests)");
}
