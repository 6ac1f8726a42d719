#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "runtime/error.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;
using test::random_floats;

Conv2dParams make(int64_t n, int64_t ci, int64_t h, int64_t w, int64_t co, int64_t kh, int64_t kw,
                  int64_t sh = 1, int64_t sw = 1, int64_t ph = 0, int64_t pw = 0, int64_t dh = 1,
                  int64_t dw = 1, int64_t groups = 1) {
  Conv2dParams p;
  p.batch = n, p.in_channels = ci, p.in_h = h, p.in_w = w, p.out_channels = co;
  p.kernel_h = kh, p.kernel_w = kw, p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw;
  p.dilation_h = dh, p.dilation_w = dw, p.groups = groups;
  return p;
}

std::string describe(const Conv2dParams& p, int64_t chunk) {
  return "N" + std::to_string(p.batch) + " Ci" + std::to_string(p.in_channels) + " " +
         std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + " Co" + std::to_string(p.out_channels) +
         " k" + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
         std::to_string(p.stride_h) + "," + std::to_string(p.stride_w) + " p" + std::to_string(p.pad_h) +
         "," + std::to_string(p.pad_w) + " d" + std::to_string(p.dilation_h) + "," +
         std::to_string(p.dilation_w) + " g" + std::to_string(p.groups) + " chunk" + std::to_string(chunk);
}

std::string path_name(Conv2dCudaPath path) {
  switch (path) {
    case Conv2dCudaPath::automatic: return "automatic";
    case Conv2dCudaPath::direct: return "direct";
    case Conv2dCudaPath::tiled: return "tiled";
    default: return "tile" + std::to_string(static_cast<int>(path) - static_cast<int>(Conv2dCudaPath::tile0));
  }
}

#define EXPECT_SAME_BITS(got, want, what)                                                       \
  do {                                                                                          \
    ASSERT_EQ((got).size(), (want).size()) << what;                                            \
    EXPECT_EQ(test::first_bit_difference((got).data(), (want).data(), (want).size()), -1) << what; \
  } while (0)

// Every pass on the GPU (given path) against the CPU, bit for bit, with guard regions checked.
void check_against_cpu(const Conv2dParams& p, int64_t chunk, Conv2dCudaPath path, uint32_t seed) {
  SCOPED_TRACE(describe(p, chunk) + " path " + path_name(path));
  const int64_t chunks = p.batch / chunk;
  const auto x = random_floats(p.input_size(), seed), w = random_floats(p.weight_size(), seed + 1);
  const auto b = random_floats(p.out_channels, seed + 2), dy = random_floats(p.output_size(), seed + 3);

  std::vector<float> y(p.output_size()), y_nobias(p.output_size()), dx(p.input_size());
  std::vector<float> dwp(chunks * p.weight_size()), dbp(chunks * p.out_channels);
  std::vector<float> dw(p.weight_size()), db(p.out_channels);
  conv2d_forward_cpu(p, x.data(), w.data(), b.data(), y.data());
  conv2d_forward_cpu(p, x.data(), w.data(), nullptr, y_nobias.data());
  conv2d_backward_data_cpu(p, dy.data(), w.data(), dx.data());
  conv2d_backward_filter_partials_cpu(p, chunk, x.data(), dy.data(), dwp.data(), dbp.data());
  conv2d_backward_filter_cpu(p, chunk, x.data(), dy.data(), dw.data(), db.data());

  DeviceBuffer<float> d_x(x), d_w(w), d_b(b), d_dy(dy);
  DeviceBuffer<float> d_y(y.size()), d_y2(y.size()), d_dx(dx.size()), d_dwp(dwp.size()), d_dbp(dbp.size());
  DeviceBuffer<float> d_dw(dw.size()), d_db(db.size());
  conv2d_forward_cuda(p, d_x.get(), d_w.get(), d_b.get(), d_y.get(), nullptr, path);
  conv2d_forward_cuda(p, d_x.get(), d_w.get(), nullptr, d_y2.get(), nullptr, path);
  conv2d_backward_data_cuda(p, d_dy.get(), d_w.get(), d_dx.get(), nullptr, path);
  conv2d_backward_filter_partials_cuda(p, chunk, d_x.get(), d_dy.get(), d_dwp.get(), d_dbp.get(), nullptr, path);
  conv2d_backward_filter_cuda(p, chunk, d_x.get(), d_dy.get(), d_dw.get(), d_db.get(), nullptr, path);

  EXPECT_SAME_BITS(d_y.download(), y, "forward");
  EXPECT_SAME_BITS(d_y2.download(), y_nobias, "forward without bias");
  EXPECT_SAME_BITS(d_dx.download(), dx, "backward-data");
  EXPECT_SAME_BITS(d_dwp.download(), dwp, "weight partials");
  EXPECT_SAME_BITS(d_dbp.download(), dbp, "bias partials");
  EXPECT_SAME_BITS(d_dw.download(), dw, "weight gradient");
  EXPECT_SAME_BITS(d_db.download(), db, "bias gradient");
  for (auto* buf : {&d_x, &d_w, &d_b, &d_dy, &d_y, &d_y2, &d_dx, &d_dwp, &d_dbp, &d_dw, &d_db})
    EXPECT_TRUE(buf->guards_intact());
}

