#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../macros.h"

// Per sample s: the Gram matrix of the rows [J_s; v_s] in double (J J^T and J v together), a small
// k x k solve for c = (J J^T)^+ J v, then u = v - J^T c. Cost is dominated by the Gram matrix
// ((k+1)(k+2)/2 dot products of length n, in 4 x 4 tiles of rows, see gram_tiles). The solve is a
// diagonally pivoted Cholesky factorisation whose rank decision is certified against the eigenvalue rule (see cholesky_solve);
// where the certificate fails, a Jacobi eigen-decomposition applies the rule exactly.

namespace {

// Cyclic Jacobi eigen-decomposition of a small symmetric k x k matrix (row-major, double).
// On return a holds the eigenvalues on its diagonal and q (row-major) the eigenvectors as columns.
void jacobi_eigen(double* a, double* q, int64_t k) {
  std::fill(q, q + k * k, 0.0);
  for (int64_t i = 0; i < k; ++i) q[i * k + i] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0.0, diag = 0.0;
    for (int64_t i = 0; i < k; ++i) {
      diag += a[i * k + i] * a[i * k + i];
      for (int64_t j = i + 1; j < k; ++j) off += a[i * k + j] * a[i * k + j];
    }
    if (off <= 1e-30 * diag || off == 0.0) return;
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t r = p + 1; r < k; ++r) {
        const double apr = a[p * k + r];
        if (apr == 0.0) continue;
        const double theta = (a[r * k + r] - a[p * k + p]) / (2.0 * apr);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int64_t i = 0; i < k; ++i) {  // columns p, r
          const double aip = a[i * k + p], air = a[i * k + r];
          a[i * k + p] = c * aip - s * air;
          a[i * k + r] = s * aip + c * air;
        }
        for (int64_t i = 0; i < k; ++i) {  // rows p, r
          const double api = a[p * k + i], ari = a[r * k + i];
          a[p * k + i] = c * api - s * ari;
          a[r * k + i] = s * api + c * ari;
        }
        for (int64_t i = 0; i < k; ++i) {
          const double qip = q[i * k + p], qir = q[i * k + r];
          q[i * k + p] = c * qip - s * qir;
          q[i * k + r] = s * qip + c * qir;
        }
      }
    }
  }
}

// c = (J J^T)^+ b with the eigenvalue rule: eigenvalues <= rcond^2 * lmax (or <= 0) are dropped.
// G is overwritten; q is k x k work space.
void eigen_solve(double* G, double* q, const double* b, int64_t k, double rcond, double* c) {
  jacobi_eigen(G, q, k);
  double lmax = 0.0;
  for (int64_t i = 0; i < k; ++i) lmax = std::max(lmax, G[i * k + i]);
  const double cut = rcond * rcond * lmax;
  std::fill(c, c + k, 0.0);
  for (int64_t e = 0; e < k; ++e) {  // c = Q diag(1/l) Q^T b over the kept eigenvalues
    const double l = G[e * k + e];
    if (!(l > cut) || l <= 0.0) continue;
    double qb = 0.0;
    for (int64_t i = 0; i < k; ++i) qb += q[i * k + e] * b[i];
    qb /= l;
    for (int64_t i = 0; i < k; ++i) c[i] += q[i * k + e] * qb;
  }
}

