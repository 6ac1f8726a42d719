// The CPU instruction-set paths (runtime/cpu_isa.h, kernels/cpu/dot_tile.h): every path this
// machine runs gives the portable path's bits on GEMM and every convolution pass, over shapes
// that reach the edge tiles, several K-leaves, groups, strides and dilations; the microkernels
// themselves equal the scalar chain; bad DETNN_CPU_ISA values are named errors. The whole kernel
// suites also run once per path (tests/CMakeLists.txt: CpuIsaPath.*), with DETNN_CPU_ISA set.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/dot_tile.h"
#include "kernels/gemm.h"
#include "kernels/optimizer.h"
#include "kernels/pool2d.h"
#include "runtime/cpu_isa.h"
#include "runtime/error.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;

// Run with DETNN_CPU_ISA naming a path this CPU lacks, the binary skips (exit 77) instead of
// failing every kernel test: the CpuIsaPath.* ctest entries force each path by name.
class ForcedPathAvailable : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* value = std::getenv("DETNN_CPU_ISA");
    if (value == nullptr) return;
    const std::optional<CpuIsa> isa = parse_cpu_isa(value);
    if (!isa) return;
    for (CpuIsa have : cpu_isas_available())
      if (have == *isa) return;
    std::printf("SKIPPED: DETNN_CPU_ISA=%s is not available on this CPU\n", value);
    std::exit(77);
  }
};
[[maybe_unused]] ::testing::Environment* const kForcedPathCheck =
    ::testing::AddGlobalTestEnvironment(new ForcedPathAvailable);

// Restores the default path when a test ends.
struct IsaOverrideGuard {
  ~IsaOverrideGuard() { set_cpu_isa_override(std::nullopt); }
};

// What `compute` returns on every available path, compared with the portable path's result.
void expect_every_path_equals_portable(const std::function<std::vector<float>()>& compute, const std::string& what) {
  IsaOverrideGuard guard;
  set_cpu_isa_override(CpuIsa::portable);
  const std::vector<float> portable = compute();
  for (CpuIsa isa : cpu_isas_available()) {
    if (isa == CpuIsa::portable) continue;
    set_cpu_isa_override(isa);
    EXPECT_EQ(cpu_isa_active(), isa);
    const std::vector<float> got = compute();
    ASSERT_EQ(got.size(), portable.size());
    EXPECT_EQ(first_bit_difference(got.data(), portable.data(), got.size()), -1) << what << " on " << cpu_isa_name(isa);
  }
}

TEST(CpuIsa, PortableIsAlwaysAvailableAndTheDefaultIsTheWidest) {
  const auto paths = cpu_isas_available();
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths.front(), CpuIsa::portable);
  if (std::getenv("DETNN_CPU_ISA") == nullptr) EXPECT_EQ(cpu_isa_active(), paths.back());
#if defined(__x86_64__)
  std::printf("paths on this CPU:");
  for (CpuIsa isa : paths) std::printf(" %s", cpu_isa_name(isa));
  std::printf("\n");
#endif
}

TEST(CpuIsa, BadNamesAndMissingPathsAreNamedErrors) {
  test::expect_error([] { parse_cpu_isa("sse9"); }, ErrorCode::invalid_argument, "DETNN_CPU_ISA='sse9'");
  test::expect_error([] { parse_cpu_isa("AVX2"); }, ErrorCode::invalid_argument, "avx512, avx2, portable or auto");
  EXPECT_EQ(parse_cpu_isa("auto"), std::nullopt);
  EXPECT_EQ(parse_cpu_isa(""), std::nullopt);
  EXPECT_EQ(parse_cpu_isa("avx2"), CpuIsa::avx2);
  bool all = true;
  for (CpuIsa isa : {CpuIsa::avx2, CpuIsa::avx512}) {
    bool have = false;
    for (CpuIsa h : cpu_isas_available()) have = have || h == isa;
    if (!have) {
      all = false;
      test::expect_error([isa] { set_cpu_isa_override(isa); }, ErrorCode::invalid_argument, "not available on this CPU");
    }
  }
  if (all) std::printf("this CPU runs every path: the missing-path error is checked on others\n");
}

