// CPU dropout: threads split the Philox draw blocks of the call (each block is four outputs
// computed on their own), so any thread count gives the same bits.
#include "kernels/dropout.h"

#include <limits>

#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

void DropoutParams::validate() const {
  DETNN_CHECK(p >= 0.0f && p < 1.0f, invalid_argument, "dropout: p must be in [0, 1), got ", p);
  DETNN_CHECK(step <= std::numeric_limits<uint32_t>::max(), invalid_argument,
              "dropout: step must fit in 32 bits, got ", step);
  DETNN_CHECK(sample_size >= 0, invalid_argument, "dropout: sample_size must be >= 0, got ", sample_size);
  DETNN_CHECK(first_sample >= 0, invalid_argument, "dropout: first_sample must be >= 0, got ", first_sample);
  DETNN_CHECK(samples >= 0, invalid_argument, "dropout: samples must be >= 0, got ", samples);
  // Global element indices must fit the 64-bit Philox counter space without overflow.
  const int64_t limit = int64_t{1} << 62;
  DETNN_CHECK(sample_size == 0 || first_sample + samples <= limit / sample_size, invalid_argument,
              "dropout: (first_sample + samples) * sample_size must be < 2^62, got (", first_sample,
              " + ", samples, ") * ", sample_size);
}

namespace {

void dropout_apply_cpu(const float* in, float* out, const DropoutParams& prm) {
  prm.validate();
  const int64_t n = prm.elements();
  if (n == 0) return;
  const uint64_t base = static_cast<uint64_t>(prm.first_sample) * prm.sample_size;
  const uint64_t first_block = base / 4, last_block = (base + n - 1) / 4;
  const PhiloxKey key = philox_stream_key(prm.seed, RandomPurpose::dropout);
  const float scale = prm.scale();
  const uint32_t step = static_cast<uint32_t>(prm.step);
  cpu_thread_pool().parallel_for(
      static_cast<int64_t>(last_block - first_block + 1),
      [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k)
          dropout_detail::apply_block(key, first_block + k, step, prm.layer_hash, base, n, prm.p,
                                      scale, in, out);
      },
      4096);
}

}  // namespace

void dropout_forward_cpu(const float* x, float* y, const DropoutParams& params) {
  dropout_apply_cpu(x, y, params);
}

void dropout_backward_cpu(const float* dy, float* dx, const DropoutParams& params) {
  dropout_apply_cpu(dy, dx, params);
}

}  // namespace detnn::kernels
