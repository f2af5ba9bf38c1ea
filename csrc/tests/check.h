// Minimal assertion helpers for the C++ unit tests (no test framework dependency).
#pragma once
#include <cmath>
#include <cstdio>

static int sb_failures = 0;

#define SB_EXPECT(cond)                                                        \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: expectation failed: %s\n", __FILE__, __LINE__, #cond); \
      ++sb_failures;                                                           \
    }                                                                          \
  } while (0)

#define SB_EXPECT_NEAR(a, b, tol) SB_EXPECT(std::fabs(static_cast<double>(a) - static_cast<double>(b)) <= (tol))

#define SB_TEST_MAIN_END()                                                     \
  do {                                                                         \
    if (sb_failures) std::fprintf(stderr, "%d expectation(s) failed\n", sb_failures); \
    else std::printf("all expectations passed\n");                             \
    return sb_failures ? 1 : 0;                                                \
  } while (0)
