// CPU weights digest (kernels/weights_digest.h): threads sum disjoint ranges; the integer sum
// does not depend on how the ranges fall.
#include "kernels/weights_digest.h"

#include <atomic>

#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

uint64_t weights_digest_cpu(const float* x, int64_t n) {
  DETNN_CHECK(n >= 0 && n < (int64_t{1} << 32), invalid_argument, "weights_digest: n must be in [0, 2^32), got ", n);
  DETNN_CHECK(x != nullptr || n == 0, invalid_argument, "weights_digest: x is null");
  std::atomic<uint64_t> total{0};
  cpu_thread_pool().parallel_for(
      n,
      [&](int64_t begin, int64_t end) { total.fetch_add(weights_digest_range(x, begin, end), std::memory_order_relaxed); },
      1 << 16);
  return total.load();
}

}  // namespace detnn::kernels
