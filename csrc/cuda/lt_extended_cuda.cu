// CUDA kernel of lt_extended (schema in ../lt_extended.cpp, meaning in ops/lt_extended.py).
//
// One thread per sample (grid-stride). Per base image the host tabulates, in float64 as the CPU
// kernel does: the effective image (clipped when clip), each digit's pixel change per value, the
// pre-activation of every (filter, window) for the base, and each digit's coefficient on it
// (the conv is linear). A sample's pre-activations are then base + Σ_digit change · coefficient,
// rounded to the weight's dtype before the max (as the reference's conv in that dtype). Sums
// are reduced per block in shared memory, then atomically into float64 totals. Misclassified
// indices, when asked for, come from a per-chunk mask, chunks in ascending order.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <vector>

#include "../lt_extended.h"
#include "utils.cuh"

namespace {

constexpr int kMaxTaps = 8 * 8;  // k <= 8: the per-thread gradient lives in registers / local memory
constexpr int kMaxDigits = 64;
constexpr int64_t kChunk = int64_t(1) << 24;

__device__ double atomic_min_double(double* addr, double v) {
  auto* a = reinterpret_cast<unsigned long long*>(addr);
  unsigned long long old = *a, assumed;
  while (v < __longlong_as_double(old)) {
    assumed = old;
    old = atomicCAS(a, assumed, __double_as_longlong(v));
    if (old == assumed) break;
  }
  return __longlong_as_double(old);
}

struct Dims {
  int64_t n, k, P, K, Q, qside, per_base, start, stop;
  bool with_loss, with_grad;
};

template <typename T>
__global__ void lt_kernel(Dims dm, const double* __restrict__ img, const double* __restrict__ delta,
                          const int32_t* __restrict__ dmap, const double* __restrict__ coef,
                          const double* __restrict__ zbase, const int64_t* __restrict__ labels,
                          const int64_t* __restrict__ pixels, T bias0, T bias1, double* loss_out, double* gw_out,
                          double* gb_out, unsigned long long* correct_out, double* min_margin_out,
                          uint8_t* __restrict__ wrong) {
  const int64_t n = dm.n, k = dm.k, P = dm.P, K = dm.K, Q = dm.Q, FQ = 2 * Q, kk = k * k;
  double loss = 0, gw[2 * kMaxTaps], gb[2] = {0, 0}, min_margin = INFINITY;
  unsigned long long correct = 0;
  for (int t = 0; t < 2 * kk; ++t) gw[t] = 0;
  int32_t digit[kMaxDigits];
  for (int64_t s = dm.start + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; s < dm.stop;
       s += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = s / dm.per_base;
    int64_t code = s - b * dm.per_base;
    for (int64_t d = 0; d < P; ++d) {
      digit[d] = static_cast<int32_t>(code % K);
      code /= K;
    }
    const double* dl = delta + b * P * K;
    const double* cf = coef + b * P * FQ;
    T best[2];
    int64_t arg[2];
    for (int f = 0; f < 2; ++f) {
      for (int64_t q = 0; q < Q; ++q) {  // strict >: the first maximal position, like torch.max
        double z = zbase[b * FQ + f * Q + q];
        for (int64_t d = 0; d < P; ++d) z += dl[d * K + digit[d]] * cf[d * FQ + f * Q + q];
        const T zt = static_cast<T>(z);
        if (q == 0 || zt > best[f]) {
          best[f] = zt;
          arg[f] = q;
        }
      }
    }
    const int64_t y = labels[b];
    const T l0 = best[0] + bias0, l1 = best[1] + bias1;
    const double dd = static_cast<double>(y == 0 ? l1 - l0 : l0 - l1);  // other − true
    const bool ok = dd < 0 || (dd == 0 && y == 0);                       // ties go to class 0
    correct += ok;
    min_margin = fmin(min_margin, -dd);
    if (wrong) wrong[s - dm.start] = !ok;
    if (!dm.with_loss) continue;
    const double tt = exp(-fabs(dd));
    loss += fmax(dd, 0.0) + log1p(tt);
    if (!dm.with_grad) continue;
    const double p = (dd >= 0 ? 1.0 : tt) / (1.0 + tt);  // probability of the other class
    const double g0 = (y == 0 ? -p : p);                  // dL/dlogit_0; dL/dlogit_1 = −g0
    gb[0] += g0;
    gb[1] -= g0;
    for (int f = 0; f < 2; ++f) {
      const double gf = f == 0 ? g0 : -g0;
      const int64_t qi = arg[f] / dm.qside, qj = arg[f] % dm.qside;
      for (int64_t u = 0; u < k; ++u)
        for (int64_t v = 0; v < k; ++v) {
          const int64_t pix = (qi + u) * n + qj + v;
          const int32_t d = dmap[b * n * n + pix];
          const double val = img[b * n * n + pix] + (d >= 0 ? dl[d * K + digit[d]] : 0.0);
          gw[f * kk + u * k + v] += gf * val;
        }
    }
  }
  // block reduction: shared float64 sums, then one atomic per block and quantity
  extern __shared__ double acc[];  // [2 kk + 3]: gw, gb, loss
  __shared__ unsigned long long block_correct;
  __shared__ double block_min;
  if (threadIdx.x == 0) {
    block_correct = 0;
    block_min = INFINITY;
  }
  for (int t = threadIdx.x; t < 2 * kk + 3; t += blockDim.x) acc[t] = 0;
  __syncthreads();
  atomicAdd(&block_correct, correct);
  atomic_min_double(&block_min, min_margin);
  if (dm.with_loss) atomicAdd(&acc[2 * kk + 2], loss);
  if (dm.with_grad) {
    for (int t = 0; t < 2 * kk; ++t) atomicAdd(&acc[t], gw[t]);
    atomicAdd(&acc[2 * kk], gb[0]);
    atomicAdd(&acc[2 * kk + 1], gb[1]);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    atomicAdd(correct_out, block_correct);
    atomic_min_double(min_margin_out, block_min);
    atomicAdd(loss_out, acc[2 * kk + 2]);
    for (int t = 0; t < 2 * kk; ++t) atomicAdd(&gw_out[t], acc[t]);
    atomicAdd(&gb_out[0], acc[2 * kk]);
    atomicAdd(&gb_out[1], acc[2 * kk + 1]);
  }
}

// Pixel (r, c) seen by window q = (qi, qj) of a k x k filter lies at filter tap (r - qi, c - qj).
double tap(const double* w, int64_t n, int64_t k, int64_t qside, int64_t f, int64_t q, int64_t pixel) {
  const int64_t u = pixel / n - q / qside, v = pixel % n - q % qside;
  if (u < 0 || v < 0 || u >= k || v >= k) return 0.0;
  return w[(f * k + u) * k + v];
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> lt_extended_cuda(
    const at::Tensor& bases, const at::Tensor& labels, const at::Tensor& pixels, const at::Tensor& offsets,
    const at::Tensor& weight, const c10::optional<at::Tensor>& bias, int64_t start, int64_t stop, bool clip,
    bool with_loss, bool with_grad, int64_t max_misclassified) {
  SB_CHECK_CUDA(bases);
  const auto sz = shortcutbench::check_lt_extended_inputs(bases, labels, pixels, offsets, weight, bias, start, stop,
                                                          max_misclassified);
  const int64_t B = sz.B, n = sz.n, P = sz.P, K = sz.K, per_base = sz.per_base, k = weight.size(1);
  TORCH_CHECK(k * k <= kMaxTaps, "the CUDA kernel takes filters up to 8x8, got shape ", weight.sizes());
  TORCH_CHECK(P <= kMaxDigits, "the CUDA kernel takes at most ", kMaxDigits, " perturbed pixels, got ", P);
  const c10::cuda::CUDAGuard guard(bases.device());

  // Host tables (B is small: 8 L-T images, 72 triangle-square images), float64.
  auto cpu_d = [](const at::Tensor& t) { return t.to(at::kCPU, at::kDouble).contiguous(); };
  auto bs = cpu_d(bases), of = cpu_d(offsets), w = cpu_d(weight);
  auto lab = labels.to(at::kCPU).contiguous(), pix = pixels.to(at::kCPU).contiguous();
  const int64_t* lp = lab.data_ptr<int64_t>();
  const int64_t* pp = pix.data_ptr<int64_t>();
  const int64_t qside = n - k + 1, Q = qside * qside, FQ = 2 * Q;
  const double* bp = bs.data_ptr<double>();
  const double* op = of.data_ptr<double>();
  const double* wp = w.data_ptr<double>();
  auto clamp01 = [](double v) { return v < 0 ? 0.0 : (v > 1 ? 1.0 : v); };
  std::vector<double> img(B * n * n), delta(B * P * K), coef(B * P * FQ), zbase(B * FQ, 0.0);
  std::vector<int32_t> dmap(B * n * n, -1);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t p = 0; p < n * n; ++p) img[b * n * n + p] = clip ? clamp01(bp[b * n * n + p]) : bp[b * n * n + p];
    for (int64_t d = 0; d < P; ++d) {
      const int64_t px = pp[b * P + d];
      dmap[b * n * n + px] = static_cast<int32_t>(d);
      for (int64_t v = 0; v < K; ++v) {
        const double o = op[(b * P + d) * K + v];
        // with clip, the digit's change is clamp(base + o) - clamp(base): one term per digit
        delta[(b * P + d) * K + v] = clip ? clamp01(bp[b * n * n + px] + o) - img[b * n * n + px] : o;
      }
      for (int64_t fq = 0; fq < FQ; ++fq) coef[(b * P + d) * FQ + fq] = tap(wp, n, k, qside, fq / Q, fq % Q, px);
    }
    for (int64_t fq = 0; fq < FQ; ++fq)
      for (int64_t p = 0; p < n * n; ++p) zbase[b * FQ + fq] += tap(wp, n, k, qside, fq / Q, fq % Q, p) * img[b * n * n + p];
  }
  auto dev = at::TensorOptions().device(bases.device());
  auto to_dev = [&](const auto& v, at::ScalarType st) {
    return at::from_blob(const_cast<void*>(static_cast<const void*>(v.data())), {static_cast<int64_t>(v.size())},
                         at::TensorOptions().dtype(st))
        .to(dev.dtype(st));
  };
  auto img_d = to_dev(img, at::kDouble), delta_d = to_dev(delta, at::kDouble), coef_d = to_dev(coef, at::kDouble);
  auto zbase_d = to_dev(zbase, at::kDouble), dmap_d = to_dev(dmap, at::kInt);
  auto lab_d = labels.contiguous(), pix_d = pixels.contiguous();

