// The PyTorch reference file's `linear` case (tests/data/torch-reference/, float64 results of
// nn.Linear(7, 3) on 5 samples) against detnn's linear layer on the CPU: its engine's forward
// GEMM, backward-data GEMM, per-chunk weight-gradient GEMMs and bias canonical sums, the chunk
// partials combined pairwise as the session does. Every output (y, gx, gw, gb), for one chunk
// of 5 and for 5 chunks of 1, is within the bounds the conv2d torch-reference tests use:
// max |got - want| <= 1e-5 * max |want| (Conv2d.MatchesPyTorchReference), and element by element
// the rounding bound gamma_(n+1) * sum |terms| of an n-term sum (Higham; the error_bound of
// Conv2d.WithinRoundingBoundOfFloat64ReferenceOnRandomShapes), n = in_features for y (+ bias),
// out_features for gx, the batch for gw and gb.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/canonical_sum.h"
#include "layers/model.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::layers {
namespace {

constexpr double kEps = 0x1p-24;  // unit roundoff of float

double error_bound(int64_t terms, double abs_sum) {
  const double n = static_cast<double>(terms + 1);
  return n * kEps / (1 - n * kEps) * abs_sum + 1e-30;
}

void expect_within_bound(const std::vector<float>& got, const std::vector<double>& want,
                         const std::vector<double>& abs_sum, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_LE(test::max_relative_error(got, want), 1e-5) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LE(std::fabs(got[i] - want[i]), error_bound(terms, abs_sum[i]))
        << what << " element " << i << " got " << got[i] << " want " << want[i];
}

struct Outputs {
  std::vector<float> y, gx, gw, gb;
};

// The linear layer of a one-layer model with the reference's weights: a training forward and
// backward of `samples` samples in chunks of `chunk`, the parameter gradients combined.
Outputs run_linear(int64_t in, int64_t out, int64_t samples, int64_t chunk, const std::vector<float>& x,
                   const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& gy) {
  Model model({in, 1, 1}, nlohmann::json::parse(R"([{"type": "linear", "out_features": )" + std::to_string(out) + "}]"),
              0, Device::cpu(), ComputeMode{});
  const auto& params = model.params();
  EXPECT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "layers.0.weight");
  EXPECT_EQ(params[0].shape, (std::vector<int64_t>{out, in}));  // PyTorch's [out, in]
  float* flat = model.flat_params().data<float>();
  std::copy(w.begin(), w.end(), flat + params[0].offset);
  std::copy(b.begin(), b.end(), flat + params[1].offset);

  const int64_t chunks = samples / chunk;
  std::vector<float> partials(static_cast<size_t>(chunks * model.param_count()), NAN);
  model.bind_grad_partials(partials.data(), chunks);
  ExecContext ctx;
  ctx.device = Device::cpu();
  ctx.training = true;
  ctx.samples = samples;
  ctx.chunk_size = chunk;
  const Tensor xt = Tensor::from_host(Shape{samples, in, 1, 1}, DType::f32, x.data(), x.size() * sizeof(float));
  const Tensor dyt = Tensor::from_host(Shape{samples, out, 1, 1}, DType::f32, gy.data(), gy.size() * sizeof(float));
  Outputs o;
  const Tensor y = model.net().forward(ctx, xt);
  o.y.assign(y.data<float>(), y.data<float>() + y.numel());
  const Tensor dx = model.net().backward(ctx, dyt, true);
  o.gx.assign(dx.data<float>(), dx.data<float>() + dx.numel());
  o.gw.resize(static_cast<size_t>(params[0].size));
  o.gb.resize(static_cast<size_t>(params[1].size));
  kernels::combine_chunk_partials_cpu(partials.data() + chunks * params[0].offset, chunks, params[0].size, o.gw.data());
  kernels::combine_chunk_partials_cpu(partials.data() + chunks * params[1].offset, chunks, params[1].size, o.gb.data());
  return o;
}

TEST(LinearTorchReference, ForwardAndBackwardMatchPyTorch) {
  const auto& ref = test::TorchReference::get();
  const char* name = "linear";
  ASSERT_EQ(ref.params(name)["op"], "linear");
  ASSERT_TRUE(ref.params(name)["bias"].get<bool>());
  const auto xs = ref.shape(name, "x"), ws = ref.shape(name, "w");
  const int64_t n = xs[0], in = xs[1], out = ws[0];
  ASSERT_EQ(ws[1], in);
  ASSERT_EQ(ref.shape(name, "y"), (std::vector<int64_t>{n, out}));
  ASSERT_EQ(ref.shape(name, "gx"), xs);
  ASSERT_EQ(ref.shape(name, "gw"), ws);
  ASSERT_EQ(ref.shape(name, "gb"), (std::vector<int64_t>{out}));
  const auto x = ref.floats(name, "x"), w = ref.floats(name, "w"), b = ref.floats(name, "b"), gy = ref.floats(name, "gy");

  // sum |terms| of every output, in float64 from the (float32-representable) inputs.
  std::vector<double> y_abs(n * out, 0), gx_abs(n * in, 0), gw_abs(out * in, 0), gb_abs(out, 0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t o = 0; o < out; ++o) {
      y_abs[s * out + o] = std::fabs(double(b[o]));
      gb_abs[o] += std::fabs(double(gy[s * out + o]));
      for (int64_t i = 0; i < in; ++i) {
        y_abs[s * out + o] += std::fabs(double(x[s * in + i]) * w[o * in + i]);
        gx_abs[s * in + i] += std::fabs(double(gy[s * out + o]) * w[o * in + i]);
        gw_abs[o * in + i] += std::fabs(double(gy[s * out + o]) * x[s * in + i]);
      }
    }

  for (int64_t chunk : {n, int64_t{1}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const Outputs got = run_linear(in, out, n, chunk, x, w, b, gy);
    expect_within_bound(got.y, ref.values(name, "y"), y_abs, in + 1, "y");
    expect_within_bound(got.gx, ref.values(name, "gx"), gx_abs, out, "gx");
    expect_within_bound(got.gw, ref.values(name, "gw"), gw_abs, n, "gw");
    expect_within_bound(got.gb, ref.values(name, "gb"), gb_abs, n, "gb");
  }
}

}  // namespace
}  // namespace detnn::layers
