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

#include "../macros.h"

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

inline bool mul_overflows(int64_t a, int64_t b, int64_t* out) { return __builtin_mul_overflow(a, b, out); }

// softplus(d) = log(1 + e^d) and sigmoid(d), both from t = e^{-|d|} (no overflow). The float
// version is branch-free polynomial code so the block loop vectorises (no libm calls):
// e^x by 2^n * p(r), |r| <= ln2/2, degree-6 Taylor (rel. error < 2e-8); log(1 + t) for t in (0, 1]
// as 2 atanh(s), s = t / (2 + t) <= 1/3, odd series to s^15 (rel. error < 2e-9).
#pragma omp declare simd notinbranch
inline float softplus_sigmoid_f(float d, float* prob) {
  const float x = std::max(-std::abs(d), -87.0f);
  const float nf = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(nf) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const float t = p * scale;
  const float s = t / (2.0f + t), s2 = s * s;
  float q = 1.0f / 15.0f;
  q = q * s2 + 1.0f / 13.0f;
  q = q * s2 + 1.0f / 11.0f;
  q = q * s2 + 1.0f / 9.0f;
  q = q * s2 + 1.0f / 7.0f;
  q = q * s2 + 1.0f / 5.0f;
  q = q * s2 + 1.0f / 3.0f;
  q = q * s2 + 1.0f;
  *prob = (d >= 0.0f ? 1.0f : t) / (1.0f + t);
  return std::max(d, 0.0f) + 2.0f * s * q;
}

inline double softplus_sigmoid_d(double d, double* prob) {
  const double t = std::exp(-std::abs(d));
  *prob = (d >= 0.0 ? 1.0 : t) / (1.0 + t);
  return std::max(d, 0.0) + std::log1p(t);
}

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

