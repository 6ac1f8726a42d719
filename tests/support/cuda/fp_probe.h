// The DESIGN §2 operations evaluated on the device, for host-vs-device bit comparisons.
#pragma once

#include <cstdint>

namespace detnn::test {

// For each i: mul_add[i] = a*b + c (two operations), fused[i] = fmaf(a, b, c), quotient[i] =
// a / b, root[i] = sqrtf(|a|), half[i] = a * 2^-130 (into the denormal range). Host arrays.
void fp_ops_cuda(const float* a, const float* b, const float* c, int64_t n, float* mul_add,
                 float* fused, float* quotient, float* root, float* half);

}  // namespace detnn::test