TEST(CpuIsa, EveryMicrokernelIsTheScalarChainPerOutput) {
  for (CpuIsa isa : cpu_isas_available()) {
    const DotTileKernel kern = dot_tile_kernel(isa);
    ASSERT_EQ(kern.nr, kDotTileColumns);
    for (int64_t kc : {1, 2, 7, 300, 1024}) {
      const int64_t ldb = kDotTileColumns + 3, ldc = kDotTileColumns + 5;
      const auto ap = random_floats(kc * kern.mr, 11), b = random_floats(kc * ldb, 12);
      std::vector<float> c(kern.mr * ldc, 7.0f), want = c;
      kern.run(kc, ap.data(), b.data(), ldb, c.data(), ldc);
      for (int r = 0; r < kern.mr; ++r)
        for (int j = 0; j < kern.nr; ++j) {
          float acc = 0.0f;
          for (int64_t k = 0; k < kc; ++k) acc = std::fma(ap[k * kern.mr + r], b[k * ldb + j], acc);
          want[r * ldc + j] = acc;
        }
      EXPECT_EQ(first_bit_difference(c.data(), want.data(), c.size()), -1) << cpu_isa_name(isa) << " kc=" << kc;
    }
  }
}

TEST(CpuIsa, GemmBitsAreThePortableBitsOnEveryPath) {
  struct Shape {
    int64_t m, n, k;
  };
  // Edge rows and columns for every kernel's tile, one and several K-leaves, a short last leaf.
  for (const Shape s : {Shape{1, 1, 1}, Shape{17, 33, 5}, Shape{37, 21, 1024}, Shape{50, 70, 2100}, Shape{128, 128, 3136}})
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T}) {
        const auto a = random_floats(s.m * s.k, 21), b = random_floats(s.k * s.n, 22), bias = random_floats(s.n, 23);
        expect_every_path_equals_portable(
            [&] {
              std::vector<float> c(s.m * s.n);
              gemm_cpu(ta, tb, s.m, s.n, s.k, a.data(), ta == Trans::N ? s.k : s.m, b.data(), tb == Trans::N ? s.n : s.k,
                       c.data(), s.n, bias.data());
              return c;
            },
            "gemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k));
      }
}

Conv2dParams conv(int64_t n, int64_t ci, int64_t hw, int64_t co, int64_t k, int64_t stride, int64_t pad,
                  int64_t dilation, int64_t groups) {
  Conv2dParams p;
  p.batch = n, p.in_channels = ci, p.in_h = hw, p.in_w = hw + 1, p.out_channels = co;
  p.kernel_h = p.kernel_w = k, p.stride_h = p.stride_w = stride, p.pad_h = p.pad_w = pad;
  p.dilation_h = p.dilation_w = dilation, p.groups = groups;
  return p;
}

