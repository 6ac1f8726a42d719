#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::float_bits;
using test::random_floats;

const Trans kLayouts[][2] = {{Trans::N, Trans::N}, {Trans::N, Trans::T}, {Trans::T, Trans::N}, {Trans::T, Trans::T}};

std::string layout_name(Trans ta, Trans tb) {
  return std::string(ta == Trans::N ? "N" : "T") + (tb == Trans::N ? "N" : "T");
}

// One GEMM problem with its stored operands (row padding `pad` beyond the minimal ld).
struct Problem {
  Trans ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, bias;

  Problem(Trans ta_, Trans tb_, int64_t m_, int64_t n_, int64_t k_, int64_t pad, uint32_t seed,
          float lo = -1.0f, float hi = 1.0f)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_) {
    const int64_t a_rows = ta == Trans::N ? m : k, a_cols = ta == Trans::N ? k : m;
    const int64_t b_rows = tb == Trans::N ? k : n, b_cols = tb == Trans::N ? n : k;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = n + pad;
    a = random_floats(a_rows * lda, seed, lo, hi);
    b = random_floats(b_rows * ldb, seed + 1, lo, hi);
    bias = random_floats(n, seed + 2, lo, hi);
  }
  float av(int64_t i, int64_t p) const { return ta == Trans::N ? a[i * lda + p] : a[p * lda + i]; }
  float bv(int64_t p, int64_t j) const { return tb == Trans::N ? b[p * ldb + j] : b[j * ldb + p]; }

  // C as gemm_cpu computes it (ldc-strided, padding left at its fill value).
  std::vector<float> run(bool with_bias) const {
    std::vector<float> c(m * ldc, 12345.0f);
    gemm_cpu(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc,
             with_bias ? bias.data() : nullptr);
    return c;
  }
  // The contract written out (DESIGN §3, version 2): K-leaves of 1024 fmaf chains from 0.0f in
  // k order, combined pairwise, then + bias.
  std::vector<float> contract(bool with_bias) const {
    std::vector<float> c(m * ldc, 12345.0f);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        test::ContractDot dot;
        for (int64_t p = 0; p < k; ++p) dot.add(p, av(i, p), bv(p, j));
        const float acc = dot.result(k);
        c[i * ldc + j] = with_bias ? acc + bias[j] : acc;
      }
    return c;
  }
  // Contract version 1: one chain over all of K (what version 2 keeps for K <= 1024).
  std::vector<float> single_chain() const {
    std::vector<float> c(m * ldc, 12345.0f);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0.0f;
        for (int64_t p = 0; p < k; ++p) acc = std::fma(av(i, p), bv(p, j), acc);
        c[i * ldc + j] = acc;
      }
    return c;
  }
};

TEST(Gemm, EveryLayoutIsCloseToFloat64) {
  // A k-term fmaf chain has |c - exact| <= k * u * sum_p |a_ip||b_pj| (u = 2^-24; Higham's
  // gamma_k bound, first order: each fma rounds once, and the error committed at step p is at
  // most u times the partial sum, itself at most the running sum of |a||b|). The bias add
  // rounds once more: at most u * (sum |a||b| + |bias|) on top. We check
  // |c - exact| <= (k + 1) * u * (sum |a||b| + |bias|).
  for (auto [ta, tb] : kLayouts)
    for (int64_t s : {1, 7, 33, 130, 257}) {
      const int64_t m = s, n = s + 5, k = 2 * s + 3;
      Problem p(ta, tb, m, n, k, 3, 100 + s);
      const auto c = p.run(true);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double exact = p.bias[j], mag = std::fabs(p.bias[j]);
          for (int64_t q = 0; q < k; ++q) {
            exact += double(p.av(i, q)) * double(p.bv(q, j));
            mag += std::fabs(double(p.av(i, q)) * double(p.bv(q, j)));
          }
          const double bound = double(k + 1) * std::ldexp(1.0, -24) * mag;
          ASSERT_LE(std::fabs(c[i * p.ldc + j] - exact), bound)
              << layout_name(ta, tb) << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
        }
    }
}

TEST(Gemm, EqualsTheScalarFmaChainBitForBit) {
  struct Shape { int64_t m, n, k, pad; };
  // Odd sizes, sizes around the 6 x 16 tile, the 120-row block and the 256 K block.
  const Shape shapes[] = {{1, 1, 1, 0},     {7, 7, 7, 1},      {33, 33, 33, 2},  {1, 257, 33, 0},
                          {257, 1, 33, 5},  {6, 16, 256, 0},   {5, 15, 255, 3},  {7, 17, 257, 1},
                          {121, 33, 513, 4}, {120, 48, 512, 0}, {257, 257, 257, 7}, {2, 300, 700, 1},
                          {130, 19, 1, 0}};
  for (auto [ta, tb] : kLayouts)
    for (const Shape& s : shapes)
      for (bool with_bias : {false, true}) {
        Problem p(ta, tb, s.m, s.n, s.k, s.pad, uint32_t(s.m * 7 + s.n * 3 + s.k));
        const auto got = p.run(with_bias), want = p.contract(with_bias);
        EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1)
            << layout_name(ta, tb) << " m=" << s.m << " n=" << s.n << " k=" << s.k
            << " pad=" << s.pad << " bias=" << with_bias;
      }
}

