#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../macros.h"
#include "../pgd_step.h"
#include "inplace.h"

namespace {

// Projection of one sample onto the eps-ball around x0 then [0, 1], written into out.
// l2: delta / (||delta|| + 1e-12) * min(eps, ||delta||) (AutoAttack's form); linf: clip.
template <typename T>
inline void project(const T* v, const T* x0, T eps, bool l2, int64_t d, T* out) {
  if (l2) {
    T n2 = 0;
    for (int64_t j = 0; j < d; ++j) {
      const T dj = v[j] - x0[j];
      n2 += dj * dj;
    }
    const T n = std::sqrt(n2);
    const T scale = std::min(eps, n) / (n + T(1e-12));
    for (int64_t j = 0; j < d; ++j)
      out[j] = std::min(std::max(x0[j] + (v[j] - x0[j]) * scale, T(0)), T(1));
  } else {
    for (int64_t j = 0; j < d; ++j) {
      const T c = std::min(std::max(v[j], x0[j] - eps), x0[j] + eps);
      out[j] = std::min(std::max(c, T(0)), T(1));
    }
  }
}

template <typename T>
inline T sign_of(T v) { return T((v > T(0)) - (v < T(0))); }

template <typename T>
void pgd_step_kernel(const T* x, T* x_prev, const T* grad, const T* x0, const T* eps, const T* step,
                     const T* loss, const bool* success, const bool* restore, T* best_loss, T* best_x,
                     T* best_grad, T* adv_x, T* out, int64_t b, int64_t d, T alpha, bool l2) {
  at::parallel_for(0, b, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> z(d), v(d);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t o = i * d;
      const T* xi = x + o;
      const T* gi = grad + o;
      const T* x0i = x0 + o;
      // 1. bookkeeping (strict improvement; latest success wins)
      if (loss[i] > best_loss[i]) {
        best_loss[i] = loss[i];
        std::copy(xi, xi + d, best_x + o);
        std::copy(gi, gi + d, best_grad + o);
      }
      if (success[i]) std::copy(xi, xi + d, adv_x + o);
      // 2. base point and gradient
      const T* base = restore[i] ? best_x + o : xi;
      const T* g = restore[i] ? best_grad + o : gi;
      // 3. step, project, momentum, project
      const T s = step[i];
      if (l2) {
        T n2 = 0;
        for (int64_t j = 0; j < d; ++j) n2 += g[j] * g[j];
        const T inv = T(1) / (std::sqrt(n2) + T(1e-12));
        for (int64_t j = 0; j < d; ++j) v[j] = base[j] + s * g[j] * inv;
      } else {
        for (int64_t j = 0; j < d; ++j) v[j] = base[j] + s * sign_of(g[j]);
      }
      project(v.data(), x0i, eps[i], l2, d, z.data());
      T* pi = x_prev + o;
      for (int64_t j = 0; j < d; ++j)
        v[j] = base[j] + alpha * (z[j] - base[j]) + (T(1) - alpha) * (base[j] - pi[j]);
      project(v.data(), x0i, eps[i], l2, d, out + o);
      // 4. the base becomes the previous point (copy after use: base may alias best_x)
      std::copy(base, base + d, pi);
    }
  });
}

at::Tensor pgd_step_cpu(const at::Tensor& x, at::Tensor& x_prev, const at::Tensor& grad, const at::Tensor& x_orig,
                        const at::Tensor& eps, const at::Tensor& step, const at::Tensor& loss,
                        const at::Tensor& success, const at::Tensor& restore, at::Tensor& best_loss,
                        at::Tensor& best_x, at::Tensor& best_grad, at::Tensor& adv_x, double alpha, bool l2) {
  SB_CHECK_CPU(x);
  shortcutbench::check_pgd_step_inputs(x, x_prev, grad, x_orig, eps, step, loss, success, restore, best_loss, best_x,
                                       best_grad, adv_x);
  const int64_t b = x.size(0);
  // any layout in, contiguous buffers for the kernel (and a contiguous x_next, like the reference)
  const shortcutbench::InPlace prev_io(x_prev), bl_io(best_loss), bx_io(best_x), bg_io(best_grad), adv_io(adv_x);
  auto xc = x.contiguous(), gc = grad.contiguous(), x0c = x_orig.contiguous();
  auto ec = eps.contiguous(), sc = step.contiguous(), lc = loss.contiguous();
  auto okc = success.contiguous(), rc = restore.contiguous();
  auto out = at::empty_like(xc, at::MemoryFormat::Contiguous);
  const int64_t d = b > 0 ? xc.numel() / b : 0;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pgd_step_cpu", [&] {
    pgd_step_kernel<scalar_t>(xc.data_ptr<scalar_t>(), prev_io.data<scalar_t>(), gc.data_ptr<scalar_t>(),
                              x0c.data_ptr<scalar_t>(), ec.data_ptr<scalar_t>(), sc.data_ptr<scalar_t>(),
                              lc.data_ptr<scalar_t>(), okc.data_ptr<bool>(), rc.data_ptr<bool>(),
                              bl_io.data<scalar_t>(), bx_io.data<scalar_t>(), bg_io.data<scalar_t>(),
                              adv_io.data<scalar_t>(),
                              out.data_ptr<scalar_t>(), b, d, static_cast<scalar_t>(alpha), l2);
  });
  for (const auto* io : {&prev_io, &bl_io, &bx_io, &bg_io, &adv_io}) io->commit();
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("pgd_step", &pgd_step_cpu); }
