// The block coordinate-descent sweeps and the duality-gap certificate of enet_cd and enet_cd_path
// (see ops/enet_cd.py for the meaning), float64, single-threaded. Included once per ISA path by
// enet_cd_isa.cpp inside namespace sb_enet_cd::SB_ISA_NS and its own #pragma GCC target region
// (like lt_extended_kernel.h); callers use the dispatching declarations of enet_cd_impl.h. No
// include guard on purpose, and no includes: no inline function of a shared header is compiled
// here for a wider ISA than the build target.
namespace SB_ISA_NS {


constexpr double kMinCurv = 1e-5;    // floor on p(1−p) (glmnet's clamp of p to [1e-5, 1 − 1e-5])
constexpr double kArmijo = 1e-2;     // σ of the Armijo rule
constexpr int kMaxHalvings = 40;
constexpr int kMaxInnerPasses = 1000;
constexpr double kRoundoff = 1e-13;  // a model decrease below this share of its terms is rounding

inline double soft(double v, double t) { return v > t ? v - t : (v < -t ? v + t : 0.0); }
// pen(w + D) − pen(w), pen(w) = l1|w| + (l2/2)w², in a form whose rounding scales with D (|a| − |b|
// = (a − b)(a + b)/(|a| + |b|)): near convergence the steps are far below the penalty's size
inline double dpen(double w, double D, double l1, double l2) {
  const double den = std::abs(w + D) + std::abs(w);
  return (den > 0 ? l1 * D * (2 * w + D) / den : 0.0) + 0.5 * l2 * D * (2 * w + D);
}

inline double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

struct Block {  // per-class working arrays, length n
  std::vector<double> p, w, r, u, q, dlse;
  explicit Block(int64_t n) : p(n), w(n), r(n), u(n), q(n), dlse(n) {}
};

// σ(z) with one exp and no overflow
inline double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}


// Solve A x = g in place (A [k, k] row-major, overwritten) by Gaussian elimination with partial
// pivoting; false when A is singular.
inline bool solve_small(std::vector<double>& A, std::vector<double>& g, int64_t k) {
  for (int64_t c = 0; c < k; ++c) {
    int64_t piv = c;
    for (int64_t r = c + 1; r < k; ++r)
      if (std::abs(A[r * k + c]) > std::abs(A[piv * k + c])) piv = r;
    if (!(std::abs(A[piv * k + c]) > 0)) return false;
    if (piv != c) {
      for (int64_t j = 0; j < k; ++j) std::swap(A[c * k + j], A[piv * k + j]);
      std::swap(g[c], g[piv]);
    }
    for (int64_t r = c + 1; r < k; ++r) {
      const double f = A[r * k + c] / A[c * k + c];
      if (f == 0) continue;
      for (int64_t j = c; j < k; ++j) A[r * k + j] -= f * A[c * k + j];
      g[r] -= f * g[c];
    }
  }
  for (int64_t c = k - 1; c >= 0; --c) {
    double v = g[c];
    for (int64_t j = c + 1; j < k; ++j) v -= A[c * k + j] * g[j];
    g[c] = v / A[c * k + c];
  }
  return true;
}

// The penalty's conjugate at the dual point θ, fed G_jc = (Xᵀθ)_jc/n one penalised entry at a
// time: conj = Σ (|G| − λα)₊² / (2λ(1−α)) for α < 1; for α = 1 the dual point is rescaled by
// t = min(1, λ / max|G|) instead (objective.duality_gap).
struct Conjugate {
  double lam, alpha, gmax = 0, sq = 0;
  void add(double v) {
    gmax = std::max(gmax, std::abs(v));
    const double e = std::max(std::abs(v) - lam * alpha, 0.0);
    sq += e * e;
  }
  double value() const { return alpha < 1 ? sq / (2 * lam * (1 - alpha)) : 0.0; }
  double scale() const { return alpha < 1 || !(gmax > 0) ? 1.0 : std::min(1.0, lam / gmax); }
};

inline void write_certificate(double* out, double primal, double dual, double loss, int64_t hits, int64_t n) {
  out[0] = primal;
  out[1] = dual;
  out[2] = primal - dual;
  out[3] = loss;
  out[4] = static_cast<double>(hits) / n;
}

