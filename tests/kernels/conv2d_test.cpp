#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/canonical_sum.h"
#include "kernels/conv2d.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;

constexpr double kEps = 0x1p-24;  // unit roundoff of float

Conv2dParams make(int64_t n, int64_t ci, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw,
                  int64_t sh = 1, int64_t sw = 1, int64_t ph = 0, int64_t pw = 0, int64_t dh = 1,
                  int64_t dw = 1, int64_t groups = 1) {
  Conv2dParams p;
  p.batch = n, p.in_channels = ci, p.in_h = h, p.in_w = w, p.out_channels = co;
  p.kernel_h = kh, p.kernel_w = kw, p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw;
  p.dilation_h = dh, p.dilation_w = dw, p.groups = groups;
  return p;
}

std::string describe(const Conv2dParams& p) {
  return "N" + std::to_string(p.batch) + " Ci" + std::to_string(p.in_channels) + " " +
         std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + " Co" + std::to_string(p.out_channels) +
         " k" + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
         std::to_string(p.stride_h) + "," + std::to_string(p.stride_w) + " p" + std::to_string(p.pad_h) +
         "," + std::to_string(p.pad_w) + " d" + std::to_string(p.dilation_h) + "," +
         std::to_string(p.dilation_w) + " g" + std::to_string(p.groups);
}

// Random shapes: odd sizes (1, 7, 33), strides, paddings, dilations, groups and depthwise.
std::vector<Conv2dParams> random_shape_cases() {
  return {
      make(2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1),
      make(1, 1, 1, 1, 1, 1, 1),
      make(3, 2, 33, 7, 5, 3, 3, 2, 1, 1, 0),
      make(2, 4, 9, 10, 6, 3, 2, 2, 3, 1, 2, 1, 2, 2),
      make(2, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),   // depthwise
      make(1, 6, 11, 9, 9, 5, 3, 1, 2, 2, 1, 2, 1, 3),  // groups 3, dilation 2 in h
      make(2, 8, 7, 7, 16, 1, 1, 2, 2, 0, 0),
      make(1, 3, 33, 33, 7, 7, 7, 3, 3, 3, 3),
      make(4, 5, 6, 13, 3, 2, 4, 1, 3, 0, 2, 3, 1),
      make(2, 2, 5, 5, 4, 5, 5, 1, 1, 4, 4),            // more padding than input
      make(1, 33, 7, 1, 7, 3, 1, 1, 1, 1, 0),           // width 1
      make(2, 40, 6, 6, 40, 3, 3, 1, 1, 1, 1, 1, 1, 2), // K = 180: several vectors and row tiles
  };
}

// ---------------------------------------------------------------------------------------------
// The documented dot products (contract 2: K-leaves of 1024 terms in the documented K order),
// written as plain scalar loops; padded / non-landing taps are skipped but keep their index.

void scalar_forward(const Conv2dParams& p, const float* x, const float* w, const float* b, float* y) {
  const int64_t OH = p.out_h(), OW = p.out_w(), Cig = p.in_channels_per_group(),
                Cog = p.out_channels_per_group();
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t co = 0; co < p.out_channels; ++co)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          test::ContractDot dot;
          const int64_t grp = co / Cog;
          for (int64_t ci = 0; ci < Cig; ++ci)
            for (int64_t kh = 0; kh < p.kernel_h; ++kh)
              for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
                const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
                const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                dot.add((ci * p.kernel_h + kh) * p.kernel_w + kw,
                        x[((n * p.in_channels + grp * Cig + ci) * p.in_h + ih) * p.in_w + iw],
                        w[((co * Cig + ci) * p.kernel_h + kh) * p.kernel_w + kw]);
              }
          const float acc = dot.result(Cig * p.kernel_h * p.kernel_w);
          y[((n * p.out_channels + co) * OH + oh) * OW + ow] = b ? acc + b[co] : acc;
        }
}

