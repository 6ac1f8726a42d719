#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/pool2d.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::float_bits;
using test::random_floats;

// ---- float64 references, written as a scatter over windows (the kernels gather) -------------

struct Ref {
  std::vector<double> y;
  std::vector<int32_t> argmax;
};

// Window taps of output (oh, ow) that are in bounds, in scan order (kh, then kw).
template <typename F>
void for_taps(const PoolParams& p, int64_t oh, int64_t ow, F f) {
  for (int64_t kh = 0; kh < p.kernel_h; ++kh)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      const int64_t ih = oh * p.stride_h - p.pad_h + kh, iw = ow * p.stride_w - p.pad_w + kw;
      if (ih >= 0 && ih < p.height && iw >= 0 && iw < p.width) f(ih * p.width + iw);
    }
}

Ref maxpool_ref(const PoolParams& p, const std::vector<double>& x) {
  const int64_t OH = p.out_h(), OW = p.out_w(), HW = p.height * p.width;
  Ref r{std::vector<double>(p.output_size()), std::vector<int32_t>(p.output_size())};
  for (int64_t pl = 0; pl < p.planes(); ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -INFINITY;
        int64_t arg = -1;
        for_taps(p, oh, ow, [&](int64_t i) {
          if (arg < 0 || x[pl * HW + i] > best) best = x[pl * HW + i], arg = i;
        });
        r.y[(pl * OH + oh) * OW + ow] = best;
        r.argmax[(pl * OH + oh) * OW + ow] = static_cast<int32_t>(arg);
      }
  return r;
}

double avg_divisor_ref(const PoolParams& p, int64_t oh, int64_t ow) {
  if (p.count_include_pad) return static_cast<double>(p.kernel_h * p.kernel_w);
  int64_t n = 0;
  for_taps(p, oh, ow, [&](int64_t) { ++n; });
  return static_cast<double>(n);
}

std::vector<double> avgpool_ref(const PoolParams& p, const std::vector<double>& x) {
  const int64_t OH = p.out_h(), OW = p.out_w(), HW = p.height * p.width;
  std::vector<double> y(p.output_size());
  for (int64_t pl = 0; pl < p.planes(); ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double s = 0;
        for_taps(p, oh, ow, [&](int64_t i) { s += x[pl * HW + i]; });
        y[(pl * OH + oh) * OW + ow] = s / avg_divisor_ref(p, oh, ow);
      }
  return y;
}

std::vector<double> maxpool_backward_ref(const PoolParams& p, const std::vector<int32_t>& argmax,
                                         const std::vector<double>& dy) {
  const int64_t HW = p.height * p.width, OHW = p.out_h() * p.out_w();
  std::vector<double> dx(p.input_size(), 0.0);
  for (int64_t pl = 0; pl < p.planes(); ++pl)
    for (int64_t o = 0; o < OHW; ++o) dx[pl * HW + argmax[pl * OHW + o]] += dy[pl * OHW + o];
  return dx;
}

