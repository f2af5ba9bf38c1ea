// C++ unit test of the pgd_step CPU kernel through the dispatcher (plain asserts, no framework).
// Expected values are worked out by hand in the comments.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cmath>
#include <cstdio>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

bool near(double a, double b) { return std::fabs(a - b) < 1e-9; }

at::Tensor call(at::Tensor x, at::Tensor x_prev, at::Tensor grad, at::Tensor x0, at::Tensor eps, at::Tensor step,
                at::Tensor loss, at::Tensor success, at::Tensor restore, at::Tensor best_loss, at::Tensor best_x,
                at::Tensor best_grad, at::Tensor adv_x, double alpha, bool l2) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("shortcutbench::pgd_step", "")
                       .typed<at::Tensor(const at::Tensor&, at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&, at::Tensor&, at::Tensor&, at::Tensor&, at::Tensor&,
                                         double, bool)>();
  return op.call(x, x_prev, grad, x0, eps, step, loss, success, restore, best_loss, best_x, best_grad, adv_x, alpha,
                 l2);
}

at::Tensor img(double v) { return at::full({1, 1}, v, at::kDouble); }
at::Tensor vec(double v) { return at::full({1}, v, at::kDouble); }
at::Tensor flag(bool v) { return at::full({1}, v, at::kBool); }

}  // namespace

int main() {
  // l-inf: x = x0 = 0.5, grad > 0, step 0.03, eps 0.05 -> 0.53; loss 1 > best 0 -> best_x = 0.5; success -> adv_x
  {
    auto x_prev = img(0.5), best_loss = vec(0.0), best_x = img(0.0), best_grad = img(0.0), adv = img(0.0);
    auto out = call(img(0.5), x_prev, img(2.0), img(0.5), vec(0.05), vec(0.03), vec(1.0), flag(true), flag(false),
                    best_loss, best_x, best_grad, adv, 1.0, false);
    check(near(out.item<double>(), 0.53), "linf step 0.5 + 0.03");
    check(near(best_loss.item<double>(), 1.0) && near(best_x.item<double>(), 0.5), "best-iterate bookkeeping");
    check(near(best_grad.item<double>(), 2.0), "best gradient bookkeeping");
    check(near(adv.item<double>(), 0.5), "success bookkeeping");
  }
  // momentum: x = 0.53, x_prev = 0.52, eps 0.1: z = 0.56; 0.53 + 0.75*0.03 + 0.25*0.01 = 0.555
  {
    auto x_prev = img(0.52), best_loss = vec(9.0), best_x = img(0.0), best_grad = img(0.0), adv = img(0.0);
    auto out = call(img(0.53), x_prev, img(1.0), img(0.5), vec(0.1), vec(0.03), vec(1.0), flag(false), flag(false),
                    best_loss, best_x, best_grad, adv, 0.75, false);
    check(near(out.item<double>(), 0.555), "momentum step");
    check(near(x_prev.item<double>(), 0.53), "x_prev becomes the base point");
    check(near(adv.item<double>(), 0.0) && near(best_loss.item<double>(), 9.0), "no bookkeeping without progress");
  }
  // restore: base = best_x 0.45, g = best_grad < 0: 0.45 - 0.05 = 0.40 (inside eps 0.2 of 0.5)
  {
    auto x_prev = img(0.6), best_loss = vec(0.0), best_x = img(0.45), best_grad = img(-1.0), adv = img(0.5);
    auto out = call(img(0.6), x_prev, img(1.0), img(0.5), vec(0.2), vec(0.05), vec(-1.0), flag(false), flag(true),
                    best_loss, best_x, best_grad, adv, 1.0, false);
    check(near(out.item<double>(), 0.40), "restore from the best point");
  }
  // l2: grad (3, 4) -> unit (0.6, 0.8), step 0.1 then projection onto radius 0.05: (0.53, 0.54)
  {
    auto x = at::full({1, 2}, 0.5, at::kDouble);
    auto g = at::empty({1, 2}, at::kDouble);
    g[0][0] = 3.0;
    g[0][1] = 4.0;
    auto x_prev = x.clone(), best_loss = vec(1.0), best_x = at::zeros({1, 2}, at::kDouble);
    auto best_grad = at::zeros({1, 2}, at::kDouble), adv = at::zeros({1, 2}, at::kDouble);
    auto out = call(x, x_prev, g, x.clone(), vec(0.05), vec(0.1), vec(0.0), flag(false), flag(false), best_loss,
                    best_x, best_grad, adv, 1.0, true);
    check(near(out[0][0].item<double>(), 0.53) && near(out[0][1].item<double>(), 0.54), "l2 step and projection");
  }
  // the box: x0 = 0.99, step up by 0.05 -> clamped to 1
  {
    auto x_prev = img(0.99), best_loss = vec(0.0), best_x = img(0.0), best_grad = img(0.0), adv = img(0.0);
    auto out = call(img(0.99), x_prev, img(1.0), img(0.99), vec(0.1), vec(0.05), vec(0.0), flag(false), flag(false),
                    best_loss, best_x, best_grad, adv, 1.0, false);
    check(near(out.item<double>(), 1.0), "clamp to [0, 1]");
  }
  if (failures == 0) std::printf("test_pgd_step: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
