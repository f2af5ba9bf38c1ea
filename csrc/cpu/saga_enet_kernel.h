// The minibatch passes and the SAGA epoch of saga_enet, included once per ISA path by
// saga_enet_cpu.cpp through isa_copies.h (namespace SB_ISA_NS, its own #pragma GCC target region;
// like lt_extended_kernel.h): the forward and correction passes are FMA loops over feature rows
// that a wider vector unit runs in fewer instructions. No include guard and no includes on purpose.
namespace SB_ISA_NS {

// z[i, c] = bias[c] + Σ_j W[c, j] X[rows[i], j], i < m. Blocks of kFwdRows rows: independent
// accumulators hide the FMA latency and every load of W serves kFwdRows rows.
template <typename T>
void forward(const T* X, int64_t d, int64_t k, const int64_t* rows, int64_t m, const T* W, const T* bias, T* z) {
  const int64_t blocks = (m + kFwdRows - 1) / kFwdRows;
  const int64_t grain = std::max<int64_t>(1, kWorkGrain / std::max<int64_t>(kFwdRows * d * k, 1));
  at::parallel_for(0, blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      const int64_t i0 = blk * kFwdRows;
      if (i0 + kFwdRows <= m) {
        const T* x[kFwdRows];
        for (int64_t r = 0; r < kFwdRows; ++r) x[r] = X + rows[i0 + r] * d;
        for (int64_t c = 0; c < k; ++c) {
          const T* w = W + c * d;
          T s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
          for (int64_t j = 0; j < d; ++j) {
            const T wj = w[j];
            s0 += wj * x[0][j];
            s1 += wj * x[1][j];
            s2 += wj * x[2][j];
            s3 += wj * x[3][j];
            s4 += wj * x[4][j];
            s5 += wj * x[5][j];
            s6 += wj * x[6][j];
            s7 += wj * x[7][j];
          }
          const T s[kFwdRows] = {s0, s1, s2, s3, s4, s5, s6, s7};
          for (int64_t r = 0; r < kFwdRows; ++r) z[(i0 + r) * k + c] = s[r] + bias[c];
        }
      } else {
        for (int64_t i = i0; i < m; ++i) {
          const T* xi = X + rows[i] * d;
          for (int64_t c = 0; c < k; ++c) {
            const T* w = W + c * d;
            T s = 0;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < d; ++j) s += w[j] * xi[j];
            z[i * k + c] = s + bias[c];
          }
        }
      }
    }
  });
}

// g[c, j] = Σ_{i<m} delta[i, c] X[rows[i], j]  (the minibatch's Δᵀ X_S, not yet divided by m).
template <typename T>
void correction(const T* X, int64_t d, int64_t k, const int64_t* rows, int64_t m, const T* delta, T* g) {
  const int64_t grain = std::max<int64_t>(64, kWorkGrain / std::max<int64_t>(m * k, 1));
  at::parallel_for(0, d, grain, [&](int64_t jb, int64_t je) {
    for (int64_t j0 = jb; j0 < je; j0 += kCols) {
      const int64_t j1 = std::min(je, j0 + kCols);
      for (int64_t c = 0; c < k; ++c) std::fill(g + c * d + j0, g + c * d + j1, T(0));
      int64_t i = 0;
      for (; i + kRows <= m; i += kRows) {
        const T* x0 = X + rows[i] * d;
        const T* x1 = X + rows[i + 1] * d;
        const T* x2 = X + rows[i + 2] * d;
        const T* x3 = X + rows[i + 3] * d;
        for (int64_t c = 0; c < k; ++c) {
          const T d0 = delta[i * k + c], d1 = delta[(i + 1) * k + c];
          const T d2 = delta[(i + 2) * k + c], d3 = delta[(i + 3) * k + c];
          T* gc = g + c * d;
#pragma omp simd
          for (int64_t j = j0; j < j1; ++j) gc[j] += d0 * x0[j] + d1 * x1[j] + d2 * x2[j] + d3 * x3[j];
        }
      }
      for (; i < m; ++i) {
        const T* x = X + rows[i] * d;
        for (int64_t c = 0; c < k; ++c) {
          const T di = delta[i * k + c];
          T* gc = g + c * d;
#pragma omp simd
          for (int64_t j = j0; j < j1; ++j) gc[j] += di * x[j];
        }
      }
    }
  });
}

