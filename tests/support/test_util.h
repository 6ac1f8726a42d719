// Helpers shared by the test suites: seeded random inputs, bit comparison, GPU presence.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn::test {

// Runs `call`, which must throw detnn::Error with `code` and a message that contains `expected`
// (the fault it names: a value, a file, a JSON path), not merely any error.
template <class Call>
void expect_error(Call&& call, ErrorCode code, const std::string& expected) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one containing \"" << expected << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << "expected \"" << expected << "\" in: " << e.what();
  }
}

// Uniform floats in [lo, hi) from a seeded std::mt19937 (test inputs only; the library
// itself draws from Philox).
std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

// Index of the first element whose bits differ, or -1 when all bits are equal.
long long first_bit_difference(const float* a, const float* b, size_t n);

// True when a CUDA device is usable by this process (always false in a CPU-only build).
bool cuda_device_present();
// The CUDA devices this process sees (0 without a device or in a CPU-only build).
int cuda_device_count_visible();

// Sets or unsets an environment variable for one scope, restoring it afterwards.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnvironment() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace detnn::test

// At the top of every gpu test: skips visibly (ctest counts it as skipped) without a device.
#define DETNN_REQUIRE_GPU()                                                    \
  do {                                                                         \
    if (!::detnn::test::cuda_device_present()) GTEST_SKIP() << "no CUDA device present"; \
  } while (0)

// A test of what several GPUs do together skips, saying so, where fewer are visible: with one
// rank a collective has nothing to combine, and passing then would claim what was not tested.
#define DETNN_REQUIRE_GPUS(n)                                                                         \
  do {                                                                                                \
    DETNN_REQUIRE_GPU();                                                                              \
    const int visible_gpus_ = ::detnn::test::cuda_device_count_visible();                             \
    if (visible_gpus_ < (n)) GTEST_SKIP() << "needs " << (n) << " GPUs, " << visible_gpus_ << " visible"; \
  } while (0)

namespace detnn {
// Restores the CPU thread count when a thread-invariance test ends.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};
}  // namespace detnn

namespace detnn::test {
// DETNN_TEST_QUICK=1 (set by tools/gpu-check under compute-sanitizer, which runs kernels 10-100x
// slower) shrinks the large sizes of gpu tests; the small and odd sizes stay.
bool quick_mode();
inline int64_t scaled_size(int64_t n) { return quick_mode() && n > (1 << 16) ? n / 16 + 1 : n; }
}  // namespace detnn::test
