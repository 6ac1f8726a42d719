#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/batchnorm.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;
using test::first_bit_difference;

BatchNormParams params(int64_t n, int64_t c, int64_t h, int64_t w, int64_t chunk) {
  BatchNormParams p;
  p.batch = n, p.channels = c, p.height = h, p.width = w, p.chunk_size = chunk;
  return p;
}

std::string describe(const BatchNormParams& p) {
  return std::to_string(p.batch) + "x" + std::to_string(p.channels) + "x" + std::to_string(p.height) + "x" +
         std::to_string(p.width) + " chunk " + std::to_string(p.chunk_size);
}

// The cifar_convnet batch norm (batch 64, 64 channels, 32x32, chunks of 32: 4 nodes per
// segment), odd sizes, H*W == 1, H*W % 4 != 0 (scalar staging), segments of one leaf, of
// several nodes (224x224: 13 nodes) and of more than 32 nodes.
std::vector<BatchNormParams> shapes() {
  return {params(64, 64, 32, 32, 32), params(6, 7, 1, 1, 3),     params(4, 1, 7, 7, 2),
          params(2, 3, 33, 9, 1),     params(8, 5, 16, 16, 4),   params(600, 3, 1, 1, 300),
          params(6, 2, 7, 13, 3),     params(2, 3, 224, 224, 2), params(4, 2, 256, 300, 4),
          params(64, 33, 7, 7, 32)};
}

// Host results of the CPU reference.
struct Result {
  std::vector<float> y, mean, var, invstd, dx, dgamma, dbeta;
};

Result run_cpu(const BatchNormParams& p, const std::vector<float>& x, const std::vector<float>& dy,
               const std::vector<float>& gamma, const std::vector<float>& beta) {
  const size_t segs = p.chunks() * p.channels;
  Result r{std::vector<float>(x.size()), std::vector<float>(segs), std::vector<float>(segs), std::vector<float>(segs),
           std::vector<float>(x.size()), std::vector<float>(segs), std::vector<float>(segs)};
  batchnorm_forward_training_cpu(p, x.data(), gamma.data(), beta.data(), r.y.data(), r.mean.data(), r.var.data(),
                                 r.invstd.data());
  batchnorm_backward_cpu(p, x.data(), dy.data(), gamma.data(), r.mean.data(), r.invstd.data(), r.dx.data(),
                         r.dgamma.data(), r.dbeta.data());
  return r;
}

// The same on the device; `offset` floats shift x, dy, y and dx off 16-byte alignment.
Result run_gpu(const BatchNormParams& p, const std::vector<float>& x, const std::vector<float>& dy,
               const std::vector<float>& gamma, const std::vector<float>& beta, const BatchNormLaunch& launch,
               int offset, bool* guards_ok) {
  const size_t segs = p.chunks() * p.channels, n = x.size();
  auto shifted = [&](const std::vector<float>& v) {
    std::vector<float> s(offset, 0.0f);
    s.insert(s.end(), v.begin(), v.end());
    return s;
  };
  DeviceBuffer<float> dxin(shifted(x)), ddy(shifted(dy)), dgam(gamma), dbet(beta), dyout(n + offset),
      ddx(n + offset), mean(segs), var(segs), invstd(segs), dgp(segs), dbp(segs);
  DeviceBuffer<uint8_t> ws(batchnorm_cuda_workspace_bytes(p));
  batchnorm_forward_training_cuda(p, dxin.get() + offset, dgam.get(), dbet.get(), dyout.get() + offset, mean.get(),
                                  var.get(), invstd.get(), ws.get(), nullptr, launch);
  batchnorm_backward_cuda(p, dxin.get() + offset, ddy.get() + offset, dgam.get(), mean.get(), invstd.get(),
                          ddx.get() + offset, dgp.get(), dbp.get(), ws.get(), nullptr, launch);
  auto unshift = [&](std::vector<float> v) { return std::vector<float>(v.begin() + offset, v.end()); };
  Result r{unshift(dyout.download()), mean.download(), var.download(), invstd.download(), unshift(ddx.download()),
           dgp.download(), dbp.download()};
  *guards_ok = dyout.guards_intact() && ddx.guards_intact() && mean.guards_intact() && var.guards_intact() &&
               invstd.guards_intact() && dgp.guards_intact() && dbp.guards_intact() && ws.guards_intact();
  return r;
}

