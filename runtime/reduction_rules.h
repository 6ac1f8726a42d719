// The canonical reduction rules of DESIGN §3, as host/device building blocks.
//
//  - A leaf is up to kReductionLeaf consecutive elements summed sequentially from 0.0f.
//  - Partials are combined by the pairwise rule: at each level element 2i+1 is added to element
//    2i (left + right) and an odd last element is carried up unchanged. Equivalently, node j of
//    level l is the sum of the level-0 values [j*2^l, (j+1)*2^l): any aligned power-of-two group
//    can be reduced on its own (one CUDA block, one rank's chunks) and combined later with the
//    same bits. That is what makes the results independent of launch shapes and rank counts.
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/host_device.h"

namespace detnn {

// The version of DESIGN §3's numerics contract the kernels implement, recorded in every manifest
// (environment) and checkpoint; a checkpoint of another version is not resumed unless forced.
// A change of the bits any kernel computes is a new version: the golden pins of the tests are
// kept per version (tests/data/golden/), so that such a change has to be recorded on purpose.
// Version 1: every dot product one fmaf chain whatever K. Version 2: K-leaves of kDotLeaf.
constexpr int kNumericsContractVersion = 2;

constexpr int64_t kReductionLeaf = 256;

// Contract 2: a dot product (GEMM or convolution K) is cut into K-leaves of this many
// consecutive terms, each one fmaf chain from 0.0f, combined by the pairwise rule.
constexpr int64_t kDotLeaf = 1024;

DETNN_HD float sequential_sum(const float* x, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc = acc + x[i];
  return acc;
}

// Pairwise rule over v[0..n), in place; returns the result (0.0f for n == 0).
DETNN_HD float pairwise_combine_in_place(float* v, int64_t n) {
  if (n == 0) return 0.0f;
  while (n > 1) {
    const int64_t half = n / 2;
    for (int64_t i = 0; i < half; ++i) v[i] = v[2 * i] + v[2 * i + 1];
    if (n & 1) v[half] = v[n - 1];
    n = half + (n & 1);
  }
  return v[0];
}

// The pairwise rule fed one value at a time (a binary counter of partial sums): gives exactly
// the bits of pairwise_combine_in_place over the same sequence. Used for streams of unknown
// length, e.g. gradient accumulation over passes (DESIGN §3) and chunk partials on the GPU.
struct PairwiseStack {
  static constexpr int kDepth = 64;  // enough for 2^64 values
  float level_sum[kDepth];
  int top = 0;
  uint64_t count = 0;

  DETNN_HD void push(float x) {
    level_sum[top++] = x;
    ++count;
    // Each trailing zero bit of the new count closes one complete left+right pair.
    for (uint64_t m = count; (m & 1) == 0; m >>= 1) {
      level_sum[top - 2] = level_sum[top - 2] + level_sum[top - 1];
      --top;
    }
  }
  // The incomplete groups left on the stack are combined right to left: a shorter right group
  // is what the pairwise rule carries up until it meets its left neighbour.
  DETNN_HD float result() const {
    if (top == 0) return 0.0f;
    float acc = level_sum[top - 1];
    for (int i = top - 2; i >= 0; --i) acc = level_sum[i] + acc;
    return acc;
  }
};

// Contract 2's dot product fed one term at a time, for code that owns one output from start to
// end (the direct CUDA convolution kernels): K-leaves of kDotLeaf fmaf chains from 0.0f, each
// pushed into the pairwise rule as it completes. K <= kDotLeaf gives the plain chain.
struct DotLeafChain {
  PairwiseStack leaves;
  float acc = 0.0f;
  int64_t in_leaf = 0;

  DETNN_HD void add(float a, float b) {
    if (in_leaf == kDotLeaf) {
      leaves.push(acc);
      acc = 0.0f;
      in_leaf = 0;
    }
    acc = fmaf(a, b, acc);
    ++in_leaf;
  }
  // Call once, after the last term.
  DETNN_HD float result() {
    if (leaves.count == 0) return acc;
    leaves.push(acc);
    return leaves.result();
  }
};

}  // namespace detnn