void scalar_backward_data(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  const int64_t OH = p.out_h(), OW = p.out_w(), Cig = p.in_channels_per_group(),
                Cog = p.out_channels_per_group();
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t ci = 0; ci < p.in_channels; ++ci)
      for (int64_t ih = 0; ih < p.in_h; ++ih)
        for (int64_t iw = 0; iw < p.in_w; ++iw) {
          const int64_t grp = ci / Cig;
          test::ContractDot dot;
          for (int64_t col = 0; col < Cog; ++col)
            for (int64_t kh = 0; kh < p.kernel_h; ++kh)
              for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
                const int64_t th = ih + p.pad_h - kh * p.dilation_h, tw = iw + p.pad_w - kw * p.dilation_w;
                if (th < 0 || tw < 0 || th % p.stride_h || tw % p.stride_w) continue;
                const int64_t oh = th / p.stride_h, ow = tw / p.stride_w;
                if (oh >= OH || ow >= OW) continue;
                const int64_t co = grp * Cog + col;
                dot.add((col * p.kernel_h + kh) * p.kernel_w + kw, dy[((n * p.out_channels + co) * OH + oh) * OW + ow],
                        w[((co * Cig + ci % Cig) * p.kernel_h + kh) * p.kernel_w + kw]);
              }
          dx[((n * p.in_channels + ci) * p.in_h + ih) * p.in_w + iw] = dot.result(Cog * p.kernel_h * p.kernel_w);
        }
}

void scalar_backward_filter_partials(const Conv2dParams& p, int64_t chunk, const float* x,
                                     const float* dy, float* dwp, float* dbp) {
  const int64_t OH = p.out_h(), OW = p.out_w(), Cig = p.in_channels_per_group(),
                Cog = p.out_channels_per_group(), kf = p.filter_size();
  const int64_t chunks = p.batch / chunk;
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t co = 0; co < p.out_channels; ++co) {
      const int64_t grp = co / Cog;
      for (int64_t ci = 0; ci < Cig; ++ci)
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            test::ContractDot dot;
            for (int64_t n = c * chunk; n < (c + 1) * chunk; ++n)
              for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                  const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
                  const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                  if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                  dot.add(((n - c * chunk) * OH + oh) * OW + ow, dy[((n * p.out_channels + co) * OH + oh) * OW + ow],
                          x[((n * p.in_channels + grp * Cig + ci) * p.in_h + ih) * p.in_w + iw]);
                }
            dwp[(c * p.out_channels + co) * kf + (ci * p.kernel_h + kh) * p.kernel_w + kw] = dot.result(chunk * OH * OW);
          }
      std::vector<float> seq;  // (n, oh, ow) order inside the chunk
      for (int64_t n = c * chunk; n < (c + 1) * chunk; ++n)
        for (int64_t q = 0; q < OH * OW; ++q) seq.push_back(dy[(n * p.out_channels + co) * OH * OW + q]);
      dbp[c * p.out_channels + co] = test::contract_sum(seq.data(), static_cast<int64_t>(seq.size()));
    }
}

// ---------------------------------------------------------------------------------------------
// Float64 references: the exact values (every term in double; products of floats are exact),
// plus the sum of |terms| each output has, for error bounds.

struct Ref64 {
  std::vector<double> y, dx, dw, db;
  std::vector<double> y_abs, dx_abs, dw_abs, db_abs;
};

Ref64 reference64(const Conv2dParams& p, const std::vector<float>& x, const std::vector<float>& w,
                  const float* b, const std::vector<float>& dy) {
  const int64_t OH = p.out_h(), OW = p.out_w(), Cig = p.in_channels_per_group(),
                Cog = p.out_channels_per_group(), kf = p.filter_size();
  Ref64 r;
  r.y.assign(p.output_size(), 0), r.y_abs.assign(p.output_size(), 0);
  r.dx.assign(p.input_size(), 0), r.dx_abs.assign(p.input_size(), 0);
  r.dw.assign(p.weight_size(), 0), r.dw_abs.assign(p.weight_size(), 0);
  r.db.assign(p.out_channels, 0), r.db_abs.assign(p.out_channels, 0);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t co = 0; co < p.out_channels; ++co)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t yi = ((n * p.out_channels + co) * OH + oh) * OW + ow;
          const double g = dy[yi];
          r.db[co] += g, r.db_abs[co] += std::fabs(g);
          if (b) r.y[yi] += b[co], r.y_abs[yi] += std::fabs(b[co]);
          for (int64_t ci = 0; ci < Cig; ++ci)
            for (int64_t kh = 0; kh < p.kernel_h; ++kh)
              for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
                const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
                const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                const int64_t xi = ((n * p.in_channels + (co / Cog) * Cig + ci) * p.in_h + ih) * p.in_w + iw;
                const int64_t wi = co * kf + (ci * p.kernel_h + kh) * p.kernel_w + kw;
                const double xv = x[xi], wv = w[wi];
                r.y[yi] += xv * wv, r.y_abs[yi] += std::fabs(xv * wv);
                r.dx[xi] += g * wv, r.dx_abs[xi] += std::fabs(g * wv);
                r.dw[wi] += g * xv, r.dw_abs[wi] += std::fabs(g * xv);
              }
        }
  return r;
}

