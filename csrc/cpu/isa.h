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

}  // namespace shortcutbench
