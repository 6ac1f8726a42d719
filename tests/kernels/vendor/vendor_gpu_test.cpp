// The vendor plans of the fast and off modes (kernels/vendor/) mean what detnn's kernels mean:
// the cuDNN convolution on the seven PyTorch 2.11 reference cases (stride, padding, dilation,
// groups, depthwise) in every direction, and the cuBLASLt GEMM against gemm_cpu in every layout
// the layers use, with and without the bias epilogue. Tolerances (max error relative to the
// largest reference value): FP32 1e-4 for the convolutions (cuDNN's FFT and Winograd algorithms
// transform, so a looser bound than the strict kernels' 1e-5) and 1e-5 for the GEMMs; TF32
// (10-bit mantissas) 1e-2. fast must also give the same bits on a second run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/vendor/bias_cudnn.h"
#include "kernels/vendor/conv2d_cudnn.h"
#include "kernels/vendor/gemm_cublaslt.h"
#include "runtime/error.h"
#include "support/device_buffer.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn {
namespace {

using kernels::Conv2dParams;
using kernels::Trans;
using test::DeviceBuffer;

constexpr ComputeMode kFast{Determinism::fast, false};
constexpr ComputeMode kOff{Determinism::off, false};
constexpr ComputeMode kFastTf32{Determinism::fast, true};

struct ConvOutputs {
  std::vector<float> y, dx, dw, db;
};

ConvOutputs run_conv(const Conv2dParams& p, ComputeMode mode, const std::vector<float>& x,
                     const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& dy) {
  kernels::CudnnConv2d plan(p, mode, "test", nullptr);
  DeviceBuffer<float> dx_(x), dw_(w), db_(b.empty() ? std::vector<float>(1) : b), ddy(dy);
  DeviceBuffer<float> y(p.output_size()), gx(p.input_size()), gw(p.weight_size()), gb(p.out_channels);
  plan.forward(dx_.get(), dw_.get(), b.empty() ? nullptr : db_.get(), y.get(), nullptr);
  plan.backward_data(ddy.get(), dw_.get(), gx.get(), nullptr);
  plan.backward_filter(dx_.get(), ddy.get(), gw.get(), nullptr);
  plan.backward_bias(ddy.get(), gb.get(), nullptr);
  EXPECT_TRUE(y.guards_intact() && gx.guards_intact() && gw.guards_intact() && gb.guards_intact());
  return {y.download(), gx.download(), gw.download(), gb.download()};
}

TEST(VendorConv2dGpu, MatchesPyTorchReferenceInFastAndOff) {
  DETNN_REQUIRE_GPU();
  const auto& ref = test::TorchReference::get();
  for (const char* name : {"conv_3x3_s1_p1", "conv_3x3_s2_p1", "conv_1x1_s2_p0", "conv_5x5_s1_p0", "conv_3x3_dil2",
                           "conv_depthwise", "conv_groups2"}) {
    SCOPED_TRACE(name);
    const auto& par = ref.params(name);
    const auto xs = ref.shape(name, "x"), ws = ref.shape(name, "w");
    Conv2dParams p;
    p.batch = xs[0], p.in_channels = xs[1], p.in_h = xs[2], p.in_w = xs[3];
    p.out_channels = ws[0], p.kernel_h = ws[2], p.kernel_w = ws[3];
    p.stride_h = p.stride_w = par["stride"].get<int64_t>();
    p.pad_h = p.pad_w = par["padding"].get<int64_t>();
    p.dilation_h = p.dilation_w = par["dilation"].get<int64_t>();
    p.groups = par["groups"].get<int64_t>();
    const bool has_bias = par["bias"].get<bool>();
    const auto x = ref.floats(name, "x"), w = ref.floats(name, "w"), gy = ref.floats(name, "gy");
    const auto b = has_bias ? ref.floats(name, "b") : std::vector<float>{};
    for (const auto& [mode, tolerance] :
         {std::pair{kFast, 1e-4}, std::pair{kOff, 1e-4}, std::pair{kFastTf32, 1e-2}}) {
      SCOPED_TRACE(std::string(determinism_name(mode.determinism)) + (mode.tf32 ? " tf32" : " fp32"));
      const ConvOutputs o = run_conv(p, mode, x, w, b, gy);
      EXPECT_LE(test::max_relative_error(o.y, ref.values(name, "y")), tolerance);
      EXPECT_LE(test::max_relative_error(o.dx, ref.values(name, "gx")), tolerance);
      EXPECT_LE(test::max_relative_error(o.dw, ref.values(name, "gw")), tolerance);
      if (has_bias) EXPECT_LE(test::max_relative_error(o.db, ref.values(name, "gb")), tolerance);
      if (mode.determinism == Determinism::fast) {
        const ConvOutputs again = run_conv(p, mode, x, w, b, gy);
        EXPECT_EQ(test::first_bit_difference(o.y.data(), again.y.data(), o.y.size()), -1);
        EXPECT_EQ(test::first_bit_difference(o.dx.data(), again.dx.data(), o.dx.size()), -1);
        EXPECT_EQ(test::first_bit_difference(o.dw.data(), again.dw.data(), o.dw.size()), -1);
      }
    }
  }
}

TEST(VendorConv2dGpu, FastPinsOnlyDeterministicAlgorithms) {
  DETNN_REQUIRE_GPU();
  Conv2dParams p;
  p.batch = 32, p.in_channels = 64, p.in_h = p.in_w = 16, p.out_channels = 64, p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  kernels::CudnnConv2d plan(p, kFast, "layers.0", nullptr);
  std::vector<KernelChoice> choices;
  plan.collect_choices("layers.0", choices);
  ASSERT_EQ(choices.size(), 3u);
  for (const KernelChoice& c : choices) {
    EXPECT_TRUE(c.algorithm.deterministic) << c.op << " " << c.algorithm.name;
    EXPECT_FALSE(c.algorithm.tensor_cores) << c.op << " " << c.algorithm.name;
    EXPECT_NE(c.library.find("cuDNN 9."), std::string::npos) << c.library;
  }
}

// gemm_cpu's result for the same problem (row-major, contiguous).
std::vector<float> cpu_gemm(const kernels::GemmShape& s, const std::vector<float>& a, const std::vector<float>& b,
                            const float* bias) {
  std::vector<float> c(static_cast<size_t>(s.m * s.n));
  kernels::gemm_cpu(s.ta, s.tb, s.m, s.n, s.k, a.data(), s.ta == Trans::N ? s.k : s.m, b.data(),
                    s.tb == Trans::N ? s.n : s.k, c.data(), s.n, bias);
  return c;
}

TEST(VendorGemmGpu, MatchesTheCpuGemmInEveryLayoutWithAndWithoutBias) {
  DETNN_REQUIRE_GPU();
  struct Size {
    int64_t m, n, k;
  };
  uint32_t seed = 40;
  for (const Size& z : {Size{1, 1, 1}, Size{7, 13, 5}, Size{32, 10, 128}, Size{32, 128, 3136}, Size{128, 64, 33}}) {
    for (Trans ta : {Trans::N, Trans::T})
      for (Trans tb : {Trans::N, Trans::T})
        for (bool bias : {false, true}) {
          const kernels::GemmShape s{ta, tb, z.m, z.n, z.k, bias, 16};
          SCOPED_TRACE(kernels::gemm_shape_text(s));
          const auto a = test::random_floats(static_cast<size_t>(z.m * z.k), ++seed);
          const auto b = test::random_floats(static_cast<size_t>(z.k * z.n), ++seed);
          const auto bv = test::random_floats(static_cast<size_t>(z.n), ++seed);
          const std::vector<float> want = cpu_gemm(s, a, b, bias ? bv.data() : nullptr);
          std::vector<double> want64(want.begin(), want.end());
          for (const auto& [mode, tolerance] :
               {std::pair{kFast, 1e-5}, std::pair{kOff, 1e-5}, std::pair{kFastTf32, 1e-2}}) {
            kernels::CublasLtGemm plan(s, mode, "test", nullptr);
            DeviceBuffer<float> da(a), db(b), dbias(bv), dc(static_cast<size_t>(z.m * z.n));
            plan.run(da.get(), db.get(), dc.get(), bias ? dbias.get() : nullptr, nullptr);
            EXPECT_LE(test::max_relative_error(dc.download(), want64), tolerance)
                << determinism_name(mode.determinism) << (mode.tf32 ? " tf32" : "");
            EXPECT_TRUE(dc.guards_intact());
          }
        }
  }
}

// The bias add of the linear plans whose bias is not 16-byte aligned (no epilogue): exactly
// y + bias[c] per element, from a bias 4 bytes past an aligned address, nothing written outside.
TEST(VendorBiasGpu, AddsTheBiasToEveryRowExactly) {
  DETNN_REQUIRE_GPU();
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 3}, {256, 10}, {33, 129}}) {
    const auto y = test::random_floats(static_cast<size_t>(rows * cols), 3 + rows, -4.0f, 4.0f);
    const auto bias = test::random_floats(static_cast<size_t>(cols) + 1, 5 + cols, -1.0f, 1.0f);
    std::vector<float> want(y);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = y[r * cols + c] + bias[1 + c];
    DeviceBuffer<float> dy(y), db(bias);
    kernels::add_row_bias_cudnn(dy.get(), db.get() + 1, rows, cols, nullptr);
    EXPECT_EQ(test::first_bit_difference(dy.download().data(), want.data(), want.size()), -1) << rows << "x" << cols;
    EXPECT_TRUE(dy.guards_intact());
  }
}

TEST(VendorGemmGpu, AnOperandBelowThePlannedAlignmentIsRefused) {
  DETNN_REQUIRE_GPU();
  const kernels::GemmShape s{Trans::N, Trans::T, 8, 8, 8, false, 16};
  kernels::CublasLtGemm plan(s, kFast, "test", nullptr);
  DeviceBuffer<float> a(65), b(64), c(64);
  EXPECT_THROW(plan.run(a.get() + 1, b.get(), c.get(), nullptr, nullptr), Error);
  EXPECT_THROW(plan.run(a.get(), b.get(), c.get(), b.get(), nullptr), Error);  // a bias it was not planned with
  // A plan for 4-byte alignment takes the same pointer.
  const kernels::GemmShape s4{Trans::N, Trans::T, 8, 8, 8, false, 4};
  kernels::CublasLtGemm plan4(s4, kFast, "test", nullptr);
  EXPECT_NO_THROW(plan4.run(a.get() + 1, b.get(), c.get(), nullptr, nullptr));
}

}  // namespace
}  // namespace detnn
