#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;
using test::first_bit_difference;
using test::random_floats;

const Trans kLayouts[][2] = {{Trans::N, Trans::N}, {Trans::N, Trans::T}, {Trans::T, Trans::N}, {Trans::T, Trans::T}};
const int kTiles[] = {0, 32, 64, 128};  // 0: the automatic choice

std::string name(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, int tile) {
  return std::string(ta == Trans::N ? "N" : "T") + (tb == Trans::N ? "N" : "T") + " m=" +
         std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
         " tile=" + std::to_string(tile);
}

// One problem: host operands, leading dimensions padded by `pad`, and the CPU result.
struct Problem {
  Trans ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, bias;

  Problem(Trans ta_, Trans tb_, int64_t m_, int64_t n_, int64_t k_, int64_t pad, uint32_t seed)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_) {
    const int64_t a_rows = ta == Trans::N ? m : k, a_cols = ta == Trans::N ? k : m;
    const int64_t b_rows = tb == Trans::N ? k : n, b_cols = tb == Trans::N ? n : k;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = n + pad;
    a = random_floats(a_rows * lda, seed);
    b = random_floats(b_rows * ldb, seed + 1);
    bias = random_floats(n, seed + 2);
  }
  std::vector<float> cpu(bool with_bias) const {
    std::vector<float> c(m * ldc, 0.5f);
    gemm_cpu(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc,
             with_bias ? bias.data() : nullptr);
    return c;
  }
  // Runs on the device; C's padding starts as 0.5f like the CPU's, so it must come back so.
  std::vector<float> gpu(bool with_bias, int tile, bool* guards_ok) const {
    DeviceBuffer<float> da(a), db(b), dbias(bias), dc(std::vector<float>(m * ldc, 0.5f));
    gemm_cuda(ta, tb, m, n, k, da.get(), lda, db.get(), ldb, dc.get(), ldc,
              with_bias ? dbias.get() : nullptr, nullptr, GemmCudaLaunch{tile});
    *guards_ok = da.guards_intact() && db.guards_intact() && dbias.guards_intact() && dc.guards_intact();
    return dc.download();
  }
};

void expect_same_bits(const Problem& p, bool with_bias, int tile) {
  bool guards = false;
  const auto want = p.cpu(with_bias);
  const auto got = p.gpu(with_bias, tile, &guards);
  EXPECT_EQ(first_bit_difference(got.data(), want.data(), want.size()), -1)
      << name(p.ta, p.tb, p.m, p.n, p.k, tile) << " bias=" << with_bias;
  EXPECT_TRUE(guards) << name(p.ta, p.tb, p.m, p.n, p.k, tile);
}

TEST(GemmGpu, OddShapesMatchCpuBitsForEveryLayoutAndTile) {
  DETNN_REQUIRE_GPU();
  struct Shape { int64_t m, n, k, pad; };
  // pad 0 / 4 keep rows 16-byte aligned where the sizes allow (vector loads); odd pads and
  // sizes force the scalar path; k not a multiple of 8 leaves a partial last K tile.
  const Shape shapes[] = {{1, 1, 1, 0},    {7, 7, 7, 1},     {33, 33, 33, 0},  {1, 257, 33, 3},
                          {257, 1, 33, 0}, {32, 32, 8, 0},   {64, 64, 64, 4},  {128, 128, 16, 0},
                          {129, 65, 9, 0}, {127, 130, 257, 4}, {300, 200, 100, 2}, {5, 300, 1000, 0}};
  for (auto [ta, tb] : kLayouts)
    for (const Shape& s : shapes)
      for (int tile : kTiles) {
        Problem p(ta, tb, s.m, s.n, s.k, s.pad, uint32_t(s.m * 5 + s.n * 3 + s.k + s.pad));
        expect_same_bits(p, tile % 64 == 0, tile);
      }
}

// Contract 2's K-leaves (a partial buffer and a pairwise combine on the device) against the CPU,
// at the leaf boundaries and at a weight-gradient's K, every layout and tile, odd pads too.
TEST(GemmGpu, KLeavesMatchCpuBitsAtEveryBoundary) {
  DETNN_REQUIRE_GPU();
  for (auto [ta, tb] : kLayouts)
    for (int64_t k : {1023, 1024, 1025, 2048, 4097, 25088})
      for (int tile : kTiles) {
        Problem p(ta, tb, 37, 21, k, tile == 32 ? 3 : 0, uint32_t(k + tile));
        expect_same_bits(p, tile != 64, tile);
      }
}

TEST(GemmGpu, LargeShapeMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  const int64_t m = test::scaled_size(1024 * 1024) / 1024, n = 1000, k = 777;
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, m, n, k, 0, 11);
    expect_same_bits(p, true, 0);
    expect_same_bits(p, false, 128);
  }
}

