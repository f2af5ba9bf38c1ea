#pragma once
// Run-time choice of the instruction-set path for kernels that keep one copy per ISA
// (the build itself targets baseline x86-64, so the binary runs on any x86-64 CPU).
//
// The path is the best one the CPU (and OS) supports, or the one SHORTCUTBENCH_ISA names
// (baseline | avx2 | avx512) when the CPU supports it; set_isa changes it at run time
// (benchmarks time every path in one process).
#include <string>
#include <vector>

// GCC on x86: kernels keep per-ISA copies under #pragma GCC target (elsewhere only the baseline one).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define SB_ISA_X86 1
#else
#define SB_ISA_X86 0
#endif

namespace shortcutbench {

enum class Isa { baseline = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
// Paths this CPU can run, baseline first.
std::vector<std::string> isa_supported();
// The path kernels use now.
Isa active_isa();
// Why the path differs from the best supported one ("" when it does not).
std::string isa_note();
// Switch to a path by name; throws (c10::Error) for an unknown or unsupported one.
void set_isa(const std::string& name);

// The copy of a kernel for the active path, one pointer per copy (isa_copies.h); SB_ISA_PICK(fn)
// names fn in each copy's namespace, or the baseline one where only that copy exists.
template <typename F>
F for_active_isa(F baseline, F avx2, F avx512) {
  switch (active_isa()) {
    case Isa::avx512:
      return avx512;
    case Isa::avx2:
      return avx2;
    default:
      return baseline;
  }
}

}  // namespace shortcutbench

#if SB_ISA_X86
#define SB_ISA_PICK(fn) shortcutbench::for_active_isa(&isa_baseline::fn, &isa_avx2::fn, &isa_avx512::fn)
#else
#define SB_ISA_PICK(fn) (&isa_baseline::fn)
#endif