// Contract 2 at the leaf boundaries and at the K of real layers (mnist_cnn's first filter
// gradient: 25,088 terms a chunk; 32 x 32 x 32 = 32,768), in every layout.
TEST(Gemm, KLeavesOf1024EqualTheContractAtEveryBoundary) {
  for (auto [ta, tb] : kLayouts)
    for (int64_t k : {1, 1023, 1024, 1025, 2048, 4097, 25088, 32768}) {
      Problem p(ta, tb, 3, 5, k, 1, uint32_t(k));
      const auto got = p.run(true), want = p.contract(true);
      EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1)
          << layout_name(ta, tb) << " k=" << k;
      // Up to one leaf, version 2 is version 1; beyond it, the leaves show in the bits.
      const auto v2 = p.run(false), v1 = p.single_chain();
      if (k <= 1024)
        EXPECT_EQ(first_bit_difference(v2.data(), v1.data(), v2.size()), -1) << layout_name(ta, tb) << " k=" << k;
      else if (k >= 4097)
        EXPECT_NE(first_bit_difference(v2.data(), v1.data(), v2.size()), -1) << layout_name(ta, tb) << " k=" << k;
    }
}

TEST(Gemm, SeveralColumnBlocksEqualTheScalarChain) {
  // n * k above the 4M floats of packed B per column block: several column blocks.
  Problem p(Trans::N, Trans::T, 7, 2100, 2050, 1, 77);
  const auto got = p.run(true), want = p.contract(true);
  EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1);
}

TEST(Gemm, SignedZerosAndSubnormalsFollowTheChain) {
  // Products far below the smallest subnormal round an fma from +0 to -0; products near it
  // make subnormal accumulators. Nothing flushes them (no FTZ/DAZ), on any path.
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 13, 37, 19, 1, 900, -1.0f, 1.0f);
    for (size_t i = 0; i < p.a.size(); ++i) p.a[i] *= (i % 3 == 0) ? 1e-30f : 1e-20f;
    for (size_t i = 0; i < p.b.size(); ++i) p.b[i] *= (i % 5 == 0) ? -1e-30f : 1e-20f;
    for (float& v : p.bias) v = (v < 0) ? -0.0f : 0.0f;
    for (bool with_bias : {false, true}) {
      const auto got = p.run(with_bias), want = p.contract(with_bias);
      EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1)
          << layout_name(ta, tb) << " bias=" << with_bias;
    }
  }
}

TEST(Gemm, EmptyKGivesZeroPlusBias) {
  for (auto [ta, tb] : kLayouts) {
    const int64_t m = 5, n = 9;
    std::vector<float> c(m * n, 7.0f), bias = random_floats(n, 3);
    bias[0] = -0.0f;
    gemm_cpu(ta, tb, m, n, 0, nullptr, ta == Trans::N ? 0 : m, nullptr, tb == Trans::N ? n : 0,
             c.data(), n, bias.data());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) EXPECT_EQ(float_bits(c[i * n + j]), float_bits(0.0f + bias[j]));
    gemm_cpu(ta, tb, m, n, 0, nullptr, m, nullptr, n, c.data(), n);
    for (float v : c) EXPECT_EQ(float_bits(v), float_bits(0.0f));
  }
  // m == 0 or n == 0: nothing is written; operands without elements may be null.
  std::vector<float> x(16, 1.0f);
  gemm_cpu(Trans::N, Trans::N, 0, 4, 4, nullptr, 4, x.data(), 4, nullptr, 4);
  gemm_cpu(Trans::N, Trans::N, 4, 0, 4, x.data(), 4, nullptr, 0, nullptr, 0);
}

TEST(Gemm, BatchedEqualsALoopOfSingleCalls) {
  for (auto [ta, tb] : kLayouts) {
    const int64_t m = 37, n = 29, k = 300, batch = 4;
    Problem p(ta, tb, m, n, k, 2, 41);
    const int64_t a_size = p.a.size(), b_size = p.b.size(), c_size = m * p.ldc + 3;
    auto a = random_floats(batch * a_size, 51), b = random_floats(batch * b_size, 52);
    for (bool with_bias : {false, true}) {
      const float* bias = with_bias ? p.bias.data() : nullptr;
      std::vector<float> got(batch * c_size, 1.0f), want(batch * c_size, 1.0f);
      gemm_batched_cpu(ta, tb, m, n, k, a.data(), p.lda, a_size, b.data(), p.ldb, b_size,
                       got.data(), p.ldc, c_size, batch, bias);
      for (int64_t i = 0; i < batch; ++i)
        gemm_cpu(ta, tb, m, n, k, &a[i * a_size], p.lda, &b[i * b_size], p.ldb, &want[i * c_size],
                 p.ldc, bias);
      EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1) << layout_name(ta, tb);
    }
    // A shared B (stride 0), as for the per-chunk partials of one weight.
    std::vector<float> got(batch * c_size, 1.0f), want(batch * c_size, 1.0f);
    gemm_batched_cpu(ta, tb, m, n, k, a.data(), p.lda, a_size, b.data(), p.ldb, 0, got.data(),
                     p.ldc, c_size, batch);
    for (int64_t i = 0; i < batch; ++i)
      gemm_cpu(ta, tb, m, n, k, &a[i * a_size], p.lda, b.data(), p.ldb, &want[i * c_size], p.ldc);
    EXPECT_EQ(first_bit_difference(got.data(), want.data(), got.size()), -1) << layout_name(ta, tb);
  }
}