const Conv2dCudaPath kPaths[] = {Conv2dCudaPath::automatic, Conv2dCudaPath::direct, Conv2dCudaPath::tiled};

TEST(Conv2dGpu, MatchesCpuBitsOnOddShapesForEveryPath) {
  DETNN_REQUIRE_GPU();
  const Conv2dParams cases[] = {
      make(2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1),
      make(1, 1, 1, 1, 1, 1, 1),
      make(3, 2, 33, 7, 5, 3, 3, 2, 1, 1, 0),
      make(2, 4, 9, 10, 6, 3, 2, 2, 3, 1, 2, 1, 2, 2),
      make(2, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),   // depthwise
      make(1, 6, 11, 9, 9, 5, 3, 1, 2, 2, 1, 2, 1, 3),  // groups 3, dilation 2 in h
      make(2, 8, 7, 7, 16, 1, 1, 2, 2, 0, 0),
      make(1, 3, 33, 33, 7, 7, 7, 3, 3, 3, 3),
      make(4, 5, 6, 13, 3, 2, 4, 1, 3, 0, 2, 3, 1),
      make(2, 2, 5, 5, 4, 5, 5, 1, 1, 4, 4),
      make(1, 33, 7, 1, 7, 3, 1, 1, 1, 1, 0),
      make(2, 40, 6, 6, 40, 3, 3, 1, 1, 1, 1, 1, 1, 2),
      make(4, 24, 13, 11, 36, 3, 3, 2, 2, 1, 1),         // strided, tiles with ragged edges
      make(2, 16, 15, 17, 130, 3, 3, 1, 1, 1, 1),        // more than 128 columns
      make(2, 130, 9, 9, 20, 3, 3, 1, 1, 1, 1),          // K tiles with a tail, 130 input channels
      make(6, 12, 10, 10, 24, 3, 3, 1, 1, 2, 2, 2, 2, 4),  // groups + dilation, tiled-sized
  };
  uint32_t seed = 1;
  for (const Conv2dParams& p : cases)
    for (Conv2dCudaPath path : kPaths) {
      check_against_cpu(p, 1, path, seed);
      if (p.batch % 2 == 0) check_against_cpu(p, 2, path, seed);
      seed += 10;
    }
}

