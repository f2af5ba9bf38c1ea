#include "isa.h"

#include <c10/util/Exception.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace shortcutbench {

namespace {

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::baseline:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    // libgcc's checks include the OS's XSAVE support for the wider registers (xgetbv).
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return cpu_has(Isa::avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    default:
      return false;
  }
}

Isa best_supported() {
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (cpu_has(isa)) return isa;
  return Isa::baseline;
}

bool parse(const std::string& name, Isa* out) {
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) {
      *out = isa;
      return true;
    }
  return false;
}

std::once_flag g_init;
std::atomic<int> g_isa{0};
std::string g_note;

void init() {
  Isa isa = best_supported();
  if (const char* env = std::getenv("SHORTCUTBENCH_ISA"); env && *env) {
    Isa wanted;
    if (!parse(env, &wanted))
      g_note = std::string("SHORTCUTBENCH_ISA=") + env + " is not one of baseline, avx2, avx512; using " + isa_name(isa);
    else if (!cpu_has(wanted))
      g_note = std::string("SHORTCUTBENCH_ISA=") + env + " is not supported by this CPU; using " + isa_name(isa);
    else {
      isa = wanted;
      if (isa != best_supported()) g_note = std::string("chosen by SHORTCUTBENCH_ISA=") + env;
    }
  }
  g_isa.store(static_cast<int>(isa));
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    default:
      return "baseline";
  }
}

std::vector<std::string> isa_supported() {
  std::vector<std::string> out;
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512})
    if (cpu_has(isa)) out.emplace_back(isa_name(isa));
  return out;
}

Isa active_isa() {
  std::call_once(g_init, init);
  return static_cast<Isa>(g_isa.load(std::memory_order_relaxed));
}

std::string isa_note() {
  std::call_once(g_init, init);
  return g_note;
}

void set_isa(const std::string& name) {
  std::call_once(g_init, init);
  Isa isa;
  TORCH_CHECK(parse(name, &isa), "unknown ISA path '", name, "'; expected baseline, avx2 or avx512");
  TORCH_CHECK(cpu_has(isa), "this CPU cannot run the ", name, " path");
  g_isa.store(static_cast<int>(isa));
  g_note = isa == best_supported() ? "" : "chosen by set_isa('" + name + "')";
}

}  // namespace shortcutbench