std::vector<double> avgpool_backward_ref(const PoolParams& p, const std::vector<double>& dy) {
  const int64_t OH = p.out_h(), OW = p.out_w(), HW = p.height * p.width;
  std::vector<double> dx(p.input_size(), 0.0);
  for (int64_t pl = 0; pl < p.planes(); ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const double g = dy[(pl * OH + oh) * OW + ow] / avg_divisor_ref(p, oh, ow);
        for_taps(p, oh, ow, [&](int64_t i) { dx[pl * HW + i] += g; });
      }
  return dx;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// ---- small runners --------------------------------------------------------------------------

struct MaxOut {
  std::vector<float> y;
  std::vector<int32_t> argmax;
};

MaxOut run_max(const PoolParams& p, const std::vector<float>& x) {
  MaxOut o{std::vector<float>(p.output_size()), std::vector<int32_t>(p.output_size())};
  maxpool2d_forward_cpu(p, x.data(), o.y.data(), o.argmax.data());
  return o;
}

std::vector<float> run_max_backward(const PoolParams& p, const std::vector<float>& dy,
                                    const std::vector<int32_t>& argmax) {
  std::vector<float> dx(p.input_size());
  maxpool2d_backward_cpu(p, dy.data(), argmax.data(), dx.data());
  return dx;
}

std::vector<float> run_avg(const PoolParams& p, const std::vector<float>& x) {
  std::vector<float> y(p.output_size());
  avgpool2d_forward_cpu(p, x.data(), y.data());
  return y;
}

std::vector<float> run_avg_backward(const PoolParams& p, const std::vector<float>& dy) {
  std::vector<float> dx(p.input_size());
  avgpool2d_backward_cpu(p, dy.data(), dx.data());
  return dx;
}

PoolParams from_torch(const std::string& name, const std::vector<int64_t>& xshape) {
  const auto& j = test::TorchReference::get().params(name);
  const int64_t k = j["kernel"], s = j["stride"], pad = j["padding"];
  PoolParams p = PoolParams::square(xshape[0], xshape[1], xshape[2], xshape[3], k, s, pad);
  if (j.contains("count_include_pad")) p.count_include_pad = j["count_include_pad"];
  return p;
}

// Shapes with odd sizes, asymmetric kernels, overlapping and non-overlapping windows, padding,
// and the vectorized CUDA path's shape (2x2, stride 2, width % 4 == 0).
std::vector<PoolParams> random_shapes() {
  std::vector<PoolParams> v = {
      PoolParams::square(1, 1, 1, 1, 1, 1, 0),      PoolParams::square(2, 3, 7, 7, 3, 2, 1),
      PoolParams::square(1, 2, 33, 7, 2, 2, 0),     PoolParams::square(3, 1, 33, 33, 3, 1, 1),
      PoolParams::square(2, 2, 8, 12, 2, 2, 0),     PoolParams::square(1, 1, 7, 33, 5, 3, 2),
      PoolParams::square(7, 1, 9, 9, 2, 1, 1),      PoolParams::square(1, 7, 5, 6, 4, 4, 2)};
  PoolParams asym{2, 3, 11, 10, 3, 2, 1, 2, 1, 0};
  v.push_back(asym);
  return v;
}

// ---- PyTorch reference ------------------------------------------------------------------------

// Error bounds: max pooling forward is exact (a max of float inputs). Every other output is a
// sum of at most 9 float terms (+ one division): rounding error <= 10 * 2^-24 relative to the sum
// of the magnitudes, which for these inputs stays below 1e-6 of the largest output.
constexpr double kPoolBound = 1e-6;

TEST(Pool2d, MaxPoolMatchesTorchReference) {
  const auto& ref = test::TorchReference::get();
  for (const char* name : {"maxpool_k2s2", "maxpool_k3s1p1", "maxpool_k3s2p1"}) {
    const PoolParams p = from_torch(name, ref.shape(name, "x"));
    ASSERT_EQ(p.output_size(), static_cast<int64_t>(ref.values(name, "y").size())) << name;
    const MaxOut f = run_max(p, ref.floats(name, "x"));
    EXPECT_EQ(test::max_relative_error(f.y, ref.values(name, "y")), 0.0) << name;
    const auto dx = run_max_backward(p, ref.floats(name, "gy"), f.argmax);
    EXPECT_LE(test::max_relative_error(dx, ref.values(name, "gx")), kPoolBound) << name;
  }
}

TEST(Pool2d, AvgPoolMatchesTorchReference) {
  const auto& ref = test::TorchReference::get();
  for (const char* name : {"avgpool_k2s2", "avgpool_k3s1p1", "avgpool_k3s1p1_nopad"}) {
    const PoolParams p = from_torch(name, ref.shape(name, "x"));
    ASSERT_EQ(p.output_size(), static_cast<int64_t>(ref.values(name, "y").size())) << name;
    EXPECT_LE(test::max_relative_error(run_avg(p, ref.floats(name, "x")), ref.values(name, "y")), kPoolBound)
        << name;
    EXPECT_LE(test::max_relative_error(run_avg_backward(p, ref.floats(name, "gy")), ref.values(name, "gx")),
              kPoolBound)
        << name;
  }
}

TEST(Pool2d, GlobalAvgPoolMatchesTorchReference) {
  const auto& ref = test::TorchReference::get();
  const auto s = ref.shape("global_avgpool", "x");
  const PoolParams p{s[0], s[1], s[2], s[3]};
  std::vector<float> y(p.planes()), dx(p.input_size());
  global_avgpool2d_forward_cpu(p, ref.floats("global_avgpool", "x").data(), y.data());
  global_avgpool2d_backward_cpu(p, ref.floats("global_avgpool", "gy").data(), dx.data());
  // y: a sum of H*W = 35 terms and a division: <= 36 * 2^-24 of sum|x| / (H*W), below 1e-5 here.
  EXPECT_LE(test::max_relative_error(y, ref.values("global_avgpool", "y")), 1e-5);
  EXPECT_LE(test::max_relative_error(dx, ref.values("global_avgpool", "gx")), kPoolBound);
}

// ---- float64 references on random shapes ----------------------------------------------------

TEST(Pool2d, MaxPoolMatchesFloat64ReferenceAndPicksTheSameArgmax) {
  uint32_t seed = 10;
  for (const PoolParams& p : random_shapes()) {
    const auto x = random_floats(p.input_size(), seed++);
    const MaxOut f = run_max(p, x);
    const Ref r = maxpool_ref(p, to_double(x));
    EXPECT_EQ(test::max_relative_error(f.y, r.y), 0.0) << "shape " << p.height << "x" << p.width;
    EXPECT_EQ(f.argmax, r.argmax);
    const auto dy = random_floats(p.output_size(), seed++);
    const auto dx = run_max_backward(p, dy, f.argmax);
    // Overlapping windows add at most ceil(k/s)^2 <= 25 terms: <= 25 * 2^-24 relative.
    EXPECT_LE(test::max_relative_error(dx, maxpool_backward_ref(p, r.argmax, to_double(dy))), 2e-6);
  }
}

TEST(Pool2d, AvgPoolMatchesFloat64ReferenceInBothCountModes) {
  uint32_t seed = 100;
  for (PoolParams p : random_shapes()) {
    for (bool include_pad : {true, false}) {
      p.count_include_pad = include_pad;
      const auto x = random_floats(p.input_size(), seed++);
      // <= kernel_h * kernel_w (<= 25) sequential additions and one division.
      EXPECT_LE(test::max_relative_error(run_avg(p, x), avgpool_ref(p, to_double(x))), 4e-6)
          << "include_pad " << include_pad << " k " << p.kernel_h;
      const auto dy = random_floats(p.output_size(), seed++);
      EXPECT_LE(test::max_relative_error(run_avg_backward(p, dy), avgpool_backward_ref(p, to_double(dy))), 4e-6);
    }
  }
}

TEST(Pool2d, AvgPoolOperationOrderIsTheDocumentedOne) {
  // y = (sequential float sum of the in-bounds taps) / divisor, bit for bit.
  const PoolParams p = PoolParams::square(1, 1, 6, 5, 3, 2, 1, false);
  const auto x = random_floats(p.input_size(), 7, -1e3f, 1e3f);
  const auto y = run_avg(p, x);
  for (int64_t oh = 0; oh < p.out_h(); ++oh)
    for (int64_t ow = 0; ow < p.out_w(); ++ow) {
      float s = 0.0f;
      int n = 0;
      for_taps(p, oh, ow, [&](int64_t i) { s = s + x[i], ++n; });
      EXPECT_EQ(float_bits(y[oh * p.out_w() + ow]), float_bits(s / static_cast<float>(n)));
    }
}

TEST(Pool2d, GlobalAvgPoolIsTheCanonicalSumOverThePlane) {
  for (int64_t h : {1, 7, 17, 33}) {  // planes of 7 .. 1089 elements: one leaf and several
    const PoolParams p{3, 2, h, 7};
    const int64_t hw = h * 7;
    const auto x = random_floats(p.input_size(), 40 + h, -1e2f, 1e2f);
    std::vector<float> y(p.planes());
    global_avgpool2d_forward_cpu(p, x.data(), y.data());
    for (int64_t pl = 0; pl < p.planes(); ++pl)
      EXPECT_EQ(float_bits(y[pl]), float_bits(test::contract_sum(&x[pl * hw], hw) / static_cast<float>(hw)))
          << "h " << h << " plane " << pl;
  }
}

// ---- finite differences in float64 -------------------------------------------------------------

// d/dx of L = sum(ref_forward(x) * g), by central differences on the float64 reference; the
// pooling maps are piecewise linear, so away from ties the difference quotient is exact up to
// rounding. Compared with the float kernel's gradient.
template <typename Forward>
std::vector<double> fd_gradient(const std::vector<float>& x, const std::vector<float>& g, Forward fwd) {
  std::vector<double> xd = to_double(x), grad(x.size());
  const double h = 1e-6;
  auto loss = [&] {
    const auto y = fwd(xd);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * g[i];
    return l;
  };
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = xd[i];
    xd[i] = keep + h;
    const double up = loss();
    xd[i] = keep - h;
    const double down = loss();
    xd[i] = keep;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

TEST(Pool2d, GradientsMatchFiniteDifferences) {
  const PoolParams shapes[] = {PoolParams::square(2, 2, 7, 6, 3, 2, 1), PoolParams::square(1, 1, 9, 8, 3, 1, 1),
                               PoolParams::square(1, 2, 8, 8, 2, 2, 0)};
  uint32_t seed = 500;
  for (PoolParams p : shapes) {
    const auto x = random_floats(p.input_size(), seed++);
    const auto g = random_floats(p.output_size(), seed++);
    const MaxOut f = run_max(p, x);
    const auto max_fd = fd_gradient(x, g, [&](const std::vector<double>& xd) { return maxpool_ref(p, xd).y; });
    EXPECT_LE(test::max_relative_error(run_max_backward(p, g, f.argmax), max_fd), 1e-5);
    for (bool include_pad : {true, false}) {
      p.count_include_pad = include_pad;
      const auto avg_fd = fd_gradient(x, g, [&](const std::vector<double>& xd) { return avgpool_ref(p, xd); });
      EXPECT_LE(test::max_relative_error(run_avg_backward(p, g), avg_fd), 1e-5);
    }
  }
  const PoolParams gp{2, 3, 5, 7};
  const auto x = random_floats(gp.input_size(), 9), g = random_floats(gp.planes(), 10);
  const auto fd = fd_gradient(x, g, [&](const std::vector<double>& xd) {
    std::vector<double> y(gp.planes(), 0.0);
    for (int64_t i = 0; i < gp.input_size(); ++i) y[i / 35] += xd[i] / 35.0;
    return y;
  });
  std::vector<float> dx(gp.input_size());
  global_avgpool2d_backward_cpu(gp, g.data(), dx.data());
  EXPECT_LE(test::max_relative_error(dx, fd), 1e-5);
}

// ---- ties, NaN, infinities ----------------------------------------------------------------------

TEST(Pool2d, MaxPoolTiesGoToTheFirstTapInScanOrder) {
  // Constant input: every window picks its first in-bounds tap, and the backward sends each
  // window's gradient there.
  for (const PoolParams& p : {PoolParams::square(2, 2, 7, 9, 3, 2, 1), PoolParams::square(1, 1, 8, 8, 2, 2, 0),
                              PoolParams::square(1, 1, 6, 6, 3, 1, 1)}) {
    const std::vector<float> x(p.input_size(), 0.25f);
    const MaxOut f = run_max(p, x);
    const int64_t OH = p.out_h(), OW = p.out_w();
    std::vector<int32_t> first(p.output_size());
    for (int64_t pl = 0; pl < p.planes(); ++pl)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t ih = std::max<int64_t>(0, oh * p.stride_h - p.pad_h);
          const int64_t iw = std::max<int64_t>(0, ow * p.stride_w - p.pad_w);
          first[(pl * OH + oh) * OW + ow] = static_cast<int32_t>(ih * p.width + iw);
        }
    EXPECT_EQ(f.argmax, first);
    const std::vector<float> dy(p.output_size(), 1.0f);
    const auto dx = run_max_backward(p, dy, f.argmax);
    EXPECT_LE(test::max_relative_error(dx, maxpool_backward_ref(p, first, to_double(dy))), 0.0);
  }
  // A tie inside one 2x2 window: positions 1 and 2 (scan order) hold the maximum 5.
  const PoolParams p = PoolParams::square(1, 1, 2, 2, 2, 2, 0);
  const MaxOut f = run_max(p, {1.0f, 5.0f, 5.0f, 3.0f});
  EXPECT_EQ(f.y[0], 5.0f);
  EXPECT_EQ(f.argmax[0], 1);
  EXPECT_EQ(run_max_backward(p, {2.0f}, f.argmax), (std::vector<float>{0.0f, 2.0f, 0.0f, 0.0f}));
}

TEST(Pool2d, MaxPoolPropagatesTheFirstNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const PoolParams p = PoolParams::square(1, 1, 2, 2, 2, 2, 0);
  struct Case {
    std::vector<float> x;
    int32_t argmax;
  } cases[] = {{{1.0f, nan, 7.0f, nan}, 1},  // a NaN replaces 1 and stays
               {{nan, 7.0f, 9.0f, 3.0f}, 0},  // a leading NaN is never replaced
               {{-inf, -inf, -inf, -inf}, 0},
               {{-inf, 2.0f, inf, inf}, 2}};
  for (const Case& c : cases) {
    const MaxOut f = run_max(p, c.x);
    EXPECT_EQ(f.argmax[0], c.argmax);
    EXPECT_EQ(float_bits(f.y[0]), float_bits(c.x[c.argmax]));
  }
}

// Windows that tile the plane (stride = kernel, no padding) take a fast path on the CPU: it must
// give the general rule's bits — forward: pool_rules::max_offer over the taps in scan order;
// backward: `acc = 0.0f; acc = acc + g` for the window whose argmax the input is — on inputs full
// of ties, NaNs, infinities and signed zeros, with rows and columns past the last whole window.
TEST(Pool2d, TilingWindowsGiveTheGeneralRulesBits) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float values[] = {-1.0f, 0.0f, -0.0f, 1.0f, 2.0f, nan, inf, -inf};
  PoolParams rect = PoolParams::square(2, 3, 9, 11, 2, 2, 0);
  rect.kernel_w = rect.stride_w = 3;
  uint32_t seed = 900;
  for (const PoolParams& p : {PoolParams::square(2, 3, 9, 11, 2, 2, 0), PoolParams::square(1, 2, 8, 8, 2, 2, 0),
                              PoolParams::square(2, 1, 10, 7, 3, 3, 0), PoolParams::square(1, 1, 5, 5, 1, 1, 0),
                              rect}) {
    const auto pick = random_floats(p.input_size() + p.output_size(), seed++, 0.0f, 8.0f);
    std::vector<float> x(p.input_size()), dy(p.output_size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = values[static_cast<int>(pick[i])];
    for (size_t i = 0; i < dy.size(); ++i) dy[i] = values[static_cast<int>(pick[x.size() + i])];
    const MaxOut f = run_max(p, x);
    const std::vector<float> dx = run_max_backward(p, dy, f.argmax);
    const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
    for (int64_t pl = 0; pl < p.planes(); ++pl) {
      std::vector<float> want_dx(static_cast<size_t>(H * W), 0.0f);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float best = 0.0f;
          int32_t best_index = -1;
          for (int64_t kh = 0; kh < p.kernel_h; ++kh)
            for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
              const int64_t i = (oh * p.kernel_h + kh) * W + ow * p.kernel_w + kw;
              pool_rules::max_offer(x[pl * H * W + i], static_cast<int32_t>(i), best, best_index);
            }
          const int64_t o = pl * OH * OW + oh * OW + ow;
          ASSERT_EQ(f.argmax[o], best_index) << "output " << o;
          ASSERT_EQ(float_bits(f.y[o]), float_bits(best)) << "output " << o;
          want_dx[best_index] = 0.0f + dy[o];
        }
      for (int64_t i = 0; i < H * W; ++i)
        ASSERT_EQ(float_bits(dx[pl * H * W + i]), float_bits(want_dx[i])) << "plane " << pl << " input " << i;
    }
  }
}