// Any order of summing n terms (fmaf chains, leaf sums, pairwise combines) errs by at most
// gamma_n * sum|terms| with gamma_n = n*u/(1 - n*u) (Higham, Accuracy and Stability, §3-4); a
// final `+ bias` or combine step adds a term, so n + 1 terms are allowed for. Every output here
// has fewer than 2^20 terms.
double error_bound(int64_t terms, double abs_sum) {
  const double n = static_cast<double>(terms + 1);
  return n * kEps / (1 - n * kEps) * abs_sum + 1e-30;
}

void expect_within_bound(const std::vector<float>& got, const std::vector<double>& want,
                         const std::vector<double>& abs_sum, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]);
    ASSERT_LE(err, error_bound(terms, abs_sum[i])) << what << " element " << i << " got " << got[i]
                                                   << " want " << want[i];
  }
}

struct Outputs {
  std::vector<float> y, dx, dwp, dbp, dw, db;
};

Outputs run_cpu(const Conv2dParams& p, int64_t chunk, const std::vector<float>& x,
                const std::vector<float>& w, const float* b, const std::vector<float>& dy) {
  const int64_t chunks = p.batch / chunk;
  Outputs o;
  o.y.resize(p.output_size()), o.dx.resize(p.input_size());
  o.dwp.resize(chunks * p.weight_size()), o.dbp.resize(chunks * p.out_channels);
  o.dw.resize(p.weight_size()), o.db.resize(p.out_channels);
  conv2d_forward_cpu(p, x.data(), w.data(), b, o.y.data());
  conv2d_backward_data_cpu(p, dy.data(), w.data(), o.dx.data());
  conv2d_backward_filter_partials_cpu(p, chunk, x.data(), dy.data(), o.dwp.data(), o.dbp.data());
  conv2d_backward_filter_cpu(p, chunk, x.data(), dy.data(), o.dw.data(), o.db.data());
  return o;
}

#define EXPECT_SAME_BITS(a, b, what)                                                         \
  do {                                                                                       \
    ASSERT_EQ((a).size(), (b).size()) << what;                                               \
    EXPECT_EQ(first_bit_difference((a).data(), (b).data(), (a).size()), -1) << what;         \
  } while (0)

// ---------------------------------------------------------------------------------------------

