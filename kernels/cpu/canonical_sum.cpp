#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/canonical_sum.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

void validate_sum_layout(const SumLayout& l) {
  DETNN_CHECK(l.outputs >= 0 && l.length >= 0, invalid_argument,
              "sum layout: outputs (", l.outputs, ") and length (", l.length,
              ") must be non-negative");
  DETNN_CHECK(l.inner >= 1, invalid_argument, "sum layout: inner must be >= 1, got ", l.inner);
}

namespace {

// Sequential sum of elements [begin, end) of one output, walking the (outer, inner) index
// incrementally instead of dividing per element.
float leaf_sum(const float* base, const SumLayout& l, int64_t begin, int64_t end) {
  int64_t outer = begin / l.inner, in = begin % l.inner;
  float acc = 0.0f;
  for (int64_t i = begin; i < end; ++i) {
    acc = acc + base[outer * l.outer_stride + in];
    if (++in == l.inner) {
      in = 0;
      ++outer;
    }
  }
  return acc;
}

// Eight full leaves (kReductionLeaf elements each) summed side by side: each is its own sequential
// chain, as in leaf_sum, but eight independent chains keep the adder busy where one waits on the
// latency of the previous addition. firsts[j] is leaf j's first element index in its output.
void eight_leaf_sums(const float* const* bases, const int64_t* firsts, const SumLayout& l, float* out) {
  constexpr int kLeaves = 8;
  const float* ptr[kLeaves];
  int64_t run[kLeaves];  // elements left in the current contiguous run of `inner`
  float acc[kLeaves];
  for (int j = 0; j < kLeaves; ++j) {
    const int64_t outer = firsts[j] / l.inner, in = firsts[j] % l.inner;
    ptr[j] = bases[j] + outer * l.outer_stride + in;
    run[j] = l.inner - in;
    acc[j] = 0.0f;
  }
  // Stretches in which no leaf reaches the end of a run: plain loads, no branches.
  for (int64_t done = 0; done < kReductionLeaf;) {
    int64_t step = kReductionLeaf - done;
    for (int j = 0; j < kLeaves; ++j) step = std::min(step, run[j]);
    for (int64_t i = 0; i < step; ++i)
      for (int j = 0; j < kLeaves; ++j) acc[j] = acc[j] + ptr[j][i];
    for (int j = 0; j < kLeaves; ++j) {
      run[j] -= step;
      ptr[j] += step;
      if (run[j] == 0) {
        ptr[j] += l.outer_stride - l.inner;
        run[j] = l.inner;
      }
    }
    done += step;
  }
  for (int j = 0; j < kLeaves; ++j) out[j] = acc[j];
}

}  // namespace

void canonical_sum_cpu(const float* x, float* out, const SumLayout& l) {
  validate_sum_layout(l);
  if (l.outputs == 0) return;
  const int64_t leaves = (l.length + kReductionLeaf - 1) / kReductionLeaf;
  if (leaves == 0) {
    std::fill(out, out + l.outputs, 0.0f);
    return;
  }
  // Stage 1: every leaf partial is its own output of the parallel loop.
  std::vector<float> partial(static_cast<size_t>(l.outputs * leaves));
  cpu_thread_pool().parallel_for(
      l.outputs * leaves,
      [&](int64_t begin, int64_t end) {
        auto full = [&](int64_t p) { return (p % leaves + 1) * kReductionLeaf <= l.length; };
        for (int64_t p = begin; p < end;) {
          bool eight = p + 8 <= end;
          for (int64_t q = p; eight && q < p + 8; ++q) eight = full(q);
          if (eight) {
            const float* bases[8];
            int64_t firsts[8];
            for (int j = 0; j < 8; ++j) {
              bases[j] = x + ((p + j) / leaves) * l.output_stride;
              firsts[j] = ((p + j) % leaves) * kReductionLeaf;
            }
            eight_leaf_sums(bases, firsts, l, &partial[p]);
            p += 8;
            continue;
          }
          const int64_t o = p / leaves, leaf = p % leaves;
          const int64_t first = leaf * kReductionLeaf;
          const int64_t last = std::min(first + kReductionLeaf, l.length);
          partial[p] = leaf_sum(x + o * l.output_stride, l, first, last);
          ++p;
        }
      },
      16);
  // Stage 2: the pairwise tree of each output, in place over its leaves.
  cpu_thread_pool().parallel_for(l.outputs, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) out[o] = pairwise_combine_in_place(&partial[o * leaves], leaves);
  });
}

float canonical_sum_cpu(const float* x, int64_t n) {
  float out = 0.0f;
  canonical_sum_cpu(x, &out, SumLayout::vector(n));
  return out;
}

void combine_chunk_partials_cpu(const float* partials, int64_t chunks, int64_t size, float* out) {
  DETNN_CHECK(chunks >= 0 && size >= 0, invalid_argument, "combine_chunk_partials: chunks (",
              chunks, ") and size (", size, ") must be non-negative");
  if (size == 0) return;
  if (chunks == 0) {
    std::fill(out, out + size, 0.0f);
    return;
  }
  // The pairwise rule applied to whole rows: row 2i+1 is added to row 2i, level by level.
  // Columns are independent outputs, so threads split the columns.
  cpu_thread_pool().parallel_for(
      size,
      [&](int64_t begin, int64_t end) {
        const int64_t width = end - begin;
        std::vector<float> rows(static_cast<size_t>(chunks * width));
        for (int64_t c = 0; c < chunks; ++c)
          std::memcpy(&rows[c * width], partials + c * size + begin, sizeof(float) * width);
        int64_t n = chunks;
        while (n > 1) {
          const int64_t half = n / 2;
          for (int64_t i = 0; i < half; ++i) {
            float* dst = &rows[i * width];
            const float* left = &rows[2 * i * width];
            const float* right = &rows[(2 * i + 1) * width];
            for (int64_t j = 0; j < width; ++j) dst[j] = left[j] + right[j];
          }
          if (n & 1) std::memmove(&rows[half * width], &rows[(n - 1) * width], sizeof(float) * width);
          n = half + (n & 1);
        }
        std::memcpy(out + begin, rows.data(), sizeof(float) * width);
      },
      256);
}

}  // namespace detnn::kernels