// Fast path of eigen_solve. Diagonally pivoted Cholesky G[pi, pi] = [L; M] [L; M]^T stops at rank r
// when every remaining Schur-complement diagonal is <= tol; the trace s of that complement bounds
// the eigenvalues the rule drops (lambda_{r+1}(G) <= ||S|| <= s), and Cauchy interlacing bounds the
// ones it keeps (lambda_r(G) >= lambda_min(L L^T) >= 1 / ||L^-1||_F^2). With lmax in
// [max diag G, trace G], the rule keeps exactly the r pivoted directions when
//   s <= 0.5 rcond^2 max diag G   and   1 / ||L^-1||_F^2 >= 2 rcond^2 trace G
// (factor-2 margins absorb rounding: the rule's condition bound 1/rcond^2 stays far below 1/eps).
// Then c solves the r pivoted rows' normal equations, which for rows dependent up to rounding is the
// same projection; returns false (c = 0) when the certificate fails.
bool cholesky_solve(const double* G, const double* b, int64_t k, double rcond, double angle_tol, double* A,
                    double* Linv, int64_t* piv, double* y, double* c) {
  double dmax = 0.0, tr = 0.0;
  for (int64_t i = 0; i < k; ++i) dmax = std::max(dmax, G[i * k + i]), tr += G[i * k + i];
  std::fill(c, c + k, 0.0);
  if (!(dmax > 0.0)) return true;  // J = 0: nothing to remove
  const double tol = 0.5 * rcond * rcond * dmax / static_cast<double>(k);
  std::copy(G, G + k * k, A);
  for (int64_t i = 0; i < k; ++i) piv[i] = i;
  int64_t r = 0;
  for (; r < k; ++r) {  // A[piv[i], piv[j]] for i, j >= r holds the Schur complement
    int64_t best = r;
    for (int64_t i = r + 1; i < k; ++i)
      if (A[piv[i] * k + piv[i]] > A[piv[best] * k + piv[best]]) best = i;
    const double d = A[piv[best] * k + piv[best]];
    if (!(d > tol)) break;
    std::swap(piv[r], piv[best]);
    const int64_t p = piv[r];
    const double sd = std::sqrt(d);
    for (int64_t i = r; i < k; ++i) A[piv[i] * k + p] /= sd;  // column p of the factor: L/M entries
    for (int64_t i = r + 1; i < k; ++i) {
      const double li = A[piv[i] * k + p];
      for (int64_t j = r + 1; j <= i; ++j) {
        A[piv[i] * k + piv[j]] -= li * A[piv[j] * k + p];
        A[piv[j] * k + piv[i]] = A[piv[i] * k + piv[j]];
      }
    }
  }
  double s = 0.0;
  for (int64_t i = r; i < k; ++i) s += std::max(A[piv[i] * k + piv[i]], 0.0);
  if (s > 0.5 * rcond * rcond * dmax) return false;
  if (r == 0) return true;
  // L (r x r): L[i][j] = A[piv[i] * k + piv[j]] for j <= i. Linv by forward substitution.
  auto L = [&](int64_t i, int64_t j) { return A[piv[i] * k + piv[j]]; };
  double fro = 0.0;
  for (int64_t j = 0; j < r; ++j) {
    for (int64_t i = 0; i < r; ++i) Linv[i * r + j] = 0.0;
    Linv[j * r + j] = 1.0 / L(j, j);
    for (int64_t i = j + 1; i < r; ++i) {
      double t = 0.0;
      for (int64_t q = j; q < i; ++q) t += L(i, q) * Linv[q * r + j];
      Linv[i * r + j] = -t / L(i, i);
    }
    for (int64_t i = j; i < r; ++i) fro += Linv[i * r + j] * Linv[i * r + j];
  }
  if (2.0 * rcond * rcond * tr * fro > 1.0) return false;
  // The r pivoted rows span the kept eigen-directions only up to an angle ~ sqrt(s / lambda_r): take
  // the fast path only where that angle is below angle_tol (full rank: s = 0; rows dependent up to
  // the inputs' rounding, e.g. softmax Jacobians); genuine small components go to the eigen rule.
  if (s * fro > angle_tol * angle_tol) return false;
  for (int64_t i = 0; i < r; ++i) {  // y = L^-1 b[pi]
    double t = 0.0;
    for (int64_t q = 0; q <= i; ++q) t += Linv[i * r + q] * b[piv[q]];
    y[i] = t;
  }
  for (int64_t i = 0; i < r; ++i) {  // c[pi] = L^-T y
    double t = 0.0;
    for (int64_t q = i; q < r; ++q) t += Linv[q * r + i] * y[q];
    c[piv[i]] = t;
  }
  return true;
}

