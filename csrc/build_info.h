#pragma once
#include <map>
#include <string>

namespace shortcutbench {
// Facts read from compiler-defined macros and the OpenMP runtime, never typed by hand.
std::map<std::string, std::string> build_info();
}  // namespace shortcutbench
