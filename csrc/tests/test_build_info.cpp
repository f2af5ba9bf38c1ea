#include <string>

#include "../build_info.h"
#include "check.h"

int main() {
  auto info = shortcutbench::build_info();
  for (const char* key : {"compiler", "cxx_standard", "flags", "simd", "openmp", "openmp_max_threads", "cuda",
                          "torch_version", "aten_threads"}) {
    SB_EXPECT(info.count(key) == 1);
    SB_EXPECT(!info[key].empty());
  }
  SB_EXPECT(std::stol(info["cxx_standard"]) >= 201703L);
  SB_EXPECT(std::stoi(info["openmp_max_threads"]) >= 1);
  SB_TEST_MAIN_END();
}