TEST(CpuIsa, ConvolutionBitsAreThePortableBitsOnEveryPassAndPath) {
  const int64_t chunk = 2;
  // mnist-like; strided, dilated, grouped; 130 input channels x 3 x 3 = 1170 terms (two leaves in
  // the shifted-window forward) on 12 x 13 and on 5 x 6 (the gathered form); padding 3 with
  // dilation 2 (shifted windows in both data passes); 20 x 21 pixels x 2 samples = 840 terms and
  // 34 x 35 x 2 = 2380 (three leaves) in the filter gradient.
  for (const Conv2dParams& p : {conv(4, 1, 12, 32, 3, 1, 1, 1, 1), conv(4, 6, 11, 10, 3, 2, 1, 1, 2),
                                conv(2, 4, 13, 5, 3, 1, 2, 2, 1), conv(2, 130, 12, 17, 3, 1, 1, 1, 1),
                                conv(2, 130, 5, 17, 3, 1, 1, 1, 1), conv(2, 8, 14, 8, 3, 1, 3, 2, 1),
                                conv(2, 3, 20, 16, 3, 1, 1, 1, 1), conv(2, 2, 34, 3, 1, 1, 0, 1, 1)}) {
    const auto x = random_floats(p.input_size(), 31), w = random_floats(p.weight_size(), 32);
    const auto bias = random_floats(p.out_channels, 33), dy = random_floats(p.output_size(), 34);
    const std::string name = "conv Ci" + std::to_string(p.in_channels) + " Co" + std::to_string(p.out_channels) + " " +
                             std::to_string(p.in_h) + "x" + std::to_string(p.in_w);
    expect_every_path_equals_portable(
        [&] {
          std::vector<float> y(p.output_size());
          conv2d_forward_cpu(p, x.data(), w.data(), bias.data(), y.data());
          return y;
        },
        name + " forward");
    expect_every_path_equals_portable(
        [&] {
          std::vector<float> dx(p.input_size());
          conv2d_backward_data_cpu(p, dy.data(), w.data(), dx.data());
          return dx;
        },
        name + " backward-data");
    expect_every_path_equals_portable(
        [&] {
          std::vector<float> dw(p.weight_size() + p.out_channels);
          conv2d_backward_filter_cpu(p, chunk, x.data(), dy.data(), dw.data(), dw.data() + p.weight_size());
          return dw;
        },
        name + " backward-filter");
  }
}

// The element-wise loops with one version per path (kernels/cpu/isa_versions.h): GELU (dmath's
// erf and tanh), ReLU, SGD with momentum and Adam, 2x2 max pooling on short rows, over values
// that reach every piece of erf and tanh, signed zeros and a NaN.
TEST(CpuIsa, ElementWiseVersionsGiveThePortableBitsOnEveryPath) {
  std::vector<float> x = random_floats(5000, 41, -12.0f, 12.0f);
  const auto dy = random_floats(x.size(), 42);
  x[0] = 0.0f, x[1] = -0.0f, x[2] = std::nanf(""), x[3] = 1e-30f, x[4] = -3.9193f, x[5] = 0.5f;
  for (Activation a : {Activation::relu, Activation::gelu_erf, Activation::gelu_tanh}) {
    expect_every_path_equals_portable(
        [&] {
          std::vector<float> out(2 * x.size());
          activation_forward_cpu(a, x.data(), out.data(), static_cast<int64_t>(x.size()));
          activation_backward_cpu(a, x.data(), dy.data(), out.data() + x.size(), static_cast<int64_t>(x.size()));
          return out;
        },
        activation_name(a));
  }
  const auto grads = random_floats(x.size(), 43);
  expect_every_path_equals_portable(
      [&] {
        std::vector<float> params(x.begin(), x.end()), momentum(x.size(), 0.25f), m(x.size(), 0.1f), v(x.size(), 0.2f);
        params[2] = 1.0f;  // no NaN parameter
        SgdParams sgd;
        sgd.lr = 0.05f, sgd.momentum = 0.9f, sgd.weight_decay = 1e-4f;
        sgd_update_cpu(params.data(), grads.data(), momentum.data(), static_cast<int64_t>(params.size()),
                       sgd_step_scalars(sgd, 2), 0.5f);
        AdamParams adam;
        adam.lr = 0.01f, adam.weight_decay = 0.01f, adam.decoupled = true;
        adam_update_cpu(params.data(), grads.data(), m.data(), v.data(), static_cast<int64_t>(params.size()),
                        adam_step_scalars(adam, 3), 1.0f);
        params.insert(params.end(), momentum.begin(), momentum.end());
        return params;
      },
      "sgd + adamw");
  const PoolParams pool = PoolParams::square(3, 5, 14, 14, 2, 2, 0);
  const auto px = random_floats(pool.input_size(), 44);
  expect_every_path_equals_portable(
      [&] {
        std::vector<float> y(pool.output_size());
        std::vector<int32_t> arg(pool.output_size());
        maxpool2d_forward_cpu(pool, px.data(), y.data(), arg.data());
        for (int32_t i : arg) y.push_back(static_cast<float>(i));
        return y;
      },
      "maxpool 2x2 on 14x14");
}

}  // namespace
}  // namespace detnn::kernels