// Every fixed tile shape of the tiled kernel (the size-based choice picks the small ones at test
// sizes), on ragged edges, K tails, strides, dilation and groups.
TEST(Conv2dGpu, EveryTileShapeMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  const Conv2dParams cases[] = {
      make(3, 13, 11, 9, 70, 3, 3, 1, 1, 1, 1),            // 70 columns: two 64-wide tiles
      make(2, 36, 10, 12, 150, 3, 2, 2, 1, 1, 0, 1, 2, 2),  // groups 2 x 75 columns, stride, dilation
      make(4, 130, 5, 7, 33, 3, 3, 1, 1, 1, 1),            // K = 1170 with a tail
      make(2, 3, 33, 33, 32, 3, 3, 1, 1, 1, 1),            // K = 27 < one filter K tile
  };
  uint32_t seed = 700;
  for (const Conv2dParams& p : cases)
    for (Conv2dCudaPath path : {Conv2dCudaPath::tile0, Conv2dCudaPath::tile1, Conv2dCudaPath::tile2,
                                Conv2dCudaPath::tile3}) {
      check_against_cpu(p, p.batch / 2, path, seed);
      seed += 10;
    }
}

// cifar_convnet's convolutions (3x3, pad 1) at a small batch.
// Contract 2's K-leaves in every pass and on both paths: forward K = 120*3*3 = 1080 (one leaf and
// a short one), backward-data K = 120*3*3, filter gradients of 2 x 26 x 26 = 1352 terms a chunk
// (a leaf ends inside a sample), and on the direct path (few columns) the same lengths.
TEST(Conv2dGpu, KLeavesMatchCpuBitsInEveryPassAndPath) {
  DETNN_REQUIRE_GPU();
  uint32_t seed = 1500;
  for (const Conv2dParams& p : {make(2, 120, 5, 5, 16, 3, 3, 1, 1, 1, 1), make(1, 16, 5, 5, 120, 3, 3, 1, 1, 1, 1),
                                make(1, 16, 6, 5, 120, 3, 3, 2, 2, 1, 1), make(2, 2, 26, 26, 16, 3, 3, 1, 1, 1, 1),
                                make(2, 120, 5, 5, 4, 3, 3, 1, 1, 1, 1), make(2, 2, 26, 26, 3, 3, 3, 1, 1, 1, 1)})
    for (Conv2dCudaPath path : kPaths)
      for (int64_t chunk : {int64_t{1}, p.batch}) check_against_cpu(p, chunk, path, ++seed);
}

TEST(Conv2dGpu, MatchesCpuBitsOnCifarConvnetShapes) {
  DETNN_REQUIRE_GPU();
  const int64_t shapes[][3] = {{3, 32, 32}, {32, 64, 32}, {32, 64, 16}, {64, 64, 16},
                               {64, 256, 8}, {256, 256, 8}, {256, 256, 4}};
  uint32_t seed = 500;
  for (const auto& s : shapes) {
    const Conv2dParams p = make(4, s[0], s[2], s[2], s[1], 3, 3, 1, 1, 1, 1);
    check_against_cpu(p, 2, Conv2dCudaPath::automatic, seed);
    check_against_cpu(p, 4, Conv2dCudaPath::direct, seed + 1);
    seed += 10;
  }
}

// Long chains: backward-filter over chunks of 32 samples (K = 32 * 1024), and a bias gradient
// with more than 256 leaves per chunk (several leaves per thread).
TEST(Conv2dGpu, MatchesCpuBitsWithLongChunks) {
  DETNN_REQUIRE_GPU();
  const int64_t batch = test::quick_mode() ? 32 : 64;
  check_against_cpu(make(batch, 32, 32, 32, 64, 3, 3, 1, 1, 1, 1), 32, Conv2dCudaPath::automatic, 900);
  check_against_cpu(make(batch, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1), 32, Conv2dCudaPath::automatic, 910);
  check_against_cpu(make(70, 1, 32, 32, 2, 3, 3, 1, 1, 1, 1), 70, Conv2dCudaPath::automatic, 920);
  check_against_cpu(make(70, 1, 32, 32, 2, 3, 3, 1, 1, 1, 1), 35, Conv2dCudaPath::automatic, 930);
  // mnist_cnn's first layer: so few outputs that the automatic rule takes the deep K tile.
  check_against_cpu(make(64, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1), 32, Conv2dCudaPath::automatic, 940);
}