// certificate() for the binomial form (first_class = 1, k = 2, both classes present): the same
// quantities from z = η_1 − η_0 with one exp per example for the loss and p = σ(z), the optimal
// bias by Newton on the one free direction (b̂_1 − b̂_0; the k-dim Newton below takes exactly this
// step, g_1/h with h = (1/n) Σ s p(1 − p), clipped to 2), θ_0 = −θ_1 and G_:0 = −G_:1.
inline void certificate_binomial(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d,
                                 const double* W, const double* E, double lam, double alpha, double* G, double* out,
                                 std::vector<double>& z, std::vector<double>& p) {
  const double inv_n = 1.0 / n;
  double loss = 0, sy = 0;
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double zi = E[n + i] - E[i], si = s ? s[i] : 1.0;
    const bool yi = y[i] == 1;
    z[i] = zi;
    hits += (zi > 0) == yi;  // argmax with ties to class 0, as torch.argmax
    // softplus(z) − [y = 1] z and σ(z) from one exp
    const double ez = std::exp(-std::abs(zi)), sp = std::max(zi, 0.0) + std::log1p(ez);
    p[i] = zi >= 0 ? 1.0 / (1.0 + ez) : ez / (1.0 + ez);
    loss += si * (sp - (yi ? zi : 0.0));
    sy += yi ? si : 0.0;
  }
  loss *= inv_n;
  const double l1 = lam * alpha, l2 = lam * (1 - alpha);
  double pen_w = 0;
  for (int64_t j = 0; j < d; ++j) pen_w += l1 * std::abs(W[d + j]) + 0.5 * l2 * W[d + j] * W[d + j];
  const double primal = loss + pen_w;
  double shift = 0, prev_gmax = INFINITY;  // b̂_1 − b̂_0 − (b_1 − b_0)
  for (int it = 0;; ++it) {
    if (it > 0)
      for (int64_t i = 0; i < n; ++i) p[i] = sigmoid(z[i] + shift);
    double col = 0, h = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double si = s ? s[i] : 1.0;
      col += si * p[i];
      h += si * p[i] * (1 - p[i]);
    }
    const double gmax = std::abs(col - sy) * inv_n;
    if (it >= 50 || gmax < 1e-14 || (gmax < 1e-9 && gmax >= prev_gmax) || !std::isfinite(gmax)) break;
    prev_gmax = gmax;
    if (!(h > 0)) break;  // every p at 0 or 1: no Newton step (the k-dim solve would be singular)
    const double step = (col - sy) / h;
    shift -= step / std::max(1.0, std::abs(step) / 2);
  }
  // θ_1 = s (p − [y = 1]) at b̂, G_:1 = Xᵀθ_1/n, G_:0 = −G_:1
  std::vector<double>& theta = z;
  for (int64_t i = 0; i < n; ++i) theta[i] = (s ? s[i] : 1.0) * (p[i] - (y[i] == 1 ? 1.0 : 0.0));
  Conjugate conj{lam, alpha};
  for (int64_t j = 0; j < d; ++j) {
    const double v = dot(X + j * n, theta.data(), n) * inv_n;
    G[2 * j] = -v;
    G[2 * j + 1] = v;
    conj.add(v);
  }
  const double t = conj.scale();
  double ent = 0;  // q_1 = [y = 1] + t (p − [y = 1]), q_0 = 1 − q_1
  for (int64_t i = 0; i < n; ++i) {
    const double yi = y[i] == 1 ? 1.0 : 0.0, q1 = yi + t * (p[i] - yi), q0 = (1 - yi) + t * ((1 - p[i]) - (1 - yi));
    double hh = 0;
    if (q1 > 0) hh -= q1 * std::log(q1);
    if (q0 > 0) hh -= q0 * std::log(q0);
    ent += (s ? s[i] : 1.0) * hh;
  }
  write_certificate(out, primal, ent * inv_n - conj.value(), loss, hits, n);
}