// PyTorch's float64 results for float32-representable inputs. The float kernels round: each
// output is a chain of at most K <= 3*5*5 = 75 (forward, backward-data) or N*OH*OW <= 198
// (weight gradient, one chunk per sample, then a pairwise combine of <= 3 chunks) terms, so its
// error is below gamma_200 * sum|terms| ~ 1.2e-5 * sum|terms|. Measured against max|want| the
// errors are ~1e-7; 1e-5 leaves room for sum|terms| exceeding max|want| by two orders of
// magnitude (cancellation) while still catching any wrong tap, which errs by O(1).
TEST(Conv2d, MatchesPyTorchReference) {
  const auto& ref = test::TorchReference::get();
  for (const char* name : {"conv_3x3_s1_p1", "conv_3x3_s2_p1", "conv_1x1_s2_p0", "conv_5x5_s1_p0",
                           "conv_3x3_dil2", "conv_depthwise", "conv_groups2"}) {
    SCOPED_TRACE(name);
    const auto& par = ref.params(name);
    const auto xs = ref.shape(name, "x"), ws = ref.shape(name, "w");
    Conv2dParams p = make(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3]);
    p.stride_h = p.stride_w = par["stride"].get<int64_t>();
    p.pad_h = p.pad_w = par["padding"].get<int64_t>();
    p.dilation_h = p.dilation_w = par["dilation"].get<int64_t>();
    p.groups = par["groups"].get<int64_t>();
    const bool has_bias = par["bias"].get<bool>();
    ASSERT_EQ(ref.shape(name, "y"), (std::vector<int64_t>{p.batch, p.out_channels, p.out_h(), p.out_w()}));
    const auto x = ref.floats(name, "x"), w = ref.floats(name, "w"), gy = ref.floats(name, "gy");
    const auto b = has_bias ? ref.floats(name, "b") : std::vector<float>{};
    for (int64_t chunk : {int64_t{1}, p.batch}) {
      const Outputs o = run_cpu(p, chunk, x, w, has_bias ? b.data() : nullptr, gy);
      EXPECT_LE(test::max_relative_error(o.y, ref.values(name, "y")), 1e-5);
      EXPECT_LE(test::max_relative_error(o.dx, ref.values(name, "gx")), 1e-5);
      EXPECT_LE(test::max_relative_error(o.dw, ref.values(name, "gw")), 1e-5) << "chunk " << chunk;
      if (has_bias) EXPECT_LE(test::max_relative_error(o.db, ref.values(name, "gb")), 1e-5);
    }
  }
}

TEST(Conv2d, WithinRoundingBoundOfFloat64ReferenceOnRandomShapes) {
  uint32_t seed = 10;
  for (const Conv2dParams& p : random_shape_cases()) {
    SCOPED_TRACE(describe(p));
    const auto x = random_floats(p.input_size(), ++seed), w = random_floats(p.weight_size(), ++seed);
    const auto b = random_floats(p.out_channels, ++seed), dy = random_floats(p.output_size(), ++seed);
    const int64_t chunk = p.batch % 2 == 0 ? 2 : 1;
    const Outputs o = run_cpu(p, chunk, x, w, b.data(), dy);
    const Ref64 r = reference64(p, x, w, b.data(), dy);
    const int64_t ohw = p.out_h() * p.out_w();
    expect_within_bound(o.y, r.y, r.y_abs, p.filter_size() + 1, "y");
    expect_within_bound(o.dx, r.dx, r.dx_abs, p.out_channels_per_group() * p.kernel_h * p.kernel_w, "dx");
    expect_within_bound(o.dw, r.dw, r.dw_abs, p.batch * ohw, "dw");
    expect_within_bound(o.db, r.db, r.db_abs, p.batch * ohw, "db");
  }
}

void expect_bits_of_the_scalar_chains(const Conv2dParams& p, uint32_t& seed) {
  SCOPED_TRACE(describe(p));
  const auto x = random_floats(p.input_size(), ++seed), w = random_floats(p.weight_size(), ++seed);
  const auto b = random_floats(p.out_channels, ++seed), dy = random_floats(p.output_size(), ++seed);
  for (int64_t chunk : {int64_t{1}, p.batch}) {
    const int64_t chunks = p.batch / chunk;
    const Outputs o = run_cpu(p, chunk, x, w, b.data(), dy);
    std::vector<float> y(p.output_size()), y_nobias(p.output_size()), dx(p.input_size());
    std::vector<float> dwp(chunks * p.weight_size()), dbp(chunks * p.out_channels);
    scalar_forward(p, x.data(), w.data(), b.data(), y.data());
    scalar_backward_data(p, dy.data(), w.data(), dx.data());
    scalar_backward_filter_partials(p, chunk, x.data(), dy.data(), dwp.data(), dbp.data());
    EXPECT_SAME_BITS(o.y, y, "forward");
    EXPECT_SAME_BITS(o.dx, dx, "backward-data");
    EXPECT_SAME_BITS(o.dwp, dwp, "weight partials");
    EXPECT_SAME_BITS(o.dbp, dbp, "bias partials");
    std::vector<float> got_nobias(p.output_size());
    conv2d_forward_cpu(p, x.data(), w.data(), nullptr, got_nobias.data());
    scalar_forward(p, x.data(), w.data(), nullptr, y_nobias.data());
    EXPECT_SAME_BITS(got_nobias, y_nobias, "forward without bias");
    // The convenience call is the partials combined pairwise over the chunks.
    std::vector<float> dw(p.weight_size()), db(p.out_channels);
    combine_chunk_partials_cpu(dwp.data(), chunks, p.weight_size(), dw.data());
    combine_chunk_partials_cpu(dbp.data(), chunks, p.out_channels, db.data());
    EXPECT_SAME_BITS(o.dw, dw, "weight gradient");
    EXPECT_SAME_BITS(o.db, db, "bias gradient");
  }
}