// Residuals a (in place over z) and per-row loss for rows [0, m); one exp per logit.
template <typename T>
void residuals_multinomial(T* z, const int64_t* label, const int64_t* rows, const T* sw, double* loss, int64_t m,
                           int64_t k, double* p) {
  for (int64_t i = 0; i < m; ++i) {
    T* zi = z + i * k;
    double mx = zi[0];
    for (int64_t c = 1; c < k; ++c) mx = zi[c] > mx ? static_cast<double>(zi[c]) : mx;
    double sum = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      p[c] = std::exp(static_cast<double>(zi[c]) - mx);
      sum += p[c];
    }
    const int64_t y = label[rows[i]];
    const double s = sw ? static_cast<double>(sw[rows[i]]) : 1.0;
    loss[i] = s * (mx + std::log(sum) - static_cast<double>(zi[y]));
    const double inv = 1.0 / sum;
    for (int64_t c = 0; c < k; ++c) zi[c] = static_cast<T>(s * (p[c] * inv - (c == y ? 1.0 : 0.0)));
  }
}

template <typename T>
void residuals_gaussian(T* z, const T* target, const int64_t* rows, const T* sw, double* loss, int64_t m, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    T* zi = z + i * k;
    const T* yi = target + rows[i] * k;
    const double s = sw ? static_cast<double>(sw[rows[i]]) : 1.0;
    double l = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      const double r = static_cast<double>(zi[c]) - static_cast<double>(yi[c]);
      l += r * r;
      zi[c] = static_cast<T>(s * r);
    }
    loss[i] = 0.5 * s * l;
  }
}

