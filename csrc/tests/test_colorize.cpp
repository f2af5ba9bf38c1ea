// The colorize kernel through the dispatcher (as Python calls it) against the formula.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include "check.h"

namespace {
at::Tensor call_colorize(const at::Tensor& gray, const at::Tensor& color, bool background) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("shortcutbench::colorize", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, bool)>();
  return op.call(gray, color, background);
}
}  // namespace

int main() {
  torch::manual_seed(0);
  auto gray = torch::randint(0, 256, {5, 7, 9}, torch::kUInt8);
  auto color = torch::rand({5, 3});
  auto g = gray.to(torch::kFloat) / 255.0;
  auto expect_stroke = g.unsqueeze(1) * color.view({5, 3, 1, 1});
  auto expect_bg = g.unsqueeze(1) + (1 - g.unsqueeze(1)) * color.view({5, 3, 1, 1});

  auto stroke = call_colorize(gray, color, false);
  SB_EXPECT(stroke.sizes() == torch::IntArrayRef({5, 3, 7, 9}));
  SB_EXPECT_NEAR((stroke - expect_stroke).abs().max().item<float>(), 0.0, 1e-6);
  auto bg = call_colorize(gray, color, true);
  SB_EXPECT_NEAR((bg - expect_bg).abs().max().item<float>(), 0.0, 1e-6);
  auto from_float = call_colorize(g.contiguous(), color, false);
  SB_EXPECT_NEAR((from_float - expect_stroke).abs().max().item<float>(), 0.0, 1e-6);

  bool threw = false;
  try {
    call_colorize(gray, color.narrow(1, 0, 2), false);
  } catch (const c10::Error& e) {
    threw = std::string(e.what()).find("[N, 3]") != std::string::npos;
  }
  SB_EXPECT(threw);
  SB_TEST_MAIN_END();
}
