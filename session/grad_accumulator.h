// Gradient accumulation over passes (DESIGN §3): a binary counter of partial sums over flat
// gradient vectors, fed one node at a time. A node at level m is the pairwise sum of 2^m
// consecutive chunk partials and may only be pushed when the chunks so far are a multiple of 2^m;
// then the result has exactly the bits of the pairwise rule over all chunks in order, however
// the chunks were grouped into passes.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace detnn {

class GradAccumulator {
 public:
  GradAccumulator(int64_t size, Device device, uintptr_t stream = 0);

  void reset();
  // Adds a node of 2^level chunks (left + right merges as the counter carries). `node` is
  // consumed: the accumulator may keep it.
  void push(Tensor node, int level);
  // The pairwise sum of everything pushed, written to out[0, size).
  void result(float* out);

 private:
  struct Entry {
    Tensor sum;
    int level;
  };
  void add(const Tensor& left, Tensor& right_and_out);
  int64_t size_;
  Device device_;
  uintptr_t stream_;
  std::vector<Entry> stack_;
};

}  // namespace detnn