// G (R4 x R4, row-major; the 4 x 4 blocks on and above the diagonal) = M M^T for the R4 rows of M
// (pointers; R4 a multiple of 4, padding rows point at zeros), accumulated in double: products of
// float inputs are exact in double. 4 x 4 tiles: 16 independent accumulators fed by 8 loads (each
// converted once), which keeps the FMA units busy instead of waiting on one reduction chain;
// simdlen(8): one 8-double vector per accumulator (16 float lanes spill the 16 accumulators).
template <typename scalar_t>
void gram_tiles(const scalar_t* const* rows, int64_t R4, int64_t n, double* G) {
  for (int64_t I = 0; I < R4; I += 4) {
    const scalar_t *x0 = rows[I], *x1 = rows[I + 1], *x2 = rows[I + 2], *x3 = rows[I + 3];
    for (int64_t J = I; J < R4; J += 4) {
      const scalar_t *y0 = rows[J], *y1 = rows[J + 1], *y2 = rows[J + 2], *y3 = rows[J + 3];
      double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
#pragma omp simd simdlen(8) reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)
      for (int64_t p = 0; p < n; ++p) {
        const double a0 = x0[p], a1 = x1[p], a2 = x2[p], a3 = x3[p];
        const double b0 = y0[p], b1 = y1[p], b2 = y2[p], b3 = y3[p];
        s00 += a0 * b0, s01 += a0 * b1, s02 += a0 * b2, s03 += a0 * b3;
        s10 += a1 * b0, s11 += a1 * b1, s12 += a1 * b2, s13 += a1 * b3;
        s20 += a2 * b0, s21 += a2 * b1, s22 += a2 * b2, s23 += a2 * b3;
        s30 += a3 * b0, s31 += a3 * b1, s32 += a3 * b2, s33 += a3 * b3;
      }
      double* g = G + I * R4 + J;
      g[0] = s00, g[1] = s01, g[2] = s02, g[3] = s03;
      g += R4;
      g[0] = s10, g[1] = s11, g[2] = s12, g[3] = s13;
      g += R4;
      g[0] = s20, g[1] = s21, g[2] = s22, g[3] = s23;
      g += R4;
      g[0] = s30, g[1] = s31, g[2] = s32, g[3] = s33;
    }
  }
}

// Few rows (the half-space case: g and v): the dot products one by one, no padding.
template <typename scalar_t>
void gram_pairs(const scalar_t* const* rows, int64_t R, int64_t ld, int64_t n, double* G) {
  for (int64_t i = 0; i < R; ++i) {
    for (int64_t j = i; j < R; ++j) {
      const scalar_t *x = rows[i], *y = rows[j];
      double d = 0.0;
#pragma omp simd reduction(+ : d)
      for (int64_t p = 0; p < n; ++p) d += static_cast<double>(x[p]) * static_cast<double>(y[p]);
      G[i * ld + j] = d;
    }
  }
}

constexpr int64_t kUpdateBlock = 256;  // doubles of u kept in L1 while the rows of J are subtracted