// The duality-gap certificate of glm/objective.py (duality_gap, multinomial, no group) at
// (W, b) with logits E = W X + b; classes below first_class are pinned (W = 0, unpenalised: the
// k = 2 problem solved as a binomial one). out = {primal, dual, gap, data loss}; grad [d, k]
// = Xᵀθ/n at the optimal bias b̂ (θ = s (p − y)). b̂: Newton on the k-dim bias over the classes
// present in y, steps clipped to 1 in max norm (objective._optimal_bias), at most 50.
// out[4]: the training accuracy of argmax_c E (first maximum on ties, as torch.argmax).
inline void certificate(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                 const double* W, const double* b, const double* E, double lam, double alpha, int64_t first_class,
                 double* G, double* out) {
  const double inv_n = 1.0 / n;
  std::vector<double> sy(k, 0.0), P(k * n);
  for (int64_t i = 0; i < n; ++i) sy[y[i]] += s ? s[i] : 1.0;
  if (first_class == 1 && k == 2 && sy[0] > 0 && sy[1] > 0) {
    std::vector<double> z(n);
    certificate_binomial(X, y, s, n, d, W, E, lam, alpha, G, out, z, P);
    return;
  }
  // primal at the given bias
  double loss = 0;
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    double mx = -INFINITY;
    int64_t arg = 0;
    for (int64_t c = 0; c < k; ++c)
      if (E[c * n + i] > mx) {
        mx = E[c * n + i];
        arg = c;
      }
    hits += arg == y[i];
    double acc = 0;
    for (int64_t c = 0; c < k; ++c) acc += std::exp(E[c * n + i] - mx);
    loss += (s ? s[i] : 1.0) * (mx + std::log(acc) - E[y[i] * n + i]);
  }
  loss *= inv_n;
  const double l1 = lam * alpha, l2 = lam * (1 - alpha);
  double pen_w = 0;
  for (int64_t c = first_class; c < k; ++c)
    for (int64_t j = 0; j < d; ++j) pen_w += l1 * std::abs(W[c * d + j]) + 0.5 * l2 * W[c * d + j] * W[c * d + j];
  const double primal = loss + pen_w;
  // optimal bias by Newton on the present classes (absent ones: b̂ = −∞, p = 0)
  std::vector<int64_t> pres;
  for (int64_t c = 0; c < k; ++c)
    if (sy[c] > 0) pres.push_back(c);
  const int64_t kp = static_cast<int64_t>(pres.size());
  std::vector<double> bh(kp), col(kp), g(kp), H(kp * kp), step(kp);
  for (int64_t a = 0; a < kp; ++a) bh[a] = b[pres[a]];
  bool ok = true;
  double prev_gmax = INFINITY;
  for (int it = 0;; ++it) {
    std::fill(col.begin(), col.end(), 0.0);
    std::fill(H.begin(), H.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double mx = -INFINITY;
      for (int64_t a = 0; a < kp; ++a) mx = std::max(mx, E[pres[a] * n + i] - b[pres[a]] + bh[a]);
      double acc = 0;
      for (int64_t a = 0; a < kp; ++a) {
        const double e = std::exp(E[pres[a] * n + i] - b[pres[a]] + bh[a] - mx);
        P[a * n + i] = e;
        acc += e;
      }
      const double si = s ? s[i] : 1.0;
      for (int64_t a = 0; a < kp; ++a) {
        P[a * n + i] /= acc;
        col[a] += si * P[a * n + i];
      }
      if (it < 50)
        for (int64_t a = 0; a < kp; ++a)
          for (int64_t c = 0; c < kp; ++c) H[a * kp + c] -= si * P[a * n + i] * P[c * n + i];
    }
    double gmax = 0;
    for (int64_t a = 0; a < kp; ++a) {
      g[a] = (col[a] - sy[pres[a]]) * inv_n;
      gmax = std::max(gmax, std::abs(g[a]));
    }
    // converged, or at the rounding floor (no more decrease once below 1e-9), or diverged
    if (it >= 50 || gmax < 1e-14 || (gmax < 1e-9 && gmax >= prev_gmax) || !std::isfinite(gmax)) break;
    prev_gmax = gmax;
    for (int64_t a = 0; a < kp; ++a) {
      for (int64_t c = 0; c < kp; ++c) H[a * kp + c] = H[a * kp + c] * inv_n + 1.0 / kp;
      H[a * kp + a] += col[a] * inv_n;
    }
    step = g;
    if (!solve_small(H, step, kp)) {
      ok = false;
      break;
    }
    double smax = 0;
    for (int64_t a = 0; a < kp; ++a) smax = std::max(smax, std::abs(step[a]));
    const double scale = 1.0 / std::max(1.0, smax);
    for (int64_t a = 0; a < kp; ++a) bh[a] -= scale * step[a];
  }
  if (!ok) {
    for (int m = 0; m < 5; ++m) out[m] = NAN;
    out[0] = primal;
    out[3] = loss;
    out[4] = static_cast<double>(hits) * inv_n;
    for (int64_t t = 0; t < d * k; ++t) G[t] = NAN;
    return;
  }
  // θ = s (p − y) at b̂ (class-major, all k classes) and G = Xᵀθ/n
  std::vector<double> theta(k * n, 0.0);
  for (int64_t a = 0; a < kp; ++a)
    for (int64_t i = 0; i < n; ++i) theta[pres[a] * n + i] = P[a * n + i];
  for (int64_t i = 0; i < n; ++i) theta[y[i] * n + i] -= 1.0;
  if (s)
    for (int64_t c = 0; c < k; ++c)
      for (int64_t i = 0; i < n; ++i) theta[c * n + i] *= s[i];
  Conjugate conj{lam, alpha};
  for (int64_t j = 0; j < d; ++j) {
    const double* x = X + j * n;
    for (int64_t c = 0; c < k; ++c) {
      const double v = dot(x, theta.data() + c * n, n) * inv_n;
      G[j * k + c] = v;
      if (c >= first_class) conj.add(v);
    }
  }
  const double t = conj.scale();
  // dual: (1/n) Σ s_i H(q_i) − conj, q = y + t (p − y) (the rescaled point when α = 1)
  double ent = 0;
  for (int64_t i = 0; i < n; ++i) {
    double h = 0;
    for (int64_t a = 0; a < kp; ++a) {
      const double pi = P[a * n + i];
      const double yi = y[i] == pres[a] ? 1.0 : 0.0;
      const double q = yi + t * (pi - yi);
      if (q > 0) h -= q * std::log(q);
    }
    ent += (s ? s[i] : 1.0) * h;
  }
  write_certificate(out, primal, ent * inv_n - conj.value(), loss, hits, n);
}


