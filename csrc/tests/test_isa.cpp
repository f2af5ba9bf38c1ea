// C++ unit test of the run-time ISA choice (cpu/isa.h): baseline is always supported, set_isa
// refuses unknown and unsupported paths, and lt_extended gives the same counts, margin and
// misclassified indices on every path this CPU has (sums within float rounding), on random
// float32 problems big enough to fill the vector blocks and their remainders.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include <string>

#include "../cpu/isa.h"
#include "check.h"

namespace {

using Out = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

Out pass(int64_t stop) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("shortcutbench::lt_extended", "")
                       .typed<Out(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                  const at::Tensor&, const std::optional<at::Tensor>&, int64_t, int64_t, bool, bool,
                                  bool, int64_t)>();
  torch::manual_seed(0);
  auto bases = torch::rand({3, 6, 6});
  auto labels = torch::tensor({0, 1, 0}, torch::kLong);
  auto pixels = torch::stack({torch::randperm(36, torch::kLong).slice(0, 0, 9), torch::randperm(36, torch::kLong).slice(0, 0, 9),
                              torch::randperm(36, torch::kLong).slice(0, 0, 9)});
  auto offsets = (torch::rand({3, 9, 3}) - 0.5) * 0.8;
  auto weight = torch::randn({2, 3, 3});
  auto bias = torch::randn({2});
  return op.call(bases, labels, pixels, offsets, weight, bias, 5, stop, true, true, true, 50);
}

bool close(const at::Tensor& a, const at::Tensor& b, double rtol) {
  return (a - b).abs().max().item<double>() <= rtol * (1.0 + b.abs().max().item<double>());
}

}  // namespace

int main() {
  using namespace shortcutbench;
  const auto paths = isa_supported();
  SB_EXPECT(!paths.empty() && paths.front() == "baseline");
  bool threw = false;
  try {
    set_isa("sse9");
  } catch (const c10::Error&) {
    threw = true;
  }
  SB_EXPECT(threw);
  const int64_t stop = 3 * 19683 - 7;  // 3^9 codes per base: a partial last block
  set_isa("baseline");
  SB_EXPECT(std::string(isa_name(active_isa())) == "baseline");
  auto [loss0, gw0, gb0, c0, m0, w0] = pass(stop);
  for (const auto& name : paths) {
    set_isa(name);
    auto [loss, gw, gb, c, m, w] = pass(stop);
    std::printf("%s: correct %ld of %ld\n", name.c_str(), static_cast<long>(c.item<int64_t>()), static_cast<long>(stop - 5));
    SB_EXPECT(c.item<int64_t>() == c0.item<int64_t>());
    SB_EXPECT(m.item<double>() == m0.item<double>());
    SB_EXPECT(torch::equal(w, w0));
    SB_EXPECT(close(loss, loss0, 1e-6));
    SB_EXPECT(close(gw, gw0, 1e-6));
    SB_EXPECT(close(gb, gb0, 1e-6));
  }
  SB_TEST_MAIN_END();
}