void expect_same_bits(const Result& got, const Result& want, const std::string& what) {
  EXPECT_EQ(first_bit_difference(got.y.data(), want.y.data(), want.y.size()), -1) << "y " << what;
  EXPECT_EQ(first_bit_difference(got.mean.data(), want.mean.data(), want.mean.size()), -1) << "mean " << what;
  EXPECT_EQ(first_bit_difference(got.var.data(), want.var.data(), want.var.size()), -1) << "var " << what;
  EXPECT_EQ(first_bit_difference(got.invstd.data(), want.invstd.data(), want.invstd.size()), -1) << "invstd " << what;
  EXPECT_EQ(first_bit_difference(got.dx.data(), want.dx.data(), want.dx.size()), -1) << "dx " << what;
  EXPECT_EQ(first_bit_difference(got.dgamma.data(), want.dgamma.data(), want.dgamma.size()), -1) << "dgamma " << what;
  EXPECT_EQ(first_bit_difference(got.dbeta.data(), want.dbeta.data(), want.dbeta.size()), -1) << "dbeta " << what;
}

TEST(BatchNormGpu, TrainingForwardAndBackwardMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const BatchNormParams& p : shapes()) {
    const auto x = test::random_floats(p.size(), seed++, -2.0f, 3.0f), dy = test::random_floats(p.size(), seed++);
    const auto gamma = test::random_floats(p.channels, seed++, 0.5f, 1.5f), beta = test::random_floats(p.channels, seed++);
    const Result want = run_cpu(p, x, dy, gamma, beta);
    for (int offset : {0, 1}) {
      bool guards = false;
      const Result got = run_gpu(p, x, dy, gamma, beta, {}, offset, &guards);
      expect_same_bits(got, want, describe(p) + " offset " + std::to_string(offset));
      EXPECT_TRUE(guards) << describe(p);
    }
  }
}

TEST(BatchNormGpu, BitsDoNotDependOnTheLaunchShape) {
  DETNN_REQUIRE_GPU();
  const BatchNormLaunch launches[] = {{1, 0}, {2, 3}, {8, 0}, {8, 1}, {5, 7}};
  uint32_t seed = 100;
  for (const BatchNormParams& p : {params(64, 64, 32, 32, 32), params(2, 3, 224, 224, 2), params(6, 2, 7, 13, 3)}) {
    const auto x = test::random_floats(p.size(), seed++), dy = test::random_floats(p.size(), seed++);
    const auto gamma = test::random_floats(p.channels, seed++), beta = test::random_floats(p.channels, seed++);
    const Result want = run_cpu(p, x, dy, gamma, beta);
    for (const BatchNormLaunch& launch : launches) {
      bool guards = false;
      const Result got = run_gpu(p, x, dy, gamma, beta, launch, 0, &guards);
      expect_same_bits(got, want, describe(p) + " warps " + std::to_string(launch.warps_per_block) + " grid<=" +
                                      std::to_string(launch.max_blocks));
      EXPECT_TRUE(guards);
    }
  }
}

TEST(BatchNormGpu, ChunkAloneEqualsChunkAmong64) {
  DETNN_REQUIRE_GPU();
  const BatchNormParams all = params(128, 3, 5, 8, 2);
  BatchNormParams one = all;
  one.batch = 2;
  const auto x = test::random_floats(all.size(), 200), dy = test::random_floats(all.size(), 201);
  const auto gamma = test::random_floats(3, 202), beta = test::random_floats(3, 203);
  const int64_t k = 37, span = one.size();
  const std::vector<float> xs(x.begin() + k * span, x.begin() + (k + 1) * span);
  const std::vector<float> dys(dy.begin() + k * span, dy.begin() + (k + 1) * span);
  bool g1 = false, g2 = false;
  const Result a = run_gpu(all, x, dy, gamma, beta, {}, 0, &g1), o = run_gpu(one, xs, dys, gamma, beta, {}, 0, &g2);
  EXPECT_EQ(first_bit_difference(&a.y[k * span], o.y.data(), span), -1);
  EXPECT_EQ(first_bit_difference(&a.dx[k * span], o.dx.data(), span), -1);
  EXPECT_EQ(first_bit_difference(&a.invstd[k * 3], o.invstd.data(), 3), -1);
  EXPECT_EQ(first_bit_difference(&a.dgamma[k * 3], o.dgamma.data(), 3), -1);
  EXPECT_EQ(first_bit_difference(&a.dbeta[k * 3], o.dbeta.data(), 3), -1);
  EXPECT_TRUE(g1 && g2);
}

