// Hot loop of lt_extended, included once per ISA path by lt_extended_cpu.cpp inside its own
// namespace (SB_ISA_NS) and #pragma GCC target region: one copy per instruction set, chosen at
// run time (isa.h). No include guard on purpose; it includes nothing, so no inline function
// from a shared header is compiled for a wider ISA than the build target.
namespace SB_ISA_NS {

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

}  // namespace SB_ISA_NS