// ---- invariances --------------------------------------------------------------------------------

TEST(Pool2d, SampleAloneEqualsSampleInABatchOf64) {
  const PoolParams batch = PoolParams::square(64, 3, 9, 8, 3, 2, 1, false);
  PoolParams one = batch;
  one.batch = 1;
  const auto x = random_floats(batch.input_size(), 77);
  const auto dy = random_floats(batch.output_size(), 78);
  const int64_t s = 37, in = one.input_size(), out = one.output_size();
  const std::vector<float> xs(x.begin() + s * in, x.begin() + (s + 1) * in);
  const std::vector<float> dys(dy.begin() + s * out, dy.begin() + (s + 1) * out);

  const MaxOut all = run_max(batch, x), alone = run_max(one, xs);
  EXPECT_EQ(first_bit_difference(&all.y[s * out], alone.y.data(), out), -1);
  EXPECT_TRUE(std::equal(alone.argmax.begin(), alone.argmax.end(), all.argmax.begin() + s * out));
  const auto dx_all = run_max_backward(batch, dy, all.argmax), dx_one = run_max_backward(one, dys, alone.argmax);
  EXPECT_EQ(first_bit_difference(&dx_all[s * in], dx_one.data(), in), -1);

  const auto ya = run_avg(batch, x), yo = run_avg(one, xs);
  EXPECT_EQ(first_bit_difference(&ya[s * out], yo.data(), out), -1);
  const auto ga = run_avg_backward(batch, dy), go = run_avg_backward(one, dys);
  EXPECT_EQ(first_bit_difference(&ga[s * in], go.data(), in), -1);

  std::vector<float> gya(batch.planes()), gyo(one.planes());
  global_avgpool2d_forward_cpu(batch, x.data(), gya.data());
  global_avgpool2d_forward_cpu(one, xs.data(), gyo.data());
  EXPECT_EQ(first_bit_difference(&gya[s * 3], gyo.data(), 3), -1);
}

