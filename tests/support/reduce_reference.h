// DESIGN §3 written a second, independent way, as the tests' definition of the contract:
// the pairwise rule as a recursion (the left part is the largest power of two below n), and
// the canonical sum as sequential leaves of 256 combined by it.
#pragma once

#include <cstdint>
#include <vector>

namespace detnn::test {

inline float contract_pairwise(const float* v, int64_t n) {
  if (n == 0) return 0.0f;
  if (n == 1) return v[0];
  int64_t left = 1;
  while (left * 2 < n) left *= 2;
  const float l = contract_pairwise(v, left);
  const float r = contract_pairwise(v + left, n - left);
  return l + r;
}

inline float contract_sum(const float* x, int64_t n) {
  std::vector<float> leaves;
  for (int64_t i = 0; i < n; i += 256) {
    float acc = 0.0f;
    for (int64_t j = i; j < n && j < i + 256; ++j) acc = acc + x[j];
    leaves.push_back(acc);
  }
  return contract_pairwise(leaves.data(), static_cast<int64_t>(leaves.size()));
}

}  // namespace detnn::test
