#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../macros.h"

namespace {

// Cyclic Jacobi eigen-decomposition of a small symmetric k x k matrix (row-major, double).
// On return a holds the eigenvalues on its diagonal and q (row-major) the eigenvectors as columns.
void jacobi_eigen(std::vector<double>& a, std::vector<double>& q, int64_t k) {
  std::fill(q.begin(), q.end(), 0.0);
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

// Dot product in double; the simd reduction lets the compiler vectorise it (no -ffast-math needed).
template <typename scalar_t>
inline double dot(const scalar_t* a, const scalar_t* b, int64_t n) {
  double d = 0.0;
#pragma omp simd reduction(+ : d)
  for (int64_t p = 0; p < n; ++p) d += static_cast<double>(a[p]) * static_cast<double>(b[p]);
  return d;
}

template <typename scalar_t>
void project_kernel(const scalar_t* v, const scalar_t* J, scalar_t* out, int64_t B, int64_t k,
                    int64_t n, bool halfspace, double rcond) {
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> G(k * k), Q(k * k), b(k), c(k), acc(n);
    for (int64_t s = begin; s < end; ++s) {
      const scalar_t* vs = v + s * n;
      const scalar_t* Js = J + s * k * n;
      scalar_t* us = out + s * n;
      // Gram matrix J J^T and J v in double.
      for (int64_t i = 0; i < k; ++i) {
        const scalar_t* ri = Js + i * n;
        b[i] = dot(ri, vs, n);
        for (int64_t j = i; j < k; ++j) G[i * k + j] = G[j * k + i] = dot(ri, Js + j * n, n);
      }
      if (halfspace) {
        // Remove the gradient component only when it points downhill; zero gradient: keep v.
        c[0] = (G[0] > 0.0 && b[0] < 0.0) ? b[0] / G[0] : 0.0;
      } else {
        jacobi_eigen(G, Q, k);
        double lmax = 0.0;
        for (int64_t i = 0; i < k; ++i) lmax = std::max(lmax, G[i * k + i]);
        const double cut = rcond * rcond * lmax;
        // c = Q diag(1/l) Q^T b over the kept eigenvalues (pseudo-inverse of J J^T).
        std::fill(c.begin(), c.end(), 0.0);
        for (int64_t e = 0; e < k; ++e) {
          const double l = G[e * k + e];
          if (!(l > cut) || l <= 0.0) continue;
          double qb = 0.0;
          for (int64_t i = 0; i < k; ++i) qb += Q[i * k + e] * b[i];
          qb /= l;
          for (int64_t i = 0; i < k; ++i) c[i] += Q[i * k + e] * qb;
        }
      }
      double* a = acc.data();
      for (int64_t p = 0; p < n; ++p) a[p] = vs[p];
      for (int64_t i = 0; i < k; ++i) {  // row by row: contiguous reads of J
        const double ci = c[i];
        if (ci == 0.0) continue;
        const scalar_t* ri = Js + i * n;
#pragma omp simd
        for (int64_t p = 0; p < n; ++p) a[p] -= ci * static_cast<double>(ri[p]);
      }
      for (int64_t p = 0; p < n; ++p) us[p] = static_cast<scalar_t>(a[p]);
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