TEST(GemmGpu, UnalignedPointersUseTheScalarPathWithTheSameBits) {
  DETNN_REQUIRE_GPU();
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 72, 88, 52, 4, 21);  // leading dimensions 16-byte multiples, pointers at +1
    std::vector<float> want(p.m * p.ldc, 0.5f);
    gemm_cpu(ta, tb, p.m, p.n, p.k, p.a.data() + 1, p.lda, p.b.data() + 1, p.ldb, want.data() + 1,
             p.ldc, p.bias.data());
    p.a.push_back(0), p.b.push_back(0);
    DeviceBuffer<float> da(p.a), db(p.b), dbias(p.bias), dc(std::vector<float>(p.m * p.ldc, 0.5f));
    gemm_cuda(ta, tb, p.m, p.n, p.k, da.get() + 1, p.lda, db.get() + 1, p.ldb, dc.get() + 1, p.ldc,
              dbias.get(), nullptr);
    const auto got = dc.download();
    EXPECT_EQ(first_bit_difference(got.data(), want.data(), want.size()), -1) << name(ta, tb, 72, 88, 52, 0);
    EXPECT_TRUE(dc.guards_intact());
  }
}

TEST(GemmGpu, SignedZerosAndSubnormalsMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 45, 37, 19, 0, 31);  // k = 19: a partial last K tile
    for (size_t i = 0; i < p.a.size(); ++i) p.a[i] *= (i % 3 == 0) ? 1e-30f : 1e-20f;
    for (size_t i = 0; i < p.b.size(); ++i) p.b[i] *= (i % 5 == 0) ? -1e-30f : 1e-20f;
    for (float& v : p.bias) v = v < 0 ? -0.0f : 0.0f;
    for (int tile : kTiles) {
      expect_same_bits(p, false, tile);
      expect_same_bits(p, true, tile);
    }
  }
}

TEST(GemmGpu, EmptyKGivesZeroPlusBias) {
  DETNN_REQUIRE_GPU();
  for (auto [ta, tb] : kLayouts) {
    Problem p(ta, tb, 33, 17, 0, 0, 41);
    for (int tile : kTiles) {
      expect_same_bits(p, true, tile);
      expect_same_bits(p, false, tile);
    }
  }
}

TEST(GemmGpu, BatchedMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  for (auto [ta, tb] : kLayouts)
    for (int64_t b_stride_zero : {0, 1})
      for (const int64_t k : {int64_t{130}, int64_t{2100}}) {  // one K-leaf; three
        const int64_t m = 67, n = 45, batch = 5;
        Problem p(ta, tb, m, n, k, 1, 51);
        const int64_t a_size = p.a.size(), b_size = b_stride_zero ? 0 : int64_t(p.b.size());
        const int64_t c_size = m * p.ldc + 2;
        auto a = random_floats(batch * a_size, 52);
        auto b = random_floats(b_stride_zero ? p.b.size() : batch * b_size, 53);
        std::vector<float> want(batch * c_size, 0.25f);
        gemm_batched_cpu(ta, tb, m, n, k, a.data(), p.lda, a_size, b.data(), p.ldb, b_size,
                         want.data(), p.ldc, c_size, batch, p.bias.data());
        for (int tile : kTiles) {
          DeviceBuffer<float> da(a), db(b), dbias(p.bias), dc(std::vector<float>(batch * c_size, 0.25f));
          gemm_batched_cuda(ta, tb, m, n, k, da.get(), p.lda, a_size, db.get(), p.ldb, b_size, dc.get(),
                            p.ldc, c_size, batch, dbias.get(), nullptr, GemmCudaLaunch{tile});
          const auto got = dc.download();
          EXPECT_EQ(first_bit_difference(got.data(), want.data(), want.size()), -1)
              << name(ta, tb, m, n, k, tile) << " shared B=" << b_stride_zero;
          EXPECT_TRUE(dc.guards_intact() && da.guards_intact() && db.guards_intact());
        }
      }
}

TEST(GemmGpu, RejectsBadArguments) {
  DETNN_REQUIRE_GPU();
  DeviceBuffer<float> buf(64);
  EXPECT_THROW(gemm_cuda(Trans::N, Trans::N, 4, 4, 5, buf.get(), 4, buf.get(), 4, buf.get(), 4,
                         nullptr, nullptr),
               Error);
  EXPECT_THROW(gemm_cuda(Trans::N, Trans::N, 4, 4, 4, buf.get(), 4, buf.get(), 4, buf.get(), 4,
                         nullptr, nullptr, GemmCudaLaunch{48}),
               Error);
}

}  // namespace
}  // namespace detnn::kernels
