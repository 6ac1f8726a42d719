// A cheap 64-bit digest of a float tensor, computed where the tensor lives, for the per-step
// `weights_digest` of metrics.jsonl (docs/reproducibility.md): equal digests, equal bits (up to a
// 2^-64 chance); any one changed bit changes it.
//
//   digest = sum over i of mix64((i << 32) | bits(x[i]))   mod 2^64
//
// mix64 is splitmix64's finalizer (a bijection of 64-bit words), i is the element's index (< 2^32)
// and bits its IEEE-754 pattern. Integer addition mod 2^64 is associative and commutative, so
// any split of the sum — threads, blocks, atomics on 64-bit integers — gives the same value: it
// never depends on the launch shape or the thread count (DESIGN §3 concerns float sums only).
#pragma once

#include <cstdint>
#include <cstring>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "runtime/host_device.h"

namespace detnn::kernels {

DETNN_HD uint64_t digest_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

DETNN_HD uint64_t digest_term(uint64_t index, uint32_t bits) { return digest_mix64((index << 32) | bits); }

// The terms of elements [begin, end) of x, summed on the calling thread (any split of [0, n) into
// ranges, summed, gives the digest).
inline uint64_t weights_digest_range(const float* x, int64_t begin, int64_t end) {
  uint64_t sum = 0;
  for (int64_t i = begin; i < end; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    sum += digest_term(static_cast<uint64_t>(i), bits);
  }
  return sum;
}

// x [n], n < 2^32, on the CPU thread pool.
uint64_t weights_digest_cpu(const float* x, int64_t n);

#ifdef DETNN_HAVE_CUDA
// *digest (device memory) = the digest of x [n] (device memory); asynchronous on `stream`.
void weights_digest_cuda(const float* x, int64_t n, uint64_t* digest, cudaStream_t stream);
#endif

}  // namespace detnn::kernels
