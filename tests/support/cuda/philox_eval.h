// Device-side evaluation of runtime/philox.h for the gpu tests (host pointers in and out).
#pragma once

#include <cstdint>

#include "runtime/philox.h"

namespace detnn::test {

void philox_blocks_cuda(const PhiloxBlock* counters, const PhiloxKey* keys, PhiloxBlock* out, int n);

// out[i] = random_uniform / random_normal(key, first + i, a, b), with the given launch shape.
void random_uniform_cuda(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out,
                         int block, int grid);
void random_normal_cuda(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out,
                        int block, int grid);

}  // namespace detnn::test
