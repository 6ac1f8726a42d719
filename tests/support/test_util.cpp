#include "support/test_util.h"

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace detnn::test {

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

long long first_bit_difference(const float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (float_bits(a[i]) != float_bits(b[i])) return static_cast<long long>(i);
  return -1;
}

int cuda_device_count_visible() {
#ifdef DETNN_HAVE_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error for later calls
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

bool cuda_device_present() { return cuda_device_count_visible() > 0; }

}  // namespace detnn::test

#include <cstdlib>
#include <cstring>

namespace detnn::test {
bool quick_mode() {
  const char* v = std::getenv("DETNN_TEST_QUICK");
  return v != nullptr && std::strcmp(v, "0") != 0;
}
}  // namespace detnn::test