  auto f64 = dev.dtype(at::kDouble);
  auto loss = at::zeros({}, f64), gw = at::zeros({2, k, k}, f64), gb = at::zeros({2}, f64);
  auto correct = at::zeros({}, dev.dtype(at::kLong));
  auto min_margin = at::full({}, INFINITY, f64);
  std::vector<at::Tensor> wrong_parts;
  int64_t n_wrong = 0;
  at::Tensor mask;
  with_loss = with_loss || with_grad;
  for (int64_t lo = start; lo < stop; lo += kChunk) {
    const int64_t hi = std::min(stop, lo + kChunk);
    const bool want_wrong = n_wrong < max_misclassified;
    if (want_wrong && !mask.defined()) mask = at::empty({kChunk}, dev.dtype(at::kByte));
    Dims dm{n, k, P, K, Q, qside, per_base, lo, hi, with_loss, with_grad};
    const int64_t blocks = std::min<int64_t>(shortcutbench::cuda::blocks_for(hi - lo), 65535);
    const size_t shared = (2 * k * k + 3) * sizeof(double);
    AT_DISPATCH_FLOATING_TYPES(bases.scalar_type(), "lt_extended_cuda", [&] {
      scalar_t b0 = 0, b1 = 0;
      if (bias.has_value() && bias->defined()) {
        auto bb = bias->to(at::kCPU).contiguous();
        TORCH_CHECK(bb.numel() == 2 && bb.scalar_type() == bases.scalar_type(), "bias must be [2] of the weight's dtype");
        b0 = bb.data_ptr<scalar_t>()[0];
        b1 = bb.data_ptr<scalar_t>()[1];
      }
      lt_kernel<scalar_t><<<blocks, shortcutbench::cuda::kThreads, shared, c10::cuda::getCurrentCUDAStream()>>>(
          dm, img_d.data_ptr<double>(), delta_d.data_ptr<double>(), dmap_d.data_ptr<int32_t>(),
          coef_d.data_ptr<double>(), zbase_d.data_ptr<double>(), lab_d.data_ptr<int64_t>(), pix_d.data_ptr<int64_t>(),
          b0, b1, loss.data_ptr<double>(), gw.data_ptr<double>(), gb.data_ptr<double>(),
          reinterpret_cast<unsigned long long*>(correct.data_ptr<int64_t>()), min_margin.data_ptr<double>(),
          want_wrong ? mask.data_ptr<uint8_t>() : nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    if (want_wrong) {
      auto idx = at::nonzero(mask.narrow(0, 0, hi - lo)).squeeze(1);
      idx = idx.narrow(0, 0, std::min<int64_t>(idx.size(0), max_misclassified - n_wrong)) + lo;
      n_wrong += idx.size(0);
      wrong_parts.push_back(idx);
    }
  }
  auto mis = wrong_parts.empty() ? at::empty({0}, dev.dtype(at::kLong)) : at::cat(wrong_parts);
  if (!with_loss) loss.zero_();
  return {loss, gw, gb, correct, min_margin, mis};
}

}  // namespace

TORCH_LIBRARY_IMPL(shortcutbench, CUDA, m) { m.impl("lt_extended", &lt_extended_cuda); }