template <typename scalar_t>
at::Tensor epoch(const at::Tensor& X, const at::Tensor& target, const at::Tensor& sample_weight,
                 const at::Tensor& order, const at::Tensor& weight, const at::Tensor& bias,
                 const at::Tensor& table, const at::Tensor& w_avg, const at::Tensor& b_avg, double lr,
                 double lam, double alpha, int64_t batch_size, bool multinomial, bool group,
                 int64_t n_total, double step_tol) {
  const int64_t d = X.size(1), k = weight.size(0), total = order.numel();
  const int64_t kd = k * d;
  const int64_t bmax = std::min<int64_t>(batch_size, std::max<int64_t>(total, 1));
  std::vector<scalar_t> z(bmax * k), a_new(bmax * k), g(kd), WN(kd), b_new(k);
  std::vector<double> loss(bmax), delta_b(k), p(k);
  const scalar_t* Xp = X.data_ptr<scalar_t>();
  scalar_t* W = weight.data_ptr<scalar_t>();
  scalar_t* B = bias.data_ptr<scalar_t>();
  scalar_t* A = table.data_ptr<scalar_t>();
  scalar_t* GW = w_avg.data_ptr<scalar_t>();
  scalar_t* GB = b_avg.data_ptr<scalar_t>();
  const scalar_t* sw = sample_weight.numel() ? sample_weight.data_ptr<scalar_t>() : nullptr;
  const int64_t* ord = order.data_ptr<int64_t>();
  const double l1 = lr * lam * alpha, shrink = 1.0 + lr * lam * (1.0 - alpha);
  const double inv_n = 1.0 / static_cast<double>(n_total);
  double loss_sum = 0.0, last = 0.0, stopped = 0.0;
  int64_t steps = 0;

  for (int64_t start = 0; start < total; start += batch_size) {
    const int64_t m = std::min(batch_size, total - start);
    const int64_t* rows = ord + start;
    scalar_t* zp = z.data();
    forward<scalar_t>(Xp, d, k, rows, m, W, B, zp);
    if (multinomial) {
      residuals_multinomial<scalar_t>(zp, target.data_ptr<int64_t>(), rows, sw, loss.data(), m, k, p.data());
    } else {
      residuals_gaussian<scalar_t>(zp, target.data_ptr<scalar_t>(), rows, sw, loss.data(), m, k);
    }
    for (int64_t i = 0; i < m; ++i) loss_sum += loss[i];
    // Δ = a − A_S (into z), then A_S ← a (two passes so a repeated row reads its old entry).
    std::copy(zp, zp + m * k, a_new.begin());
    std::fill(delta_b.begin(), delta_b.end(), 0.0);
    for (int64_t i = 0; i < m; ++i) {
      const scalar_t* ai = A + rows[i] * k;
      for (int64_t c = 0; c < k; ++c) {
        zp[i * k + c] -= ai[c];
        delta_b[c] += zp[i * k + c];
      }
    }
    for (int64_t i = 0; i < m; ++i) std::copy(a_new.data() + i * k, a_new.data() + (i + 1) * k, A + rows[i] * k);
    correction<scalar_t>(Xp, d, k, rows, m, zp, g.data());
    const scalar_t* G = g.data();
    scalar_t* wn = WN.data();
    const double inv_m = 1.0 / static_cast<double>(m), frac = static_cast<double>(m) * inv_n;
    if (!group && step_tol < 0.0 && start + batch_size < total) {
      // Fast path (no step norm needed: only the last minibatch reports one): the step, the
      // prox and Ḡ_W's update in place, branch-free in X's dtype like the reference, so it
      // vectorises.
      const scalar_t lr_t = lr, l1_t = l1, inv_shrink = 1.0 / shrink, inv_m_t = inv_m, frac_t = frac;
      at::parallel_for(0, kd, kGrain, [&](int64_t b, int64_t e) {
#pragma omp simd
        for (int64_t t = b; t < e; ++t) {
          const scalar_t gw = G[t] * inv_m_t;
          const scalar_t v = W[t] - lr_t * (gw + GW[t]);
          const scalar_t a = std::max(std::fabs(v) - l1_t, scalar_t(0));
          W[t] = std::copysign(a, v) * inv_shrink;
          GW[t] += frac_t * gw;
        }
      });
      for (int64_t c = 0; c < k; ++c) {
        const double gb = delta_b[c] * inv_m;
        B[c] = static_cast<scalar_t>(static_cast<double>(B[c]) - lr * (gb + static_cast<double>(GB[c])));
        GB[c] = static_cast<scalar_t>(static_cast<double>(GB[c]) + frac * gb);
      }
      ++steps;
      continue;
    }

    // SAGA step + prox into WN; Ḡ_W += (m/n)ΔW. Step norm² summed per chunk.
    double step2 = at::parallel_reduce(
        0, kd, kGrain, 0.0,
        [&](int64_t b, int64_t e, double acc) {
          for (int64_t t = b; t < e; ++t) {
            const double gw = static_cast<double>(G[t]) * inv_m;
            const double v = static_cast<double>(W[t]) - lr * (gw + static_cast<double>(GW[t]));
            double w;
            if (group) {
              w = v;  // thresholded per column below
            } else {
              const double a = std::fabs(v) - l1;
              w = a > 0.0 ? std::copysign(a, v) / shrink : 0.0;
              const double dw = w - static_cast<double>(W[t]);
              acc += dw * dw;
            }
            wn[t] = static_cast<scalar_t>(w);
            GW[t] = static_cast<scalar_t>(static_cast<double>(GW[t]) + frac * gw);
          }
          return acc;
        },
        std::plus<double>());
    if (group) {
      // Block soft-threshold per feature column; no division when the norm is ≤ the threshold.
      step2 = at::parallel_reduce(
          0, d, std::max<int64_t>(1, kGrain / std::max<int64_t>(k, 1)), 0.0,
          [&](int64_t b, int64_t e, double acc) {
            for (int64_t j = b; j < e; ++j) {
              double nrm = 0.0;
              for (int64_t c = 0; c < k; ++c) nrm += static_cast<double>(wn[c * d + j]) * wn[c * d + j];
              nrm = std::sqrt(nrm);
              const double scale = nrm > l1 ? (1.0 - l1 / nrm) / shrink : 0.0;
              for (int64_t c = 0; c < k; ++c) {
                const double w = static_cast<double>(wn[c * d + j]) * scale;
                wn[c * d + j] = static_cast<scalar_t>(w);
                const double dw = w - static_cast<double>(W[c * d + j]);
                acc += dw * dw;
              }
            }
            return acc;
          },
          std::plus<double>());
    }
    for (int64_t c = 0; c < k; ++c) {
      const double gb = delta_b[c] * inv_m;
      b_new[c] = static_cast<scalar_t>(static_cast<double>(B[c]) - lr * (gb + static_cast<double>(GB[c])));
      const double db = static_cast<double>(b_new[c]) - static_cast<double>(B[c]);
      step2 += db * db;
      GB[c] = static_cast<scalar_t>(static_cast<double>(GB[c]) + frac * gb);
    }
    last = std::sqrt(step2);
    if (step_tol >= 0.0 && last <= step_tol) {
      stopped = 1.0;
      break;
    }
    std::copy(wn, wn + kd, W);
    std::copy(b_new.begin(), b_new.end(), B);
    ++steps;
  }
  return at::tensor({loss_sum, static_cast<double>(steps), stopped, last}, at::TensorOptions().dtype(at::kDouble));
}

}  // namespace SB_ISA_NS