TEST(Conv2d, BitsEqualTheScalarChains) {
  uint32_t seed = 100;
  for (const Conv2dParams& p : random_shape_cases()) expect_bits_of_the_scalar_chains(p, seed);
}

// Contract 2's K-leaves in every pass: forward K = 120*3*3 = 1080 and 115*3*3 = 1035 (a
// one-leaf remainder), backward-data K = Co*3*3 = 1080, and filter gradients of 2 x 26 x 26 =
// 1352 terms a chunk (a leaf ends inside the second sample) and 2 x 32 x 32 = 2048 (exactly two).
TEST(Conv2d, KLeavesOf1024InEveryPassEqualTheContract) {
  uint32_t seed = 500;
  for (const Conv2dParams& p : {make(2, 120, 5, 5, 3, 3, 3, 1, 1, 1, 1), make(1, 115, 4, 6, 2, 3, 3, 1, 1, 0, 1),
                                make(1, 2, 5, 5, 120, 3, 3, 1, 1, 1, 1), make(1, 2, 6, 5, 120, 3, 3, 2, 2, 1, 1),
                                make(2, 2, 26, 26, 3, 3, 3, 1, 1, 1, 1), make(2, 1, 32, 32, 2, 3, 3, 1, 1, 1, 1),
                                // planes large enough for the shifted-window form, with two K-leaves
                                make(1, 120, 12, 12, 3, 3, 3, 1, 1, 1, 1), make(1, 2, 12, 12, 120, 3, 3, 1, 1, 1, 1)})
    expect_bits_of_the_scalar_chains(p, seed);
}

// The gradients of L = sum(y * r) from the float kernels against central differences of a
// float64 forward. L is linear in every input, so the differences are exact up to float64
// rounding (~1e-13 here); what remains is the kernels' own float rounding, at most
// gamma_K * sum|terms| (K <= 60 terms here, ~4e-6 relative), so a 2e-5 bound relative to the
// largest gradient catches any wrong tap or sign while allowing the rounding.
TEST(Conv2d, GradientsMatchFiniteDifferencesOfFloat64Forward) {
  for (const Conv2dParams& p : {make(2, 4, 5, 6, 6, 3, 2, 2, 1, 1, 0, 1, 2, 2),
                                make(2, 3, 6, 5, 4, 3, 3, 1, 2, 1, 1, 2, 1),
                                make(2, 3, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3)}) {
    SCOPED_TRACE(describe(p));
    auto x = random_floats(p.input_size(), 7), w = random_floats(p.weight_size(), 8);
    auto b = random_floats(p.out_channels, 9), r = random_floats(p.output_size(), 10);
    const Outputs o = run_cpu(p, 1, x, w, b.data(), r);
    std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end());
    auto loss = [&]() {
      const int64_t OH = p.out_h(), OW = p.out_w(), Cig = p.in_channels_per_group(),
                    Cog = p.out_channels_per_group();
      double l = 0;
      for (int64_t n = 0; n < p.batch; ++n)
        for (int64_t co = 0; co < p.out_channels; ++co)
          for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
              double y = bd[co];
              for (int64_t ci = 0; ci < Cig; ++ci)
                for (int64_t kh = 0; kh < p.kernel_h; ++kh)
                  for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
                    const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
                    const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                    if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                    y += xd[((n * p.in_channels + (co / Cog) * Cig + ci) * p.in_h + ih) * p.in_w + iw] *
                         wd[((co * Cig + ci) * p.kernel_h + kh) * p.kernel_w + kw];
                  }
              l += y * r[((n * p.out_channels + co) * OH + oh) * OW + ow];
            }
      return l;
    };
    auto check = [&](std::vector<double>& v, const std::vector<float>& grad, const char* what) {
      double scale = 0, worst = 0;
      for (float g : grad) scale = std::max(scale, std::fabs(static_cast<double>(g)));
      const double h = 1e-3;
      for (size_t i = 0; i < v.size(); ++i) {
        const double saved = v[i];
        v[i] = saved + h;
        const double up = loss();
        v[i] = saved - h;
        const double down = loss();
        v[i] = saved;
        worst = std::max(worst, std::fabs((up - down) / (2 * h) - grad[i]));
      }
      EXPECT_LE(worst, 2e-5 * scale) << what;
    };
    check(xd, o.dx, "dx");
    check(wd, o.dw, "dw");
    check(bd, o.db, "db");
  }
}

