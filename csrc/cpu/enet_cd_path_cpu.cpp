// CPU kernel of enet_cd_path (see csrc/enet_cd_path.cpp and ops/enet_cd_path.py): the path loop of
// glm/cd.py in C++, so a λ costs its sweeps and one certificate, not a dozen Python tensor ops.
#include <ATen/ATen.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>
#include <vector>

#include "../macros.h"
#include "inplace.h"
#include "enet_cd_impl.h"

using namespace sb_enet_cd;

std::tuple<at::Tensor, at::Tensor, at::Tensor> enet_cd_path_cpu(
    const at::Tensor& Xt_in, const at::Tensor& target_in, const at::Tensor& sw_in, const at::Tensor& varies_in,
    const at::Tensor& lams_in, const at::Tensor& weight, const at::Tensor& bias, double alpha, double gap_tol,
    int64_t max_sweeps, double first_tol, int64_t first_class, bool predict, bool screening) {
  for (const auto* t : {&Xt_in, &target_in, &sw_in, &varies_in, &lams_in, &weight, &bias}) SB_CHECK_CPU(*t);
  SB_CHECK_DIM(Xt_in, 2);
  SB_CHECK_DIM(weight, 2);
  TORCH_CHECK(Xt_in.scalar_type() == at::kDouble && weight.scalar_type() == at::kDouble &&
                  bias.scalar_type() == at::kDouble && lams_in.scalar_type() == at::kDouble,
              "enet_cd_path works in float64: Xt ", Xt_in.scalar_type(), ", weight ", weight.scalar_type(), ", bias ",
              bias.scalar_type(), ", lams ", lams_in.scalar_type());
  TORCH_CHECK(target_in.scalar_type() == at::kLong, "target must be int64, got ", target_in.scalar_type());
  TORCH_CHECK(varies_in.scalar_type() == at::kBool, "varies must be bool, got ", varies_in.scalar_type());
  const int64_t d = Xt_in.size(0), n = Xt_in.size(1), k = weight.size(0), L = lams_in.numel();
  TORCH_CHECK(weight.size(1) == d, "weight must be [k, ", d, "], got ",
              weight.sizes());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == k, "bias must be [", k, "], got ",
              bias.sizes());
  TORCH_CHECK(target_in.dim() == 1 && target_in.size(0) == n, "target must be [", n, "], got ", target_in.sizes());
  TORCH_CHECK(varies_in.dim() == 1 && varies_in.size(0) == d, "varies must be [", d, "], got ", varies_in.sizes());
  TORCH_CHECK(sw_in.numel() == 0 || (sw_in.dim() == 1 && sw_in.size(0) == n && sw_in.scalar_type() == at::kDouble),
              "sample_weight must be empty or float64 [", n, "], got ", sw_in.sizes(), " ", sw_in.scalar_type());
  TORCH_CHECK(first_class == 0 || (first_class == 1 && k == 2),
              "first_class must be 0, or 1 with k = 2 (the binomial form), got ", first_class, " with k = ", k);
  TORCH_CHECK(alpha >= 0 && alpha <= 1, "alpha must lie in [0, 1], got ", alpha);
  const at::Tensor Xt = Xt_in.contiguous(), target = target_in.contiguous(), sw = sw_in.contiguous();
  const at::Tensor varies_t = varies_in.contiguous(), lams_t = lams_in.contiguous();
  const double* X = Xt.data_ptr<double>();
  const int64_t* y = target.data_ptr<int64_t>();
  const double* s = sw.numel() ? sw.data_ptr<double>() : nullptr;
  const bool* varies = varies_t.data_ptr<bool>();
  const double* lams = lams_t.data_ptr<double>();
  for (int64_t t = 0; t < L; ++t)
    TORCH_CHECK(lams[t] > 0 && (t == 0 || lams[t] < lams[t - 1]), "lams must be positive and strictly decreasing");
  const shortcutbench::InPlace weight_io(weight), bias_io(bias);  // any layout
  double* W = weight_io.data<double>();
  double* b = bias_io.data<double>();
  const bool binomial = first_class == 1;
  const double alpha_k = binomial ? 2 * alpha / (1 + alpha) : alpha;  // research note §3

  auto Wpath = at::zeros({L, k, d}, weight.options());
  auto bpath = at::zeros({L, k}, weight.options());
  auto stats = at::zeros({L, 9}, weight.options());
  std::vector<double> E(k * n), G(d * k, 0.0), W0(k * d), b0(k), Wp(k * d), bp(k);
  std::vector<int64_t> cols;
  std::vector<char> active(d);
  auto logits = [&]() {  // E = W X + b
    for (int64_t c = 0; c < k; ++c) {
      double* e = E.data() + c * n;
      std::fill(e, e + n, b[c]);
      for (int64_t j = 0; j < d; ++j) {
        const double w = W[c * d + j];
        if (w == 0) continue;
        const double* x = X + j * n;
        for (int64_t i = 0; i < n; ++i) e[i] += w * x[i];
      }
    }
  };
  logits();
  double prev_lam = NAN, lam0 = NAN, prev_dual = NAN;
  bool have_before = false;
  for (int64_t t = 0; t < L; ++t) {
    const auto t_start = std::chrono::steady_clock::now();
    const double lam = lams[t], lam_k = binomial ? lam * (1 + alpha) / 2 : lam;
    // the predictor (path._predict): W + r (W − W_before), r = log(λ_prev/λ)/log(λ_before/λ_prev) ∈ (0, 2];
    // weights that would leave zero or change sign stay zero
    bool predicted = false;
    if (predict && have_before && lam0 > prev_lam && prev_lam > lam) {
      const double r = std::log(prev_lam / lam) / std::log(lam0 / prev_lam);
      if (r > 0 && r <= 2) {
        for (int64_t q = 0; q < k * d; ++q) {
          const double v = W[q] + r * (W[q] - W0[q]);
          Wp[q] = (W[q] != 0 && (v > 0) == (W[q] > 0) && v != 0) ? v : 0.0;
        }
        for (int64_t c = 0; c < k; ++c) bp[c] = b[c] + r * (b[c] - b0[c]);
        predicted = true;
      }
    }
    if (t > 0) {  // the previous solution becomes the predictor's "before"
      std::copy(W, W + k * d, W0.begin());
      std::copy(b, b + k, b0.begin());
      lam0 = prev_lam;
      have_before = true;
    }
    if (predicted) {
      std::copy(Wp.begin(), Wp.end(), W);
      std::copy(bp.begin(), bp.end(), b);
      logits();
    }
    // sequential strong rule on the previous λ's certificate gradient (Tibshirani et al. 2012)
    for (int64_t j = 0; j < d; ++j) {
      bool on = true;
      if (screening && t > 0) {
        double gmax = 0;
        bool nz = false;
        for (int64_t c = 0; c < k; ++c) {
          gmax = std::max(gmax, std::abs(G[j * k + c]));
          nz = nz || W[c * d + j] != 0;
        }
        on = nz || gmax > alpha * (2 * lam - prev_lam);
      }
      active[j] = on && varies[j];
    }
    double tol = first_tol * gap_tol * (t > 0 ? prev_dual : 1.0);
    int64_t sweeps = 0, checks = 0;
    bool converged = false;
    double cert[5];
    while (true) {
      cols.clear();
      for (int64_t j = 0; j < d; ++j)
        if (active[j]) cols.push_back(j);
      const auto st = run_sweeps(X, y, s, n, d, k, cols.data(), static_cast<int64_t>(cols.size()), W, b, E.data(),
                                 lam_k, alpha_k, max_sweeps - sweeps, tol, first_class);
      sweeps += st.sweeps;
      certificate(X, y, s, n, d, k, W, b, E.data(), lam_k, alpha_k, first_class, G.data(), cert);
      ++checks;
      bool viol = false;  // KKT of the screened features: |G_jc| ≤ λα (the binomial form's λ'α' = λα)
      for (int64_t j = 0; j < d; ++j) {
        if (active[j] || !varies[j]) continue;
        for (int64_t c = 0; c < k; ++c)
          if (std::abs(G[j * k + c]) > lam * alpha * (1 + 1e-6)) {
            active[j] = 1;
            viol = true;
            break;
          }
      }
      if (viol && sweeps < max_sweeps) continue;
      if (cert[2] <= gap_tol * std::max(cert[1], 1e-300)) {
        converged = true;
        break;
      }
      if (sweeps >= max_sweeps || !std::isfinite(cert[2])) break;
      tol /= 10;  // the sweeps settled above the target: settle further
    }
    double* Wt = Wpath.data_ptr<double>() + t * k * d;
    std::copy(W, W + k * d, Wt);
    std::copy(b, b + k, bpath.data_ptr<double>() + t * k);
    double* st = stats.data_ptr<double>() + t * 9;
    st[0] = static_cast<double>(sweeps);
    st[1] = static_cast<double>(checks);
    st[2] = converged ? 1.0 : 0.0;
    for (int q = 0; q < 5; ++q) st[3 + q] = cert[q];
    st[8] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    prev_lam = lam;
    prev_dual = cert[1];
  }
  weight_io.commit();
  bias_io.commit();
  return {Wpath, bpath, stats};
}

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("enet_cd_path", &enet_cd_path_cpu); }
