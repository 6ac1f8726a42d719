// The pairwise rule (DESIGN §3) over the K-leaf results of many outputs at once, for the CPU dot
// products of contract 2 (GEMM, every convolution pass): leaves are fed one at a time into a
// binary counter of partial matrices, like runtime/reduction_rules.h's PairwiseStack for one
// value, so it gives the bits of the pairwise rule over the leaves in order while holding at
// most log2(leaves) + 2 matrices. One leaf alone is returned as it is (K <= kDotLeaf: one chain).
#pragma once

#include <cstdint>
#include <vector>

namespace detnn::kernels {

class LeafCombiner {
 public:
  explicit LeafCombiner(int64_t outputs) : outputs_(static_cast<size_t>(outputs)) {}
  // The buffers go back to this thread's spares: a kernel calls this for every block of outputs,
  // and fresh large buffers each time cost page faults.
  ~LeafCombiner() {
    for (auto& level : levels_) spares().push_back(std::move(level));
  }
  LeafCombiner(const LeafCombiner&) = delete;
  LeafCombiner& operator=(const LeafCombiner&) = delete;

  // Where the next leaf's results go (`outputs` floats); valid until the next push().
  float* next_leaf() {
    if (levels_.size() <= top_) {
      if (spares().empty()) {
        levels_.emplace_back(outputs_);
      } else {
        levels_.push_back(std::move(spares().back()));
        spares().pop_back();
        levels_.back().resize(outputs_);
      }
    }
    return levels_[top_].data();
  }

  // The buffer of next_leaf() now holds a leaf: each trailing zero bit of the new count closes
  // one complete left + right pair.
  void push() {
    ++top_;
    ++count_;
    for (uint64_t m = count_; (m & 1) == 0; m >>= 1) {
      add_into(levels_[top_ - 2], levels_[top_ - 1]);
      --top_;
    }
  }

  // The pairwise combination of every leaf pushed: the incomplete groups left on the stack,
  // right to left (a shorter right group is what the pairwise rule carries up).
  const float* result() {
    for (size_t i = top_ - 1; i > 0; --i) add_into(levels_[i - 1], levels_[i]);
    top_ = 1;
    return levels_[0].data();
  }

 private:
  static void add_into(std::vector<float>& left, const std::vector<float>& right) {
    for (size_t i = 0; i < left.size(); ++i) left[i] = left[i] + right[i];
  }

  static std::vector<std::vector<float>>& spares() {
    thread_local std::vector<std::vector<float>> buffers;
    return buffers;
  }

  size_t outputs_;
  std::vector<std::vector<float>> levels_;
  size_t top_ = 0;
  uint64_t count_ = 0;
};

}  // namespace detnn::kernels
