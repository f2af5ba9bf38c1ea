#pragma once
// The elastic-net coordinate-descent core shared by the CPU kernels of enet_cd and enet_cd_path
// (see ops/enet_cd.py for the meaning). Each function runs the copy for the active ISA path
// (isa.h): the build targets baseline x86-64, and on this float64 loop AVX2+FMA is ~20 % faster.
#include <cstdint>

namespace sb_enet_cd {

struct SweepStats {
  int64_t sweeps = 0, halvings = 0, passes = 0;
  double last = 0;
};

// Up to max_sweeps sweeps over the classes first_class..k−1 on the columns J[0..m) (ops/enet_cd.py
// steps 1–4); W [k, d], b [k] and E [k, n] (= W X + b) in place.
SweepStats run_sweeps(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                      const int64_t* J, int64_t m, double* W, double* b, double* E, double lam, double alpha,
                      int64_t max_sweeps, double tol, int64_t first_class);

// The duality-gap certificate of glm/objective.py at (W, b) with logits E = W X + b; out = {primal,
// dual, gap, data loss, training accuracy}, grad G [d, k] = Xᵀθ/n at the optimal bias.
void certificate(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                 const double* W, const double* b, const double* E, double lam, double alpha, int64_t first_class,
                 double* G, double* out);

}  // namespace sb_enet_cd