TEST(BatchNormGpu, LargeBatchMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  const int64_t batch = std::max<int64_t>(32, test::scaled_size(int64_t{256} * 64 * 32 * 32) / (64 * 32 * 32) / 32 * 32);  // 256 (32 quick)
  const BatchNormParams p = params(batch, 64, 32, 32, 32);
  const auto x = test::random_floats(p.size(), 300), dy = test::random_floats(p.size(), 301);
  const auto gamma = test::random_floats(64, 302), beta = test::random_floats(64, 303);
  bool guards = false;
  expect_same_bits(run_gpu(p, x, dy, gamma, beta, {}, 0, &guards), run_cpu(p, x, dy, gamma, beta), describe(p));
  EXPECT_TRUE(guards);
}

TEST(BatchNormGpu, InferenceAndRunningStatisticsMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  uint32_t seed = 400;
  for (BatchNormParams p : {params(64, 64, 32, 32, 32), params(5, 7, 3, 3, 5), params(3, 33, 1, 1, 3)}) {
    for (int offset : {0, 1}) {
      const auto x = test::random_floats(p.size(), seed++);
      const auto gamma = test::random_floats(p.channels, seed++), beta = test::random_floats(p.channels, seed++);
      const auto rm = test::random_floats(p.channels, seed++), rv = test::random_floats(p.channels, seed++, 0.1f, 3.0f);
      std::vector<float> y(p.size());
      batchnorm_forward_inference_cpu(p, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data());
      std::vector<float> xs(offset, 0.0f);
      xs.insert(xs.end(), x.begin(), x.end());
      DeviceBuffer<float> dxin(xs), dgam(gamma), dbet(beta), drm(rm), drv(rv), dyout(p.size() + offset);
      batchnorm_forward_inference_cuda(p, dxin.get() + offset, dgam.get(), dbet.get(), drm.get(), drv.get(),
                                       dyout.get() + offset, nullptr);
      const auto all = dyout.download();
      EXPECT_EQ(first_bit_difference(all.data() + offset, y.data(), y.size()), -1) << describe(p);
      EXPECT_TRUE(dyout.guards_intact());
    }
  }
  for (int64_t chunks : {1, 3, 8, 16}) {
    const int64_t C = 65, count = 32 * 49;
    const auto mean = test::random_floats(chunks * C, 500 + chunks), var = test::random_floats(chunks * C, 600, 0.0f, 2.0f);
    const auto rm = test::random_floats(C, 700), rv = test::random_floats(C, 701, 0.5f, 1.5f);
    std::vector<float> sums(2 * C), m = rm, v = rv;
    batchnorm_running_stat_sums_cpu(mean.data(), var.data(), chunks, C, count, sums.data());
    batchnorm_update_running_stats_cpu(sums.data(), chunks, C, 0.1f, m.data(), v.data());
    DeviceBuffer<float> dmean(mean), dvar(var), dsums(2 * C), dm(rm), dv(rv);
    batchnorm_running_stat_sums_cuda(dmean.get(), dvar.get(), chunks, C, count, dsums.get(), nullptr);
    batchnorm_update_running_stats_cuda(dsums.get(), chunks, C, 0.1f, dm.get(), dv.get(), nullptr);
    const auto gs = dsums.download(), gm = dm.download(), gv = dv.download();
    EXPECT_EQ(first_bit_difference(gs.data(), sums.data(), sums.size()), -1) << chunks;
    EXPECT_EQ(first_bit_difference(gm.data(), m.data(), m.size()), -1) << chunks;
    EXPECT_EQ(first_bit_difference(gv.data(), v.data(), v.size()), -1) << chunks;
    EXPECT_TRUE(dsums.guards_intact() && dm.guards_intact() && dv.guards_intact());
  }
}

}  // namespace
}  // namespace detnn::kernels