TEST(Gemm, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 301, 203, 517, 1, 61);
    set_num_threads(1);
    const auto one = p.run(true);
    for (int threads : {2, 7}) {
      set_num_threads(threads);
      const auto got = p.run(true);
      EXPECT_EQ(first_bit_difference(got.data(), one.data(), got.size()), -1)
          << layout_name(ta, tb) << " threads=" << threads;
    }
  }
}

TEST(Gemm, ARowDoesNotDependOnTheOtherRows) {
  // Batch invariance: row i computed alone (m = 1) or among 300 rows gives the same bits.
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 300, 70, 333, 0, 71);
    const auto all = p.run(true);
    for (int64_t i : {0, 1, 5, 6, 119, 120, 299}) {
      // Row i of op(A): A + i*lda for N, column i (A + i, same lda) for T.
      const float* a_row = ta == Trans::N ? &p.a[i * p.lda] : &p.a[i];
      std::vector<float> row(p.n);
      gemm_cpu(ta, tb, 1, p.n, p.k, a_row, p.lda, p.b.data(), p.ldb, row.data(), p.n, p.bias.data());
      EXPECT_EQ(first_bit_difference(row.data(), &all[i * p.ldc], p.n), -1)
          << layout_name(ta, tb) << " row " << i;
    }
  }
}

// The message of the Error a call throws ("" when it throws none); the code must be
// invalid_argument.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

TEST(Gemm, RejectsBadArgumentsNamingThem) {
  std::vector<float> a(64), b(64), c(64);
  auto expect = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << "message: '" << msg << "' lacks '" << part << "'";
  };
  const Trans N = Trans::N, T = Trans::T;
  expect(error_of([&] { gemm_cpu(N, N, -1, 4, 4, a.data(), 4, b.data(), 4, c.data(), 4); }), "m must be >= 0, got -1");
  expect(error_of([&] { gemm_cpu(N, N, 4, -2, 4, a.data(), 4, b.data(), 4, c.data(), 4); }), "n must be >= 0, got -2");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, -3, a.data(), 4, b.data(), 4, c.data(), 4); }), "k must be >= 0, got -3");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, 5, a.data(), 4, b.data(), 4, c.data(), 4); }), "lda must be >= k (5)");
  expect(error_of([&] { gemm_cpu(T, N, 6, 4, 4, a.data(), 4, b.data(), 4, c.data(), 4); }), "lda must be >= m (6) for ta=T, got 4");
  expect(error_of([&] { gemm_cpu(N, N, 4, 5, 4, a.data(), 4, b.data(), 4, c.data(), 5); }), "ldb must be >= n (5)");
  expect(error_of([&] { gemm_cpu(N, T, 4, 4, 6, a.data(), 6, b.data(), 5, c.data(), 4); }), "ldb must be >= k (6) for tb=T, got 5");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, 4, a.data(), 4, b.data(), 4, c.data(), 3); }), "ldc must be >= n (4), got 3");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, 4, nullptr, 4, b.data(), 4, c.data(), 4); }), "a is null");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, 4, a.data(), 4, nullptr, 4, c.data(), 4); }), "b is null");
  expect(error_of([&] { gemm_cpu(N, N, 4, 4, 4, a.data(), 4, b.data(), 4, nullptr, 4); }), "c is null");
  expect(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, a.data(), 2, 4, b.data(), 2, 4, c.data(), 2, 4, -1); }), "batch must be >= 0, got -1");
  expect(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, a.data(), 2, -4, b.data(), 2, 4, c.data(), 2, 4, 2); }), "stride_a must be >= 0");
  expect(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, a.data(), 2, 4, b.data(), 2, -1, c.data(), 2, 4, 2); }), "stride_b must be >= 0");
  expect(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, a.data(), 2, 4, b.data(), 2, 4, c.data(), 2, 3, 2); }), "stride_c must be >= (m-1)*ldc+n (4)");
  expect(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, a.data(), 1, 4, b.data(), 2, 4, c.data(), 2, 4, 2); }), "lda must be >= k (2)");
  // Null operands are fine where they have no elements; a null bias means no bias.
  EXPECT_EQ(error_of([&] { gemm_cpu(N, N, 0, 4, 4, nullptr, 4, b.data(), 4, nullptr, 4); }), "");
  EXPECT_EQ(error_of([&] { gemm_batched_cpu(N, N, 2, 2, 2, nullptr, 2, 4, nullptr, 2, 4, nullptr, 2, 4, 0); }), "");
}

}  // namespace
}  // namespace detnn::kernels
