#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <type_traits>
#include <vector>

#include "../macros.h"

// Per sample s: the Gram matrix of the rows [J_s; v_s] in double (J J^T and J v together), a small
// k x k solve for c = (J J^T)^+ J v, then u = v - J^T c. Cost is dominated by the Gram matrix
// ((k+1)(k+2)/2 dot products of length n, by blocks of rows, see gram_blocks). The solve is a
// diagonally pivoted Cholesky factorisation whose rank decision is certified against the eigenvalue
// rule (see cholesky_solve); where the certificate fails, a Jacobi eigen-decomposition applies the
// rule exactly.

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

// Fast path of eigen_solve. Diagonally pivoted Cholesky G[pi, pi] = [L; M] [L; M]^T + [0 0; 0 S] stops at rank r
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
  for (; r < k; ++r) {  // A = G[pi, pi]: rows/columns >= r hold the Schur complement, A[i][j < r] = L
    int64_t best = r;
    for (int64_t i = r + 1; i < k; ++i)
      if (A[i * k + i] > A[best * k + best]) best = i;
    const double d = A[best * k + best];
    if (!(d > tol)) break;
    if (best != r) {  // symmetric swap of rows and columns r and best
      std::swap(piv[r], piv[best]);
      for (int64_t j = 0; j < k; ++j) std::swap(A[r * k + j], A[best * k + j]);
      for (int64_t i = 0; i < k; ++i) std::swap(A[i * k + r], A[i * k + best]);
    }
    const double sd = std::sqrt(d);
    A[r * k + r] = sd;
    for (int64_t i = r + 1; i < k; ++i) A[i * k + r] /= sd;
    for (int64_t i = r + 1; i < k; ++i) {  // the whole Schur complement, so later swaps stay valid
      const double li = A[i * k + r];
      for (int64_t j = r + 1; j < k; ++j) A[i * k + j] -= li * A[j * k + r];
    }
  }
  double s = 0.0;
  for (int64_t i = r; i < k; ++i) s += std::max(A[i * k + i], 0.0);
  if (s > 0.5 * rcond * rcond * dmax) return false;
  if (r == 0) return true;
  // L (r x r) = A[i][j] for j <= i < r; Linv = L^-1 by forward substitution, column by column.
  double fro = 0.0;
  for (int64_t j = 0; j < r; ++j) {
    for (int64_t i = 0; i < r; ++i) Linv[i * r + j] = 0.0;
    Linv[j * r + j] = 1.0 / A[j * k + j];
    for (int64_t i = j + 1; i < r; ++i) {
      double t = 0.0;
      for (int64_t q = j; q < i; ++q) t += A[i * k + q] * Linv[q * r + j];
      Linv[i * r + j] = -t / A[i * k + i];
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

// The Gram matrix G = M M^T of R rows (G's upper triangle, row-major with stride ld), accumulated in
// double (products of float inputs are exact in double), by blocks of at most 4 rows: one pass over
// the columns per pair of blocks computes exactly the pairs it owns (a x b, or b >= a on the
// diagonal), with one 8-double vector accumulator per pair kept in registers (<= 16 chains, <= 8
// loads per step). GCC/Clang vector extensions: 512-bit where the target has it, split otherwise.
typedef double v8d __attribute__((vector_size(64)));

template <typename scalar_t>
inline v8d load8(const scalar_t* p, int64_t m) {  // m <= 8 entries, zero padded
  typedef scalar_t v8s __attribute__((vector_size(8 * sizeof(scalar_t))));
  v8s v;
  if (m == 8) {
    std::memcpy(&v, p, sizeof v);
  } else {
    scalar_t f[8] = {};
    std::memcpy(f, p, m * sizeof(scalar_t));
    std::memcpy(&v, f, sizeof v);
  }
  return __builtin_convertvector(v, v8d);
}

template <typename scalar_t>
inline void store8(scalar_t* p, v8d x, int64_t m) {  // the first m <= 8 entries of x, rounded to scalar_t
  typedef scalar_t v8s __attribute__((vector_size(8 * sizeof(scalar_t))));
  const v8s v = __builtin_convertvector(x, v8s);
  if (m == 8)
    std::memcpy(p, &v, sizeof v);  // fixed size: one vector store, no memmove call
  else
    std::memcpy(p, &v, m * sizeof(scalar_t));
}

template <int A, int BW, bool DIAG, typename scalar_t>  // DIAG: X = Y and A = BW
void gram_block(const scalar_t* const* X, const scalar_t* const* Y, int64_t n, double* g, int64_t ld) {
  v8d s[A][BW];
  for (int a = 0; a < A; ++a)
    for (int b = 0; b < BW; ++b) s[a][b] = v8d{};
  auto step = [&](int64_t p, int64_t m) {
    v8d x[A], y[BW];
    for (int a = 0; a < A; ++a) x[a] = load8(X[a] + p, m);
    if (!DIAG)
      for (int b = 0; b < BW; ++b) y[b] = load8(Y[b] + p, m);
    for (int a = 0; a < A; ++a)
      for (int b = DIAG ? a : 0; b < BW; ++b) s[a][b] += x[a] * (DIAG ? x[b] : y[b]);
  };
  int64_t p = 0;
  for (; p + 8 <= n; p += 8) step(p, 8);
  if (p < n) step(p, n - p);
  for (int a = 0; a < A; ++a) {
    for (int b = DIAG ? a : 0; b < BW; ++b) {
      double t = 0.0;
      for (int i = 0; i < 8; ++i) t += s[a][b][i];
      g[a * ld + b] = t;
    }
  }
}

template <typename scalar_t>
using GramBlockFn = void (*)(const scalar_t* const*, const scalar_t* const*, int64_t, double*, int64_t);

// kernels for a x 1 ... a x 4 blocks off the diagonal, and a x a blocks on it
template <typename scalar_t, int A, int... B1>
constexpr std::array<GramBlockFn<scalar_t>, 4> block_row(std::integer_sequence<int, B1...>) {
  return {&gram_block<A, B1 + 1, false, scalar_t>...};
}

template <typename scalar_t>
void gram_blocks(const scalar_t* const* rows, int64_t R, int64_t n, double* G) {
  using seq = std::make_integer_sequence<int, 4>;
  static constexpr std::array<std::array<GramBlockFn<scalar_t>, 4>, 4> off = {
      block_row<scalar_t, 1>(seq{}), block_row<scalar_t, 2>(seq{}), block_row<scalar_t, 3>(seq{}),
      block_row<scalar_t, 4>(seq{})};
  static constexpr std::array<GramBlockFn<scalar_t>, 4> diag = {
      &gram_block<1, 1, true, scalar_t>, &gram_block<2, 2, true, scalar_t>, &gram_block<3, 3, true, scalar_t>,
      &gram_block<4, 4, true, scalar_t>};
  for (int64_t I = 0; I < R; I += 4) {
    const int64_t a = std::min<int64_t>(4, R - I);
    diag[a - 1](rows + I, rows + I, n, G + I * R + I, R);
    for (int64_t J = I + 4; J < R; J += 4)
      off[a - 1][std::min<int64_t>(4, R - J) - 1](rows + I, rows + J, n, G + I * R + J, R);
  }
}

template <typename scalar_t>
void project_kernel(const scalar_t* v, const scalar_t* J, scalar_t* out, int64_t B, int64_t k,
                    int64_t n, bool halfspace, double rcond) {
  const int64_t R = k + 1;  // rows of the Gram matrix: J and v
  // Below this rcond the rule's cut lies within rounding of the Gram matrix: only the eigen rule defines it.
  const bool fast = rcond >= 1e-7;
  // fast-path angle bound: 1e-7 for double inputs, 1e-5 for float (its entries carry 6e-8 rounding,
  // so dependent float rows have genuine components of that size; outputs are float as well)
  const double angle_tol = std::is_same<scalar_t, double>::value ? 1e-7 : 1e-5;
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    // work space for the whole range of samples (nothing is allocated per sample)
    std::vector<const scalar_t*> rows(R);
    std::vector<double> GR(R * R), G(k * k), A(k * k), Q(k * k), Linv(k * k), b(k), c(k), y(k);
    std::vector<int64_t> piv(k);
    for (int64_t s = begin; s < end; ++s) {
      const scalar_t* vs = v + s * n;
      const scalar_t* Js = J + s * k * n;
      scalar_t* us = out + s * n;
      for (int64_t i = 0; i < k; ++i) rows[i] = Js + i * n;
      rows[k] = vs;
      gram_blocks(rows.data(), R, n, GR.data());
      for (int64_t i = 0; i < k; ++i) {
        b[i] = GR[i * R + k];
        for (int64_t j = i; j < k; ++j) G[i * k + j] = G[j * k + i] = GR[i * R + j];
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
      for (int64_t p = 0; p < n; p += 8) {  // u = v - sum_i c_i J_i, 8 entries at a time, in double
        const int64_t m = std::min<int64_t>(8, n - p);
        v8d t = load8(vs + p, m);
        for (int64_t i = 0; i < k; ++i)
          if (c[i] != 0.0) t -= c[i] * load8(Js + i * n + p, m);
        store8(us + p, t, m);
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
  auto out = at::empty(vc.sizes(), vc.options());
  const int64_t B = vc.size(0), n = vc.size(1), k = Jc.size(1);
  AT_DISPATCH_FLOATING_TYPES(vc.scalar_type(), "nullspace_project_cpu", [&] {
    project_kernel<scalar_t>(vc.data_ptr<scalar_t>(), Jc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), B,
                             k, n, halfspace, rcond);
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CPU, m) { m.impl("nullspace_project", &nullspace_project_cpu); }
