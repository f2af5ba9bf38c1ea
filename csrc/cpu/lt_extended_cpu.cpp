// CPU kernel of lt_extended (schema in ../lt_extended.cpp, meaning in ops/lt_extended.py).
//
// Why it is fast: the conv is linear and every code digit moves one distinct pixel, so a sample's
// pre-activations z[f, q] (filter f, pooling position q) are base + outer-digit part + inner-digit
// part. The inner digits (K^P_in <= 8192 codes) are tabulated once per base image (structure of
// arrays, [f*Q+q][inner code]); the outer part is summed once per outer code. The loop over
// inner codes is then a few adds and maxes per sample, vectorisable, with OpenMP over outer
// codes. The gradient is decomposed the same way: per-sample dL/dlogit at each filter's argmax
// position is accumulated per (f, q, inner code) and per (f, q, outer digit, value), and
// contracted with the pixel offsets once per base image. Nothing of size B*K^P is stored.
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <limits>
#include <mutex>
#include <vector>

#include "../lt_extended.h"
#include "../macros.h"
#include "isa.h"

namespace {

constexpr int64_t kMaxInnerCodes = 8192;  // inner table and per-thread gradient buffers fit in L2
constexpr int64_t kBlock = 512;           // inner codes per vectorised block
constexpr int64_t kMaxQ = 1024;           // pooling windows per filter (canvas - k + 1)^2

// Per-thread sums; each thread owns one slot (no sharing in the hot loop).
struct Accum {
  double loss = 0.0;
  int64_t correct = 0;
  double min_margin = std::numeric_limits<double>::infinity();
  std::vector<double> s_inner;  // [FQ][n_inner]: sum of dL/dlogit_f where argmax_f == q, per inner code
  std::vector<double> t_outer;  // [FQ][P_out][K]: the same, per outer digit and the value it reads
};

template <typename T>
struct Problem {
  int64_t B, n, k, P, K, Q, qside, FQ;
  int64_t p_in, p_out, n_inner, n_outer, per_base;
  const T* bases;
  const int64_t* labels;
  const int64_t* pixels;
  const T* offsets;
  const T* weight;
  T bias[2];
  bool clip;
};

// Pixel (r, c) seen by window q = (qi, qj) of a k x k filter lies at filter tap (r - qi, c - qj).
template <typename T>
inline double tap(const Problem<T>& pr, int64_t f, int64_t q, int64_t pixel) {
  const int64_t qi = q / pr.qside, qj = q % pr.qside, r = pixel / pr.n, c = pixel % pr.n;
  const int64_t u = r - qi, v = c - qj;
  if (u < 0 || v < 0 || u >= pr.k || v >= pr.k) return 0.0;
  return static_cast<double>(pr.weight[(f * pr.k + u) * pr.k + v]);
}

template <typename T>
inline T clamp01(T x) {
  return std::min(std::max(x, T(0)), T(1));
}

// Per base image: effective image and offsets, per-digit window coefficients, base
// pre-activations and the inner-code table. Built lazily by each thread for the bases it visits.
struct BaseTables {
  int64_t b = -1, y = 0;
  std::vector<double> img, delta, coef, zbase;
};

template <typename T>
void build_tables(const Problem<T>& pr, int64_t b, BaseTables& tb, std::vector<T>& inner) {
  const int64_t n = pr.n, P = pr.P, K = pr.K, Q = pr.Q, FQ = pr.FQ, NI = pr.n_inner;
  tb.b = b;
  tb.y = pr.labels[b];
  // Effective image and offsets: with clip, pixel p is clamp(base_p + delta), so its change is
  // clamp(base_p + delta) - clamp(base_p): still one independent term per digit.
  std::vector<double>& img = tb.img;
  std::vector<double>& delta = tb.delta;
  std::vector<double>& coef = tb.coef;
  std::vector<double>& zbase = tb.zbase;
  img.assign(n * n, 0.0);
  delta.assign(P * K, 0.0);
  coef.assign(P * FQ, 0.0);
  zbase.assign(FQ, 0.0);
  inner.resize(FQ * NI);
  for (int64_t p = 0; p < n * n; ++p) {
    const T v = pr.bases[b * n * n + p];
    img[p] = pr.clip ? clamp01(v) : v;
  }
  for (int64_t d = 0; d < P; ++d) {
    const int64_t pix = pr.pixels[b * P + d];
    for (int64_t kk = 0; kk < K; ++kk) {
      const T o = pr.offsets[(b * P + d) * K + kk];
      const T raw = pr.bases[b * n * n + pix];
      delta[d * K + kk] = pr.clip ? static_cast<double>(clamp01<T>(raw + o)) - img[pix] : static_cast<double>(o);
    }
  }
  // coef[d][fq]: d(z[fq]) / d(pixel of digit d).
  for (int64_t d = 0; d < P; ++d)
    for (int64_t f = 0; f < 2; ++f)
      for (int64_t q = 0; q < Q; ++q) coef[d * FQ + f * Q + q] = tap(pr, f, q, pr.pixels[b * P + d]);
  for (int64_t f = 0; f < 2; ++f)
    for (int64_t q = 0; q < Q; ++q)
      for (int64_t p = 0; p < n * n; ++p) zbase[f * Q + q] += tap(pr, f, q, p) * img[p];
  // Inner table, built digit by digit: code c with top digit t = table[c - t*K^d] + its term.
  {
    std::vector<double> tab(FQ * NI, 0.0);
    int64_t span = 1;
    for (int64_t d = 0; d < pr.p_in; ++d) {
      for (int64_t t = K - 1; t >= 0; --t)
        for (int64_t c = 0; c < span; ++c)
          for (int64_t fq = 0; fq < FQ; ++fq)
            tab[fq * NI + t * span + c] = tab[fq * NI + c] + delta[d * K + t] * coef[d * FQ + fq];
      span *= K;
    }
    for (int64_t i = 0; i < FQ * NI; ++i) inner[i] = static_cast<T>(tab[i]);
  }
}

// Adds the per-code gradient sums of one base (then zeroed) into the thread's filter gradient:
// dW[f][u][v] = sum over samples of dL/dlogit_f * pixel at tap (u, v) of f's argmax window.
template <typename T>
void contract(const Problem<T>& pr, const BaseTables& tb, Accum& acc, double* grad_w, double* grad_b) {
  const int64_t n = pr.n, P = pr.P, K = pr.K, Q = pr.Q, NI = pr.n_inner;
  const int64_t b = tb.b, k = pr.k, P_out = pr.p_out;
  const std::vector<double>& img = tb.img;
  const std::vector<double>& delta = tb.delta;
  const std::vector<double>& s_in = acc.s_inner;
  const std::vector<double>& t_out = acc.t_outer;
  for (int64_t f = 0; f < 2; ++f) {
    for (int64_t q = 0; q < Q; ++q) {
      const int64_t fq = f * Q + q, qi = q / pr.qside, qj = q % pr.qside;
      const double* s = s_in.data() + fq * NI;
      double total = 0.0;
      for (int64_t i = 0; i < NI; ++i) total += s[i];
      grad_b[f] += total;
      for (int64_t u = 0; u < k; ++u)
        for (int64_t v = 0; v < k; ++v) grad_w[(f * k + u) * k + v] += total * img[(qi + u) * n + qj + v];
      auto add_digit = [&](int64_t d, const double* per_value) {
        const int64_t pix = pr.pixels[b * P + d], u = pix / n - qi, v = pix % n - qj;
        if (u < 0 || v < 0 || u >= k || v >= k) return;
        double g = 0.0;
        for (int64_t kk = 0; kk < K; ++kk) g += per_value[kk] * delta[d * K + kk];
        grad_w[(f * k + u) * k + v] += g;
      };
      std::vector<double> per_value(K);
      int64_t span = 1;
      for (int64_t d = 0; d < pr.p_in; ++d) {
        std::fill(per_value.begin(), per_value.end(), 0.0);
        for (int64_t i = 0; i < NI; ++i) per_value[(i / span) % K] += s[i];
        add_digit(d, per_value.data());
        span *= K;
      }
      for (int64_t j = 0; j < P_out; ++j) add_digit(pr.p_in + j, t_out.data() + (fq * P_out + j) * K);
    }
  }
  std::fill(acc.s_inner.begin(), acc.s_inner.end(), 0.0);
  std::fill(acc.t_outer.begin(), acc.t_outer.end(), 0.0);
}

// One copy of the hot loop per ISA path (isa.h). The build targets baseline x86-64; the wider
// copies are compiled under a target pragma and only run where the CPU has the instructions.
#define SB_ISA_KERNEL "lt_extended_kernel.h"
#include "isa_copies.h"

template <typename T>
using RunOuter = void (*)(const Problem<T>&, const BaseTables&, const std::vector<T>&, int64_t, int64_t, int64_t,
                          bool, bool, int64_t, Accum&, std::vector<int64_t>&);

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> lt_extended_cpu(
    const at::Tensor& bases, const at::Tensor& labels, const at::Tensor& pixels, const at::Tensor& offsets,
    const at::Tensor& weight, const c10::optional<at::Tensor>& bias, int64_t start, int64_t stop, bool clip,
    bool with_loss, bool with_grad, int64_t max_misclassified) {
  for (const at::Tensor* t : {&bases, &labels, &pixels, &offsets, &weight}) SB_CHECK_CPU(*t);
  const auto sz = shortcutbench::check_lt_extended_inputs(bases, labels, pixels, offsets, weight, bias, start, stop,
                                                          max_misclassified);
  const int64_t B = sz.B, n = sz.n, P = sz.P, K = sz.K, per_base = sz.per_base;
  auto lab = labels.contiguous();
  auto pix = pixels.contiguous();
  const int64_t* lp = lab.data_ptr<int64_t>();
  const int64_t* pp = pix.data_ptr<int64_t>();
  const int64_t k = weight.size(1), qside = n - k + 1;
  int64_t p_in = 0, n_inner = 1;
  while (p_in < P && K > 1 && n_inner * K <= kMaxInnerCodes) { n_inner *= K; ++p_in; }
  if (K == 1) p_in = P;
  const int64_t p_out = P - p_in;
  TORCH_CHECK((n - k + 1) * (n - k + 1) <= kMaxQ, "at most ", kMaxQ, " pooling windows per filter, got ",
              (n - k + 1) * (n - k + 1), " for a ", n, "x", n, " canvas and ", k, "x", k, " filters");
  TORCH_CHECK(p_out <= 64, "too many perturbed pixels: ", P);

  auto dopt = at::TensorOptions().dtype(at::kDouble);
  std::vector<double> grad_w(2 * k * k, 0.0), grad_b(2, 0.0);
  double loss = 0.0, min_margin = std::numeric_limits<double>::infinity();
  int64_t correct = 0;
  std::vector<std::vector<int64_t>> wrong_chunks;
  std::mutex wrong_mutex;
  with_loss = with_loss || with_grad;

  AT_DISPATCH_FLOATING_TYPES(bases.scalar_type(), "lt_extended_cpu", [&] {
    auto bs = bases.contiguous();
    auto of = offsets.contiguous();
    auto w = weight.contiguous();
    Problem<scalar_t> pr{B, n, k, P, K, qside * qside, qside, 2 * qside * qside, p_in, p_out, n_inner,
                         per_base / n_inner, per_base, bs.data_ptr<scalar_t>(), lp, pp, of.data_ptr<scalar_t>(),
                         w.data_ptr<scalar_t>(), {scalar_t(0), scalar_t(0)}, clip};
    if (bias.has_value() && bias->defined()) {
      auto bb = bias->contiguous();
      pr.bias[0] = bb.data_ptr<scalar_t>()[0];
      pr.bias[1] = bb.data_ptr<scalar_t>()[1];
    }
    const int nthreads = std::max(1, at::get_num_threads());
    std::vector<Accum> acc(nthreads);
    std::vector<std::vector<double>> tgw(nthreads, std::vector<double>(2 * k * k, 0.0)), tgb(nthreads, std::vector<double>(2, 0.0));
    if (with_grad)
      for (auto& a : acc) {
        a.s_inner.assign(pr.FQ * n_inner, 0.0);
        a.t_outer.assign(pr.FQ * p_out * K, 0.0);
      }
    // Work items: the outer codes of every base the range touches, flattened, so one parallel
    // region (one barrier) covers the whole pass.
    const int64_t item_lo = start / n_inner, item_hi = stop > start ? (stop - 1) / n_inner + 1 : item_lo;
    const int64_t n_outer = per_base / n_inner;
    const int64_t grain = std::max<int64_t>(1, (item_hi - item_lo + nthreads - 1) / nthreads);
    const RunOuter<scalar_t> run = SB_ISA_PICK(run_outer<scalar_t>);
    at::parallel_for(item_lo, item_hi, grain, [&](int64_t it_begin, int64_t it_end) {
      const int tid = at::get_thread_num();
      Accum& a = acc[tid];
      BaseTables tb;
      std::vector<scalar_t> inner;
      std::vector<int64_t> wrong;
      for (int64_t it = it_begin; it < it_end; ++it) {
        const int64_t b = it / n_outer, o = it % n_outer;
        if (b != tb.b) {
          if (with_grad && tb.b >= 0) contract(pr, tb, a, tgw[tid].data(), tgb[tid].data());
          build_tables(pr, b, tb, inner);
        }
        const int64_t lo = std::max<int64_t>(start - b * per_base, 0);
        const int64_t hi = std::min<int64_t>(stop - b * per_base, per_base);
        run(pr, tb, inner, o, lo, hi, with_loss, with_grad, max_misclassified, a, wrong);
      }
      if (with_grad && tb.b >= 0) contract(pr, tb, a, tgw[tid].data(), tgb[tid].data());
      if (!wrong.empty()) {
        std::lock_guard<std::mutex> lock(wrong_mutex);
        wrong_chunks.push_back(std::move(wrong));
      }
    });
    for (int t = 0; t < nthreads; ++t) {
      for (int64_t i = 0; i < 2 * k * k; ++i) grad_w[i] += tgw[t][i];
      grad_b[0] += tgb[t][0];
      grad_b[1] += tgb[t][1];
    }
    for (const auto& a : acc) {
      loss += a.loss;
      correct += a.correct;
      min_margin = std::min(min_margin, a.min_margin);
    }
  });

  std::vector<int64_t> wrong;
  for (auto& c : wrong_chunks) wrong.insert(wrong.end(), c.begin(), c.end());
  std::sort(wrong.begin(), wrong.end());
  if (static_cast<int64_t>(wrong.size()) > max_misclassified) wrong.resize(max_misclassified);

  auto gw = at::empty({2, k, k}, dopt);
  std::copy(grad_w.begin(), grad_w.end(), gw.data_ptr<double>());
  auto gb = at::empty({2}, dopt);
  std::copy(grad_b.begin(), grad_b.end(), gb.data_ptr<double>());
  auto mis = at::empty({static_cast<int64_t>(wrong.size())}, at::TensorOptions().dtype(at::kLong));
  std::copy(wrong.begin(), wrong.end(), mis.data_ptr<int64_t>());
  if (!with_grad) {
    gw.zero_();
    gb.zero_();
  }
  return {at::scalar_tensor(with_loss ? loss : 0.0, dopt), gw, gb,
          at::scalar_tensor(correct, at::TensorOptions().dtype(at::kLong)), at::scalar_tensor(min_margin, dopt),
          mis};
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("lt_extended", &lt_extended_cpu); }
