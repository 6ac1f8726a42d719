// DESIGN §3 written a second, independent way, as the tests' definition of the contract:
// the pairwise rule as a recursion (the left part is the largest power of two below n), the
// canonical sum as sequential leaves of 256 combined by it, and contract 2's dot product as
// K-leaves of 1024 fmaf chains combined by it.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
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

// A dot product of K terms under contract 2, fed term by term with each term's index k in the
// documented K order (indices must increase; a term that is a zero product may be left out, as
// long as the chain's value is not -0 there). Term k belongs to leaf k / 1024; each leaf is an
// fmaf chain from 0.0f; the ceil(K / 1024) leaves (at least one) are combined pairwise.
class ContractDot {
 public:
  static constexpr int64_t kLeaf = 1024;

  void add(int64_t k, float a, float b) {
    while (k >= (static_cast<int64_t>(done_.size()) + 1) * kLeaf) {
      done_.push_back(acc_);
      acc_ = 0.0f;
    }
    acc_ = std::fma(a, b, acc_);
  }

  float result(int64_t K) const {
    std::vector<float> leaves = done_;
    leaves.push_back(acc_);
    while (static_cast<int64_t>(leaves.size()) * kLeaf < K) leaves.push_back(0.0f);
    return contract_pairwise(leaves.data(), static_cast<int64_t>(leaves.size()));
  }

 private:
  std::vector<float> done_;
  float acc_ = 0.0f;
};

inline uint64_t mix64(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Input `index` of a seeded series: a random sign, mantissa and exponent in [2^-8, 2^8), so that
// the order of additions over such values shows in the bits of their sum.
inline float order_sensitive_input(uint64_t seed, uint64_t index) {
  const uint64_t h = mix64(seed ^ mix64(index));
  const uint32_t bits =
      static_cast<uint32_t>(h & 0x807fffffu) | (static_cast<uint32_t>(127 - 8 + (h >> 32) % 16) << 23);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Rank `rank`'s element i of a seeded all-reduce test (order-sensitive values).
inline float rank_input(uint64_t seed, int rank, int64_t i) {
  return order_sensitive_input(seed, static_cast<uint64_t>(rank) << 40 ^ static_cast<uint64_t>(i));
}

// The elements, summed over the ranks, on which results[r] differs from the pairwise rank-order
// combine of rank_input(seed, 0..P-1, i): what an all-reduce of those inputs gets wrong.
inline int64_t wrong_all_reduce_elements(const std::vector<std::vector<float>>& results, uint64_t seed,
                                         int64_t count) {
  const int ranks = static_cast<int>(results.size());
  int64_t wrong = 0;
  std::vector<float> v(static_cast<size_t>(ranks));
  for (int64_t i = 0; i < count; ++i) {
    for (int r = 0; r < ranks; ++r) v[r] = rank_input(seed, r, i);
    const float expected = contract_pairwise(v.data(), ranks);
    for (int r = 0; r < ranks; ++r) wrong += std::memcmp(&results[r][i], &expected, sizeof(float)) != 0;
  }
  return wrong;
}

}  // namespace detnn::test