TEST(Pool2d, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  const PoolParams p = PoolParams::square(5, 7, 33, 17, 3, 2, 1);
  const PoolParams gp{5, 7, 33, 17};
  const auto x = random_floats(p.input_size(), 91), dy = random_floats(p.output_size(), 92);
  set_num_threads(1);
  const MaxOut m1 = run_max(p, x);
  const auto mb1 = run_max_backward(p, dy, m1.argmax), a1 = run_avg(p, x), ab1 = run_avg_backward(p, dy);
  std::vector<float> g1(gp.planes()), g(gp.planes());
  global_avgpool2d_forward_cpu(gp, x.data(), g1.data());
  for (int threads : {2, 7}) {
    set_num_threads(threads);
    const MaxOut m = run_max(p, x);
    EXPECT_EQ(first_bit_difference(m.y.data(), m1.y.data(), m1.y.size()), -1) << threads;
    EXPECT_EQ(m.argmax, m1.argmax);
    const auto mb = run_max_backward(p, dy, m.argmax);
    EXPECT_EQ(first_bit_difference(mb.data(), mb1.data(), mb1.size()), -1) << threads;
    const auto a = run_avg(p, x), ab = run_avg_backward(p, dy);
    EXPECT_EQ(first_bit_difference(a.data(), a1.data(), a1.size()), -1) << threads;
    EXPECT_EQ(first_bit_difference(ab.data(), ab1.data(), ab1.size()), -1) << threads;
    global_avgpool2d_forward_cpu(gp, x.data(), g.data());
    EXPECT_EQ(first_bit_difference(g.data(), g1.data(), g1.size()), -1) << threads;
  }
}

