// One copy of the elastic-net CD kernel (enet_cd_kernel.h) per ISA path, chosen at run time
// (isa.h), behind the declarations of enet_cd_impl.h. The standard headers come first so that
// nothing they define inline is compiled under a wider target than the build's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "enet_cd_impl.h"
#include "isa.h"

namespace sb_enet_cd {

#define SB_ISA_KERNEL "enet_cd_kernel.h"
#include "isa_copies.h"

SweepStats run_sweeps(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                      const int64_t* J, int64_t m, double* W, double* b, double* E, double lam, double alpha,
                      int64_t max_sweeps, double tol, int64_t first_class) {
  return SB_ISA_PICK(run_sweeps)(X, y, s, n, d, k, J, m, W, b, E, lam, alpha, max_sweeps, tol, first_class);
}

void certificate(const double* X, const int64_t* y, const double* s, int64_t n, int64_t d, int64_t k,
                 const double* W, const double* b, const double* E, double lam, double alpha, int64_t first_class,
                 double* G, double* out) {
  SB_ISA_PICK(certificate)(X, y, s, n, d, k, W, b, E, lam, alpha, first_class, G, out);
}

}  // namespace sb_enet_cd
