// The C API's random bits and float32 functions for tools (detnn_sweep_random_bits,
// detnn_math_*): thin wrappers over runtime/philox.h and runtime/dmath.h, so a tool's draws follow
// the same contract as the library's own (DESIGN §2.3, §4).
#include "detnn/detnn.h"
#include "runtime/dmath.h"
#include "runtime/philox.h"

extern "C" {

uint64_t detnn_sweep_random_bits(uint64_t seed, uint32_t trial, uint32_t stream, uint64_t index) {
  const detnn::PhiloxKey key = detnn::philox_stream_key(seed, detnn::RandomPurpose::sweep);
  const detnn::PhiloxBlock b = detnn::philox_draw(key, index, trial, stream);
  return (static_cast<uint64_t>(b.w[0]) << 32) | b.w[1];
}

float detnn_math_exp(float x) { return detnn::dmath::exp(x); }
float detnn_math_log(float x) { return detnn::dmath::log(x); }
float detnn_math_erf(float x) { return detnn::dmath::erf(x); }
float detnn_math_cospi(float x) { return detnn::dmath::cospi(x); }

}  // extern "C"
