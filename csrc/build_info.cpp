#include "build_info.h"

#include "cpu/isa.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace shortcutbench {

namespace {
std::string simd_extensions() {
  std::string s;
  auto add = [&s](const char* name) { s += s.empty() ? name : std::string(" ") + name; };
#ifdef __SSE2__
  add("sse2");
#endif
#ifdef __SSE4_2__
  add("sse4.2");
#endif
#ifdef __AVX__
  add("avx");
#endif
#ifdef __AVX2__
  add("avx2");
#endif
#ifdef __FMA__
  add("fma");
#endif
#ifdef __AVX512F__
  add("avx512f");
#endif
#ifdef __ARM_NEON
  add("neon");
#endif
  return s.empty() ? "none" : s;
}

std::string optimisation_flags() {
  std::string s;
#ifdef __OPTIMIZE__
  s += "optimize";
#else
  s += "no-optimize";
#endif
#ifdef __FAST_MATH__
  s += " fast-math";
#endif
#ifdef NDEBUG
  s += " NDEBUG";
#endif
  return s;
}
}  // namespace

std::map<std::string, std::string> build_info() {
  std::map<std::string, std::string> info;
#if defined(__clang__)
  info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  info["compiler"] = std::string("gcc ") + __VERSION__;
#else
  info["compiler"] = "unknown";
#endif
  info["cxx_standard"] = std::to_string(__cplusplus);
  info["flags"] = optimisation_flags();
  info["simd"] = simd_extensions();  // what the whole build targets (baseline unless CXXFLAGS say more)
  std::string supported;
  for (const auto& name : isa_supported()) supported += (supported.empty() ? "" : " ") + name;
  info["isa_supported"] = supported;      // per-ISA kernel copies this CPU can run
  info["isa"] = isa_name(active_isa());    // the copy in use (SHORTCUTBENCH_ISA overrides)
  if (!isa_note().empty()) info["isa_note"] = isa_note();
  info["torch_version"] = TORCH_VERSION;
#ifdef _OPENMP
  info["openmp"] = std::to_string(_OPENMP);
  info["openmp_max_threads"] = std::to_string(omp_get_max_threads());
#else
  info["openmp"] = "off";
  info["openmp_max_threads"] = "1";
#endif
  info["aten_threads"] = std::to_string(at::get_num_threads());
#ifdef WITH_CUDA
  info["cuda"] = "on";
#else
  info["cuda"] = "off";
#endif
  return info;
}

}  // namespace shortcutbench