// DESIGN §3: a chunk gives the same bits alone as inside a batch of 64.
TEST(Conv2d, ChunkAloneEqualsChunkInsideBatch) {
  const int64_t batch = 64, chunk = 4, c = 5;  // chunk 5 = samples [20, 24)
  for (Conv2dParams p : {make(batch, 5, 9, 7, 6, 3, 3, 1, 1, 1, 1), make(batch, 4, 8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2)}) {
    SCOPED_TRACE(describe(p));
    const auto x = random_floats(p.input_size(), 21), w = random_floats(p.weight_size(), 22);
    const auto b = random_floats(p.out_channels, 23), dy = random_floats(p.output_size(), 24);
    const Outputs all = run_cpu(p, chunk, x, w, b.data(), dy);
    Conv2dParams q = p;
    q.batch = chunk;
    const int64_t xs = p.input_size() / batch, ys = p.output_size() / batch;
    std::vector<float> xq(x.begin() + c * chunk * xs, x.begin() + (c + 1) * chunk * xs);
    std::vector<float> dyq(dy.begin() + c * chunk * ys, dy.begin() + (c + 1) * chunk * ys);
    const Outputs one = run_cpu(q, chunk, xq, w, b.data(), dyq);
    EXPECT_SAME_BITS(one.y, std::vector<float>(all.y.begin() + c * chunk * ys, all.y.begin() + (c + 1) * chunk * ys), "y");
    EXPECT_SAME_BITS(one.dx, std::vector<float>(all.dx.begin() + c * chunk * xs, all.dx.begin() + (c + 1) * chunk * xs), "dx");
    const int64_t ws = p.weight_size();
    EXPECT_SAME_BITS(one.dwp, std::vector<float>(all.dwp.begin() + c * ws, all.dwp.begin() + (c + 1) * ws), "dw partial");
    EXPECT_SAME_BITS(one.dbp, std::vector<float>(all.dbp.begin() + c * p.out_channels, all.dbp.begin() + (c + 1) * p.out_channels), "db partial");
  }
}

TEST(Conv2d, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  for (const Conv2dParams& p : {make(8, 6, 15, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 2),
                                make(2, 16, 12, 12, 32, 3, 3, 2, 1, 1, 1),
                                make(1, 3, 40, 40, 8, 5, 5, 1, 1, 2, 2)}) {
    SCOPED_TRACE(describe(p));
    const auto x = random_floats(p.input_size(), 31), w = random_floats(p.weight_size(), 32);
    const auto b = random_floats(p.out_channels, 33), dy = random_floats(p.output_size(), 34);
    set_num_threads(1);
    const Outputs one = run_cpu(p, p.batch, x, w, b.data(), dy);
    for (int threads : {2, 7}) {
      set_num_threads(threads);
      const Outputs o = run_cpu(p, p.batch, x, w, b.data(), dy);
      EXPECT_SAME_BITS(o.y, one.y, "y, threads " << threads);
      EXPECT_SAME_BITS(o.dx, one.dx, "dx, threads " << threads);
      EXPECT_SAME_BITS(o.dwp, one.dwp, "dw partials, threads " << threads);
      EXPECT_SAME_BITS(o.dbp, one.dbp, "db partials, threads " << threads);
    }
  }
}