// One outer code o of base tb.b over inner codes [max(lo - o*NI, 0), min(hi - o*NI, NI)).
template <typename T>
void run_outer(const Problem<T>& pr, const BaseTables& tb, const std::vector<T>& inner, int64_t o, int64_t lo,
               int64_t hi, bool with_loss, bool with_grad, int64_t max_wrong, Accum& a, std::vector<int64_t>& wrong) {
  const int64_t K = pr.K, Q = pr.Q, FQ = pr.FQ, NI = pr.n_inner;
  const int64_t b = tb.b, y = tb.y;
  const std::vector<double>& zbase = tb.zbase;
  const std::vector<double>& delta = tb.delta;
  const std::vector<double>& coef = tb.coef;
  const T b0 = pr.bias[0], b1 = pr.bias[1];
  T zo[2 * kMaxQ];
  alignas(64) T dd[kBlock], gp[kBlock], best0[kBlock], best1[kBlock];
  alignas(64) int32_t arg0[kBlock], arg1[kBlock];
  double s_out[2 * kMaxQ];
  int64_t digits[64];
  double z[2 * kMaxQ];
  for (int64_t fq = 0; fq < FQ; ++fq) z[fq] = zbase[fq];
  int64_t code = o;
  for (int64_t j = 0; j < pr.p_out; ++j) {
    const int64_t d = pr.p_in + j, digit = code % K;
    code /= K;
    digits[j] = digit;
    const double dv = delta[d * K + digit];
    if (dv != 0.0)
      for (int64_t fq = 0; fq < FQ; ++fq) z[fq] += dv * coef[d * FQ + fq];
  }
  for (int64_t fq = 0; fq < FQ; ++fq) zo[fq] = static_cast<T>(z[fq]);
  std::fill(s_out, s_out + FQ, 0.0);
  const int64_t i_lo = std::max<int64_t>(lo - o * NI, 0), i_hi = std::min<int64_t>(hi - o * NI, NI);
  for (int64_t i0 = i_lo; i0 < i_hi; i0 += kBlock) {
    const int64_t m = std::min(kBlock, i_hi - i0);
    // Phase A (vectorised over the block, one position at a time so every loop is a plain
    // elementwise one): logits, d = logit_other - logit_true, argmax of each filter.
    int32_t correct = 0;
    T minm = std::numeric_limits<T>::infinity();
    const T sgn = y == 0 ? T(1) : T(-1);  // d = sgn * (l1 - l0)
    const bool tie_ok = y == 0;           // argmax ties go to class 0: right iff d < 0, or d == 0 for y = 0
    T* ddp = dd;
    T* b0p = best0;
    T* b1p = best1;
    int32_t* a0p = arg0;
    int32_t* a1p = arg1;
    const T* in0 = inner.data() + i0;
    const T* in1 = inner.data() + Q * NI + i0;
    const T z0 = zo[0], z1 = zo[Q];
#pragma omp simd
    for (int64_t j = 0; j < m; ++j) {
      b0p[j] = z0 + in0[j];
      b1p[j] = z1 + in1[j];
      a0p[j] = 0;
      a1p[j] = 0;
    }
    for (int64_t q = 1; q < Q; ++q) {  // strict >: the first maximal position, like torch.max
      const T zq0 = zo[q], zq1 = zo[Q + q];
      const T* r0 = in0 + q * NI;
      const T* r1 = in1 + q * NI;
      const int32_t qq = static_cast<int32_t>(q);
#pragma omp simd
      for (int64_t j = 0; j < m; ++j) {
        const T v0 = zq0 + r0[j], v1 = zq1 + r1[j];
        const bool up0 = v0 > b0p[j], up1 = v1 > b1p[j];
        a0p[j] = up0 ? qq : a0p[j];
        b0p[j] = up0 ? v0 : b0p[j];
        a1p[j] = up1 ? qq : a1p[j];
        b1p[j] = up1 ? v1 : b1p[j];
      }
    }
#pragma omp simd reduction(+ : correct) reduction(min : minm)
    for (int64_t j = 0; j < m; ++j) {
      const T d = sgn * ((b1p[j] + b1) - (b0p[j] + b0));
      correct += static_cast<int32_t>((d < T(0)) | ((d == T(0)) & tie_ok));
      minm = std::min(minm, -d);
      ddp[j] = d;
    }
    a.correct += correct;
    a.min_margin = std::min(a.min_margin, static_cast<double>(minm));
    if (max_wrong > 0 && correct < m && static_cast<int64_t>(wrong.size()) < max_wrong) {
      for (int64_t j = 0; j < m && static_cast<int64_t>(wrong.size()) < max_wrong; ++j) {
    const bool ok = dd[j] < T(0) || (dd[j] == T(0) && y == 0);
    if (!ok) wrong.push_back(b * pr.per_base + o * NI + i0 + j);
      }
    }
    if (!with_loss) continue;
    // Phase B: loss = softplus(d); p = sigmoid(d) = probability of the other class.
    double loss = 0.0;
    T* gpp = gp;
    if constexpr (std::is_same<T, float>::value) {
      float lsum = 0.0f;  // a block of <= 512 terms in float, then into the double total
#pragma omp simd reduction(+ : lsum)
      for (int64_t j = 0; j < m; ++j) lsum += softplus_sigmoid_f(ddp[j], &gpp[j]);
      loss = lsum;
    } else {
      for (int64_t j = 0; j < m; ++j) loss += softplus_sigmoid_d(ddp[j], &gpp[j]);
    }
    a.loss += loss;
    if (!with_grad) continue;
    // Phase C: dL/dlogit_true = -p, dL/dlogit_other = +p, routed to each filter's argmax
    // (one masked elementwise pass per position; int32 masks against an int32 position so the
    // loop vectorises).
    const double s0 = y == 0 ? -1.0 : 1.0;
    for (int64_t q = 0; q < Q; ++q) {
      double* r0 = a.s_inner.data() + q * NI + i0;
      double* r1 = a.s_inner.data() + (Q + q) * NI + i0;
      const int32_t qq = static_cast<int32_t>(q);
      double t0 = 0.0, t1 = 0.0;
#pragma omp simd reduction(+ : t0, t1)
      for (int64_t j = 0; j < m; ++j) {
        const double g = s0 * static_cast<double>(gpp[j]);
        const double g0 = a0p[j] == qq ? g : 0.0;
        const double g1 = a1p[j] == qq ? -g : 0.0;
        r0[j] += g0;
        r1[j] += g1;
        t0 += g0;
        t1 += g1;
      }
      s_out[q] += t0;
      s_out[Q + q] += t1;
    }
  }
  if (with_grad)
    for (int64_t j = 0; j < pr.p_out; ++j)
      for (int64_t fq = 0; fq < FQ; ++fq) a.t_outer[(fq * pr.p_out + j) * K + digits[j]] += s_out[fq];
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> lt_extended_cpu(
    const at::Tensor& bases, const at::Tensor& labels, const at::Tensor& pixels, const at::Tensor& offsets,
    const at::Tensor& weight, const c10::optional<at::Tensor>& bias, int64_t start, int64_t stop, bool clip,
    bool with_loss, bool with_grad, int64_t max_misclassified) {
  for (const at::Tensor* t : {&bases, &labels, &pixels, &offsets, &weight}) SB_CHECK_CPU(*t);
  SB_CHECK_DIM(bases, 3);
  SB_CHECK_DIM(labels, 1);
  SB_CHECK_DIM(pixels, 2);
  SB_CHECK_DIM(offsets, 3);
  SB_CHECK_DIM(weight, 3);
  const int64_t B = bases.size(0), n = bases.size(1);
  TORCH_CHECK(bases.size(2) == n, "bases must be square canvases [B, n, n], got shape ", bases.sizes());
  TORCH_CHECK(bases.scalar_type() == at::kFloat || bases.scalar_type() == at::kDouble,
              "bases must be float32 or float64, got ", bases.scalar_type());
  TORCH_CHECK(offsets.scalar_type() == bases.scalar_type() && weight.scalar_type() == bases.scalar_type(),
              "bases, offsets and weight must share one dtype, got ", bases.scalar_type(), ", ",
              offsets.scalar_type(), " and ", weight.scalar_type());
  TORCH_CHECK(labels.scalar_type() == at::kLong && labels.size(0) == B, "labels must be int64 [B] with B = ", B,
              ", got ", labels.scalar_type(), " ", labels.sizes());
  TORCH_CHECK(pixels.scalar_type() == at::kLong && pixels.size(0) == B,
              "pixels must be int64 [B, P] with B = ", B, ", got ", pixels.scalar_type(), " ", pixels.sizes());
  const int64_t P = pixels.size(1), K = offsets.size(2);
  TORCH_CHECK(offsets.size(0) == B && offsets.size(1) == P && K >= 1,
              "offsets must have shape [B, P, K] = [", B, ", ", P, ", K>=1], got ", offsets.sizes());
  TORCH_CHECK(weight.size(0) == 2 && weight.size(1) == weight.size(2) && weight.size(1) <= n && weight.size(1) >= 1,
              "weight must be [2, k, k] with k <= canvas ", n, ", got shape ", weight.sizes());
  if (bias.has_value() && bias->defined()) {
    SB_CHECK_CPU(*bias);
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == 2 && bias->scalar_type() == bases.scalar_type(),
                "bias must be [2] of the weight's dtype, got ", bias->scalar_type(), " ", bias->sizes());
  }
  TORCH_CHECK(max_misclassified >= 0, "max_misclassified must be >= 0, got ", max_misclassified);
  auto lab = labels.contiguous();
  auto pix = pixels.contiguous();
  const int64_t* lp = lab.data_ptr<int64_t>();
  const int64_t* pp = pix.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK(lp[b] == 0 || lp[b] == 1, "labels must be 0 or 1, got ", lp[b], " at ", b);
    std::vector<char> seen(n * n, 0);
    for (int64_t d = 0; d < P; ++d) {
      const int64_t p = pp[b * P + d];
      TORCH_CHECK(p >= 0 && p < n * n, "pixels[", b, ", ", d, "] = ", p, " is outside the ", n, "x", n, " canvas");
      TORCH_CHECK(!seen[p], "pixels[", b, "] lists canvas pixel ", p, " twice; each digit must move its own pixel");
      seen[p] = 1;
    }
  }
  int64_t per_base = 1, total = 0;
  for (int64_t d = 0; d < P; ++d)
    TORCH_CHECK(!mul_overflows(per_base, K, &per_base), "index space K^P = ", K, "^", P, " overflows int64");
  TORCH_CHECK(!mul_overflows(per_base, B, &total), "index space B*K^P = ", B, "*", K, "^", P, " overflows int64");
  TORCH_CHECK(0 <= start && start <= stop && stop <= total, "need 0 <= start <= stop <= ", total, ", got [", start,
              ", ", stop, ")");

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
        run_outer(pr, tb, inner, o, lo, hi, with_loss, with_grad, max_misclassified, a, wrong);
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