template <typename scalar_t>
void project_kernel(const scalar_t* v, const scalar_t* J, scalar_t* out, int64_t B, int64_t k,
                    int64_t n, bool halfspace, double rcond) {
  const int64_t R = k + 1;           // rows of the Gram matrix: J and v
  const int64_t R4 = (R + 3) / 4 * 4;  // padded to whole 4 x 4 tiles with zero rows
  // Below this rcond the rule's cut lies within rounding of the Gram matrix: only the eigen rule defines it.
  const bool fast = rcond >= 1e-7;
  // fast-path angle bound: 1e-7 for double inputs, 1e-5 for float (its entries carry 6e-8 rounding,
  // so dependent float rows have genuine components of that size; outputs are float as well)
  const double angle_tol = std::is_same<scalar_t, double>::value ? 1e-7 : 1e-5;
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    // work space for the whole range of samples (nothing is allocated per sample)
    std::vector<scalar_t> zeros(n, scalar_t(0));
    std::vector<const scalar_t*> rows(R4, zeros.data());
    std::vector<double> GR(R4 * R4), G(k * k), A(k * k), Q(k * k), Linv(k * k), b(k), c(k), y(k), acc(kUpdateBlock);
    std::vector<int64_t> piv(k);
    for (int64_t s = begin; s < end; ++s) {
      const scalar_t* vs = v + s * n;
      const scalar_t* Js = J + s * k * n;
      scalar_t* us = out + s * n;
      for (int64_t i = 0; i < k; ++i) rows[i] = Js + i * n;
      rows[k] = vs;
      if (R < 4)
        gram_pairs(rows.data(), R, R4, n, GR.data());
      else
        gram_tiles(rows.data(), R4, n, GR.data());
      for (int64_t i = 0; i < k; ++i) {
        b[i] = GR[i * R4 + k];
        for (int64_t j = i; j < k; ++j) G[i * k + j] = G[j * k + i] = GR[i * R4 + j];
      }
      if (halfspace) {
        // Remove the gradient component only when it points downhill; zero gradient: keep v.
        c[0] = (G[0] > 0.0 && b[0] < 0.0) ? b[0] / G[0] : 0.0;
      } else if (!(fast && cholesky_solve(G.data(), b.data(), k, rcond, angle_tol, A.data(), Linv.data(), piv.data(),
                                          y.data(), c.data()))) {
        eigen_solve(G.data(), Q.data(), b.data(), k, rcond, c.data());
      }
      if (std::all_of(c.begin(), c.end(), [](double ci) { return ci == 0.0; })) {
        std::copy(vs, vs + n, us);  // nothing to remove: u = v bit for bit
        continue;
      }
      for (int64_t p0 = 0; p0 < n; p0 += kUpdateBlock) {  // u = v - sum_i c_i J_i, in double, by blocks
        const int64_t len = std::min(kUpdateBlock, n - p0);
        double* a = acc.data();
        for (int64_t p = 0; p < len; ++p) a[p] = static_cast<double>(vs[p0 + p]);
        for (int64_t i = 0; i < k; ++i) {
          const double ci = c[i];
          if (ci == 0.0) continue;
          const scalar_t* ri = Js + i * n + p0;
#pragma omp simd
          for (int64_t p = 0; p < len; ++p) a[p] -= ci * static_cast<double>(ri[p]);
        }
        for (int64_t p = 0; p < len; ++p) us[p0 + p] = static_cast<scalar_t>(a[p]);
      }
    }
  });
}

at::Tensor nullspace_project_cpu(const at::Tensor& v, const at::Tensor& J, bool halfspace, double rcond) {
  SB_CHECK_CPU(v);
  SB_CHECK_CPU(J);
  SB_CHECK_DIM(v, 2);
  SB_CHECK_DIM(J, 3);
  TORCH_CHECK(J.size(0) == v.size(0) && J.size(2) == v.size(1),
              "J must have shape [B, k, n] with B, n = v.shape = ", v.sizes(), ", got ", J.sizes());
  TORCH_CHECK(J.size(1) >= 1, "J must have at least one row, got shape ", J.sizes());
  TORCH_CHECK(!halfspace || J.size(1) == 1,
              "halfspace projection takes one row (J of shape [B, 1, n]), got ", J.sizes());
  TORCH_CHECK(v.scalar_type() == J.scalar_type(), "v and J must share a dtype, got ", v.scalar_type(),
              " and ", J.scalar_type());
  TORCH_CHECK(v.scalar_type() == at::kFloat || v.scalar_type() == at::kDouble,
              "v must be float32 or float64, got ", v.scalar_type());
  TORCH_CHECK(rcond >= 0.0 && rcond < 1.0, "rcond must be in [0, 1), got ", rcond);
  auto vc = v.contiguous();
  auto Jc = J.contiguous();
  auto out = at::empty_like(vc);
  const int64_t B = vc.size(0), n = vc.size(1), k = Jc.size(1);
  AT_DISPATCH_FLOATING_TYPES(vc.scalar_type(), "nullspace_project_cpu", [&] {
    project_kernel<scalar_t>(vc.data_ptr<scalar_t>(), Jc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), B,
                             k, n, halfspace, rcond);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("nullspace_project", &nullspace_project_cpu); }