// ---- parameters -----------------------------------------------------------------------------------

std::string error_of(const PoolParams& p) {
  try {
    p.validate();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "no error";
}

TEST(Pool2d, BadParametersAreNamedErrors) {
  const PoolParams good = PoolParams::square(2, 3, 8, 8, 2, 2, 0);
  EXPECT_EQ(error_of(good), "no error");
  EXPECT_EQ(good.out_h(), 4);
  EXPECT_EQ(PoolParams::square(1, 1, 9, 8, 3, 2, 1).out_h(), 5);  // PyTorch floor mode
  auto with = [&](auto change) {
    PoolParams p = good;
    change(p);
    return error_of(p);
  };
  EXPECT_NE(with([](PoolParams& p) { p.kernel_h = 0; }).find("kernel_h must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.stride_w = 0; }).find("stride_w must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.pad_h = 2; }).find("pad_h must be in [0, kernel_h / 2]"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.pad_w = -1; }).find("pad_w"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.kernel_h = 9; }).find("kernel_h (9) is larger than the padded height (8)"),
            std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.height = 0; }).find("height must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.batch = -1; }).find("batch must be >= 0"), std::string::npos);
  EXPECT_NE(with([](PoolParams& p) { p.height = p.width = 1 << 16; }).find("2^31"), std::string::npos);
  PoolParams bad = good;
  bad.stride_h = 0;
  std::vector<float> buf(good.input_size());
  std::vector<int32_t> arg(good.output_size());
  EXPECT_THROW(maxpool2d_forward_cpu(bad, buf.data(), buf.data(), arg.data()), Error);
  EXPECT_THROW(avgpool2d_backward_cpu(bad, buf.data(), buf.data()), Error);
}

TEST(Pool2d, EmptyBatchWritesNothing) {
  const PoolParams p = PoolParams::square(0, 3, 8, 8, 2, 2, 0);
  EXPECT_EQ(p.output_size(), 0);
  maxpool2d_forward_cpu(p, nullptr, nullptr, nullptr);
  avgpool2d_forward_cpu(p, nullptr, nullptr);
  global_avgpool2d_forward_cpu(PoolParams{0, 3, 8, 8}, nullptr, nullptr);
}

}  // namespace
}  // namespace detnn::kernels