// A chunk's results do not depend on the rest of the batch on the GPU either.
TEST(Conv2dGpu, ChunkAloneEqualsChunkInsideBatch) {
  DETNN_REQUIRE_GPU();
  const int64_t batch = 64, chunk = 4, c = 7;
  const Conv2dParams p = make(batch, 16, 12, 12, 32, 3, 3, 1, 1, 1, 1);
  Conv2dParams q = p;
  q.batch = chunk;
  const auto x = random_floats(p.input_size(), 41), w = random_floats(p.weight_size(), 42);
  const auto dy = random_floats(p.output_size(), 43);
  const int64_t xs = p.input_size() / batch, ys = p.output_size() / batch, ws = p.weight_size();
  std::vector<float> xq(x.begin() + c * chunk * xs, x.begin() + (c + 1) * chunk * xs);
  std::vector<float> dyq(dy.begin() + c * chunk * ys, dy.begin() + (c + 1) * chunk * ys);
  DeviceBuffer<float> d_x(x), d_w(w), d_dy(dy), d_xq(xq), d_dyq(dyq);
  DeviceBuffer<float> y(p.output_size()), yq(q.output_size()), dx(p.input_size()), dxq(q.input_size());
  DeviceBuffer<float> dwp(batch / chunk * ws), dwpq(ws);
  conv2d_forward_cuda(p, d_x.get(), d_w.get(), nullptr, y.get(), nullptr);
  conv2d_forward_cuda(q, d_xq.get(), d_w.get(), nullptr, yq.get(), nullptr);
  conv2d_backward_data_cuda(p, d_dy.get(), d_w.get(), dx.get(), nullptr);
  conv2d_backward_data_cuda(q, d_dyq.get(), d_w.get(), dxq.get(), nullptr);
  conv2d_backward_filter_partials_cuda(p, chunk, d_x.get(), d_dy.get(), dwp.get(), nullptr, nullptr);
  conv2d_backward_filter_partials_cuda(q, chunk, d_xq.get(), d_dyq.get(), dwpq.get(), nullptr, nullptr);
  const auto all_y = y.download(), all_dx = dx.download(), all_dwp = dwp.download();
  EXPECT_SAME_BITS(yq.download(), std::vector<float>(all_y.begin() + c * chunk * ys, all_y.begin() + (c + 1) * chunk * ys), "y");
  EXPECT_SAME_BITS(dxq.download(), std::vector<float>(all_dx.begin() + c * chunk * xs, all_dx.begin() + (c + 1) * chunk * xs), "dx");
  EXPECT_SAME_BITS(dwpq.download(), std::vector<float>(all_dwp.begin() + c * ws, all_dwp.begin() + (c + 1) * ws), "dw partial");
}

TEST(Conv2dGpu, BadParametersAreNamedErrors) {
  DETNN_REQUIRE_GPU();
  const Conv2dParams bad = make(1, 4, 5, 5, 3, 3, 3, 1, 1, 0, 0, 1, 1, 3);
  const std::string groups = "groups (3) must divide in_channels (4)";
  test::expect_error([&] { conv2d_forward_cuda(bad, nullptr, nullptr, nullptr, nullptr, nullptr); },
                     ErrorCode::invalid_argument, groups);
  test::expect_error([&] { conv2d_backward_data_cuda(bad, nullptr, nullptr, nullptr, nullptr); },
                     ErrorCode::invalid_argument, groups);
  test::expect_error(
      [&] { conv2d_backward_filter_cuda(make(6, 2, 4, 4, 2, 3, 3), 4, nullptr, nullptr, nullptr, nullptr, nullptr); },
      ErrorCode::invalid_argument, "batch (6) must be a multiple of chunk_size (4)");
}

}  // namespace
}  // namespace detnn::kernels
