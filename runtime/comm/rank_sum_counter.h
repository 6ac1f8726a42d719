// The per-element algorithm of the CUDA rank sum (runtime/comm/rank_sum.cu), written once for the
// host and the device so that the CPU tests check, for every rank count, that it gives the bits
// of the pairwise rule (runtime/comm/rank_sum.h) without a GPU.
//
// The ranks' values are fed in rank order to a binary counter of partial sums: while bit l of
// the number of ranks fed so far is set, level l holds the pairwise sum of a complete, aligned
// group of 2^l ranks. A new group closes every complete left group of its size by one addition,
// left + right — exactly the additions of the level-by-level rule — and at the end the incomplete
// groups are combined right to left, which is how the rule carries a short right group up until
// it meets its left neighbour (runtime/reduction_rules.h's PairwiseStack, with fixed levels so that a
// GPU keeps them in registers).
//
// Whole groups of four ranks are read first (four independent loads in flight) and enter the
// counter as the rule's level-2 node (v0 + v1) + (v2 + v3); the last ranks enter one by one.
#pragma once

#include <bit>

#include "runtime/host_device.h"

// Device passes only: the host compiler would warn about an unknown pragma.
#if defined(__CUDA_ARCH__)
#define DETNN_UNROLL _Pragma("unroll")
#else
#define DETNN_UNROLL
#endif

namespace detnn::rank_counter {

// Counter levels for `ranks` ranks: a count below 2^L needs L levels; four sizes keep the number
// of kernel instances small. 0 for a rank count the counter cannot hold (> 65535).
constexpr int levels_for(unsigned ranks) {
  const int bits = std::bit_width(ranks);
  return bits <= 4 ? 4 : bits <= 8 ? 8 : bits <= 12 ? 12 : bits <= 16 ? 16 : 0;
}

// One IEEE float addition, never contracted or reordered: __fadd_rn on the device; the host code
// is built with -ffp-contract=off (DESIGN §2).
DETNN_HD float add_rn(float left, float right) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(left, right);
#else
  return left + right;
#endif
}

DETNN_HD int trailing_ones(unsigned x) {
#if defined(__CUDA_ARCH__)
  return __ffs(static_cast<int>(~x)) - 1;  // x < 2^16 here, so ~x has a set bit
#else
  return std::countr_one(x);
#endif
}

template <int V>
struct Lanes {
  float v[V];
};

template <int V>
DETNN_HD Lanes<V> add(const Lanes<V>& left, const Lanes<V>& right) {
  Lanes<V> s;
  DETNN_UNROLL
  for (int k = 0; k < V; ++k) s.v[k] = add_rn(left.v[k], right.v[k]);
  return s;
}

// Feeds a complete group of 2^From ranks, whose pairwise sum is `carry`, after `fed` ranks (a
// multiple of 2^From): it closes one complete left group per trailing one bit of fed >> From and
// lands on the first zero bit. The caller keeps every count below 2^L, so the carry always lands.
// Fully unrolled with conditions that are the same for every element, so `level` stays in
// registers.
template <int From, int L, int V>
DETNN_HD void feed(Lanes<V> (&level)[L], Lanes<V> carry, unsigned fed) {
  const int closes = trailing_ones(fed >> From);
  DETNN_UNROLL
  for (int l = From; l < L; ++l) {
    if (l - From < closes) {
      carry = add(level[l], carry);  // the complete left group + this right group
    } else if (l - From == closes) {
      level[l] = carry;
    }
  }
}

// The pairwise rank-order combine of load(r), r = 0..ranks-1 (V lanes at once);
// 1 <= ranks < 2^L. `load(r)` returns rank r's Lanes<V>.
template <int L, int V, class Load>
DETNN_HD Lanes<V> combine_ranks(unsigned ranks, const Load& load) {
  Lanes<V> level[L];
  DETNN_UNROLL
  for (int l = 0; l < L; ++l) level[l] = Lanes<V>{};
  unsigned fed = 0;
  for (; fed + 4 <= ranks; fed += 4) {
    const Lanes<V> a = load(fed), b = load(fed + 1), c = load(fed + 2), d = load(fed + 3);
    feed<2>(level, add(add(a, b), add(c, d)), fed);
  }
  for (; fed < ranks; ++fed) feed<0>(level, load(fed), fed);
  // The groups left, lowest level (rightmost ranks) first: acc = left + acc.
  Lanes<V> acc = Lanes<V>{};
  bool have = false;
  DETNN_UNROLL
  for (int l = 0; l < L; ++l) {
    if ((ranks >> l) & 1u) {
      acc = have ? add(level[l], acc) : level[l];
      have = true;
    }
  }
  return acc;
}

}  // namespace detnn::rank_counter