// Up to max_sweeps sweeps over the classes first_class..k−1 on the columns J[0..m) (ops/enet_cd.py
// steps 1–4); W [k, d], b [k] and E [k, n] (= W X + b) in place.
inline SweepStats run_sweeps(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                             const int64_t* J, int64_t m, double* W, double* b, double* E, double lam, double alpha,
                             int64_t max_sweeps, double tol, int64_t first_class) {
  const double l1 = lam * alpha, l2 = lam * (1 - alpha), inv_n = 1.0 / n;
  Block blk(n);
  std::vector<double> lse(n), v(m), delta(m);
  int64_t sweeps = 0, halvings = 0, passes = 0;
  double last = 0;
  // the binomial form (class 0 pinned at η = 0): p = σ(η_1 − η_0), one exp per example and no
  // log-sum-exp (there is one block per sweep)
  const bool binomial = first_class == 1 && k == 2;
  while (sweeps < max_sweeps) {
    double change = 0;
    // log-sum-exp of every example's logits, exact at the start of a sweep and updated in O(n)
    // after each class block (the line search's log1p term)
    if (!binomial) {
    std::fill(lse.begin(), lse.end(), -INFINITY);
    for (int64_t cc = 0; cc < k; ++cc) {
      const double* e = E + cc * n;
      for (int64_t i = 0; i < n; ++i) lse[i] = std::max(lse[i], e[i]);
    }
    {
      std::vector<double>& acc = blk.q;  // scratch
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t cc = 0; cc < k; ++cc) {
        const double* e = E + cc * n;
        for (int64_t i = 0; i < n; ++i) acc[i] += std::exp(e[i] - lse[i]);
      }
      for (int64_t i = 0; i < n; ++i) lse[i] += std::log(acc[i]);
    }
    }
    for (int64_t c = first_class; c < k; ++c) {
      const double* ec = E + c * n;
      double wsum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double pi = binomial ? sigmoid(ec[i] - E[i]) : std::exp(ec[i] - lse[i]);
        const double si = s ? s[i] : 1.0;
        blk.p[i] = pi;
        blk.w[i] = si * std::max(pi * (1 - pi), kMinCurv);
        blk.r[i] = si * ((y[i] == c ? 1.0 : 0.0) - pi);
        blk.u[i] = blk.r[i];
        wsum += blk.w[i];
      }
      for (int64_t a = 0; a < m; ++a) {
        const double* x = X + J[a] * n;
        double acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < n; ++i) acc += blk.w[i] * x[i] * x[i];
        v[a] = acc * inv_n;
        delta[a] = 0;
      }
      double db = 0;
      double* Wc = W + c * d;
      // coordinate descent on the model: full passes, and between them passes over the non-zero
      // coordinates only until they settle (glmnet's active-set cycling)
      bool full = true;
      for (int pass = 0; pass < kMaxInnerPasses; ++pass) {
        ++passes;
        double dmax = 0;
        for (int64_t a = 0; a < m; ++a) {
          if (!full && Wc[J[a]] + delta[a] == 0) continue;
          if (v[a] <= 0) continue;  // an all-zero column: its weight stays
          const double* x = X + J[a] * n;
          const double g = -dot(x, blk.u.data(), n) * inv_n;
          const double t = Wc[J[a]] + delta[a];
          const double tn = soft(v[a] * t - g, l1) / (v[a] + l2);
          if (tn == t) continue;
          const double D = tn - t;
          delta[a] += D;
          double* u = blk.u.data();
          const double* w = blk.w.data();
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) u[i] -= w[i] * x[i] * D;
          dmax = std::max(dmax, v[a] * D * D);
        }
        {  // the unpenalised bias: exact minimiser along it
          double us = 0;
          for (int64_t i = 0; i < n; ++i) us += blk.u[i];
          const double D = us / wsum;
          db += D;
          for (int64_t i = 0; i < n; ++i) blk.u[i] -= blk.w[i] * D;
          dmax = std::max(dmax, wsum * inv_n * D * D);
        }
        if (dmax < tol) {
          if (full) break;
          full = true;  // the non-zero set settled: confirm with a full pass
        } else {
          full = false;
        }
      }
      // the model's step in the logits, q = X_J δ + δ_b, once after the passes (not per update)
      std::fill(blk.q.begin(), blk.q.end(), db);
      for (int64_t a = 0; a < m; ++a) {
        if (delta[a] == 0) continue;
        const double* x = X + J[a] * n;
        const double D = delta[a];
        double* q = blk.q.data();
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) q[i] += x[i] * D;
      }
      // Armijo on F = data loss + this class's penalty along (δ, δ_b) (Tseng & Yun 2009, with
      // their γ = 0): Δ = ∇ᵀD + pen(W + D) − pen(W) ≤ 0 since the CD iterate lowers the model.
      double lin = 0;
      for (int64_t i = 0; i < n; ++i) lin -= blk.r[i] * blk.q[i];
      lin *= inv_n;
      double dp = 0, vmax = wsum * inv_n * db * db;
      for (int64_t a = 0; a < m; ++a) {
        dp += dpen(Wc[J[a]], delta[a], l1, l2);
        vmax = std::max(vmax, v[a] * delta[a] * delta[a]);
      }
      const double model = lin + dp;
      // no descent beyond the rounding of its terms: this block is optimal to working precision
      if (!(model < -kRoundoff * (std::abs(lin) + std::abs(dp)))) continue;
      double step = 1.0;
      for (int h = 0; h <= kMaxHalvings; ++h) {
        // Δ loss_i = log(1 + p_i (e^{t q_i} − 1)) − t q_i [y_i = c]: the new log-sum-exp from the old
        double dl = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double tq = step * blk.q[i];
          const double si = s ? s[i] : 1.0;
          blk.dlse[i] = std::log1p(blk.p[i] * std::expm1(tq));  // kept: the accepted step's lse update
          dl += si * (blk.dlse[i] - (y[i] == c ? tq : 0.0));
        }
        double dpt = 0;
        for (int64_t a = 0; a < m; ++a) dpt += dpen(Wc[J[a]], step * delta[a], l1, l2);
        const double dF = dl * inv_n + dpt;
        if (dF <= kArmijo * step * model) break;
        if (h == kMaxHalvings) step = 0;
        else {
          step *= 0.5;
          ++halvings;
        }
      }
      if (step == 0) continue;
      double* e = E + c * n;
      for (int64_t i = 0; i < n; ++i) e[i] += step * blk.q[i];
      if (!binomial)
        for (int64_t i = 0; i < n; ++i) lse[i] += blk.dlse[i];
      for (int64_t a = 0; a < m; ++a) Wc[J[a]] += step * delta[a];
      b[c] += step * db;
      change = std::max(change, step * step * vmax);
    }
    ++sweeps;
    last = change;
    if (change < tol) break;
  }
  SweepStats out;
  out.sweeps = sweeps;
  out.halvings = halvings;
  out.passes = passes;
  out.last = last;
  return out;
}

}  // namespace SB_ISA_NS