TEST(Conv2d, BadParametersAreNamedErrors) {
  auto message = [](const Conv2dParams& p) {
    try {
      p.validate();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto has = [&](const Conv2dParams& p, const std::string& text) {
    const std::string m = message(p);
    EXPECT_NE(m.find(text), std::string::npos) << "message: " << m << "\nexpected: " << text;
  };
  has(make(1, 4, 5, 5, 3, 3, 3, 1, 1, 0, 0, 1, 1, 3), "conv2d: groups (3) must divide in_channels (4)");
  has(make(1, 6, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 3), "conv2d: groups (3) must divide out_channels (4)");
  has(make(1, 4, 5, 5, 4, 3, 3, 0, 1), "conv2d: stride_h must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, -2), "conv2d: stride_w must be >= 1, got -2");
  has(make(1, 4, 5, 5, 4, 0, 3), "conv2d: kernel_h must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 0), "conv2d: kernel_w must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, -1, 0), "conv2d: pad_h must be >= 0, got -1");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, 0, -1), "conv2d: pad_w must be >= 0, got -1");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, 0, 0, 0, 1), "conv2d: dilation_h must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 0), "conv2d: dilation_w must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 0), "conv2d: groups must be >= 1, got 0");
  has(make(1, 0, 5, 5, 4, 3, 3), "conv2d: in_channels must be >= 1, got 0");
  has(make(1, 4, 5, 5, 0, 3, 3), "conv2d: out_channels must be >= 1, got 0");
  has(make(-1, 4, 5, 5, 4, 3, 3), "conv2d: batch must be >= 0, got -1");
  has(make(1, 4, 0, 5, 4, 3, 3), "conv2d: in_h must be >= 1, got 0");
  has(make(1, 4, 2, 5, 4, 3, 3), "conv2d: output height must be >= 1, got 0");
  has(make(1, 4, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 3), "conv2d: output width must be >= 1, got 0");
  EXPECT_EQ(message(make(1, 4, 5, 5, 4, 3, 3)), "no error");

  // The kernels check too, before touching memory; and the chunk size must divide the batch.
  const Conv2dParams bad = make(1, 4, 5, 5, 4, 3, 3, 0, 1);
  EXPECT_THROW(conv2d_forward_cpu(bad, nullptr, nullptr, nullptr, nullptr), Error);
  EXPECT_THROW(conv2d_backward_data_cpu(bad, nullptr, nullptr, nullptr), Error);
  EXPECT_THROW(conv2d_backward_filter_partials_cpu(bad, 1, nullptr, nullptr, nullptr, nullptr), Error);
  const Conv2dParams p = make(6, 2, 4, 4, 2, 3, 3);
  try {
    conv2d_backward_filter_cpu(p, 4, nullptr, nullptr, nullptr, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d: batch (6) must be a multiple of chunk_size (4)"),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(conv2d_chunks(p, 0), Error);
  EXPECT_EQ(conv2d_chunks(p, 3), 2);
}

TEST(Conv2d, OutputShapeHelpers) {
  const Conv2dParams p = make(2, 4, 10, 9, 6, 3, 2, 2, 3, 1, 2, 2, 1, 2);
  EXPECT_EQ(p.out_h(), (10 + 2 - 2 * 2 - 1) / 2 + 1);
  EXPECT_EQ(p.out_w(), (9 + 4 - 1 * 1 - 1) / 3 + 1);
  EXPECT_EQ(p.filter_size(), 2 * 3 * 2);
  EXPECT_EQ(p.weight_size(), 6 * 12);
  EXPECT_EQ(p.output_size(), 2 * 6 * p.out_h() * p.out_w());
  EXPECT_EQ(Conv2dParams::output_extent(3, 5, 1, 0, 1), 0);
}

TEST(Conv2d, EmptyBatchDoesNothing) {
  const Conv2dParams p = make(0, 3, 5, 5, 4, 3, 3);
  conv2d_forward_cpu(p, nullptr, nullptr, nullptr, nullptr);
  conv2d_backward_data_cpu(p, nullptr, nullptr, nullptr);
  std::vector<float> dw(p.weight_size(), 1.0f), db(p.out_channels, 1.0f);
  conv2d_backward_filter_cpu(p, 1, nullptr, nullptr, dw.data(), db.data());
  for (float v : dw) EXPECT_EQ(v, 0.0f);
  for (float v : db) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace detnn::kernels
