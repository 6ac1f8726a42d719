// CPU pooling: the reference for kernels/cuda/pool2d.cu. Threads split planes (n, c) - every
// output and every input gradient belongs to exactly one plane.
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/canonical_sum.h"
#include "kernels/cpu/isa_versions.h"
#include "kernels/pool2d.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

using pool_rules::covering_outputs;
using pool_rules::max_offer;
using pool_rules::window_taps;

void PoolParams::validate() const {
  // Sizes far beyond any image keep (height + 2 * pad - kernel) inside int64.
  constexpr int64_t kMaxExtent = int64_t{1} << 24;
  for (const auto& [name, v] : {std::pair{"height", height}, {"width", width}, {"kernel_h", kernel_h},
                                {"kernel_w", kernel_w}, {"stride_h", stride_h}, {"stride_w", stride_w},
                                {"pad_h", pad_h}, {"pad_w", pad_w}})
    DETNN_CHECK(v <= kMaxExtent, invalid_argument, "pool2d: ", name, " must be at most 2^24, got ", v);
  DETNN_CHECK(batch >= 0, invalid_argument, "pool2d: batch must be >= 0, got ", batch);
  DETNN_CHECK(channels >= 0, invalid_argument, "pool2d: channels must be >= 0, got ", channels);
  DETNN_CHECK(height >= 1, invalid_argument, "pool2d: height must be >= 1, got ", height);
  DETNN_CHECK(width >= 1, invalid_argument, "pool2d: width must be >= 1, got ", width);
  DETNN_CHECK(kernel_h >= 1, invalid_argument, "pool2d: kernel_h must be >= 1, got ", kernel_h);
  DETNN_CHECK(kernel_w >= 1, invalid_argument, "pool2d: kernel_w must be >= 1, got ", kernel_w);
  DETNN_CHECK(stride_h >= 1, invalid_argument, "pool2d: stride_h must be >= 1, got ", stride_h);
  DETNN_CHECK(stride_w >= 1, invalid_argument, "pool2d: stride_w must be >= 1, got ", stride_w);
  DETNN_CHECK(pad_h >= 0 && pad_h <= kernel_h / 2, invalid_argument,
              "pool2d: pad_h must be in [0, kernel_h / 2] = [0, ", kernel_h / 2, "], got ", pad_h);
  DETNN_CHECK(pad_w >= 0 && pad_w <= kernel_w / 2, invalid_argument,
              "pool2d: pad_w must be in [0, kernel_w / 2] = [0, ", kernel_w / 2, "], got ", pad_w);
  DETNN_CHECK(kernel_h <= height + 2 * pad_h, invalid_argument, "pool2d: kernel_h (", kernel_h,
              ") is larger than the padded height (", height + 2 * pad_h, ")");
  DETNN_CHECK(kernel_w <= width + 2 * pad_w, invalid_argument, "pool2d: kernel_w (", kernel_w,
              ") is larger than the padded width (", width + 2 * pad_w, ")");
  constexpr int64_t kMax = int64_t{1} << 31;
  DETNN_CHECK(height + 2 * pad_h < kMax && width + 2 * pad_w < kMax && height * width < kMax,
              invalid_argument, "pool2d: an input plane must hold fewer than 2^31 elements, got height ",
              height, " x width ", width);
}

namespace {

// Runs body(plane) for every plane on the thread pool.
template <typename Body>
void for_each_plane(int64_t planes, int64_t work_per_plane, Body body) {
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(work_per_plane, 1));
  cpu_thread_pool().parallel_for(
      planes,
      [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) body(plane);
      },
      grain);
}

// The outputs [lo[i], hi[i]] whose windows cover input position i along one axis.
struct AxisCover {
  std::vector<int64_t> lo, hi;
  AxisCover(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t out) : lo(size), hi(size) {
    for (int64_t i = 0; i < size; ++i) covering_outputs(i, kernel, stride, pad, out, lo[i], hi[i]);
  }
};

int64_t avg_divisor(const PoolParams& p, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  return p.count_include_pad ? p.kernel_h * p.kernel_w : (h1 - h0) * (w1 - w0);
}

// Windows that tile the plane: stride = kernel, no padding (every example model's max pooling).
// Each input is then covered by at most one window and every window is whole, so the plain loops
// below compute exactly what the general ones do (the same taps in the same order), without their
// per-window bounds and per-input cover searches.
bool windows_tile(const PoolParams& p) {
  return p.stride_h == p.kernel_h && p.stride_w == p.kernel_w && p.pad_h == 0 && p.pad_w == 0;
}

// max_offer for a window whose first tap is already in (best_index >= 0), without branches, so
// that the 2x2 loop below vectorizes: the same choice, NaN and tie rules included.
inline void offer_after_first(float v, int32_t idx, float& best, int32_t& best_index) {
  const bool take = v > best || (v != v && best == best);
  best = take ? v : best;
  best_index = take ? idx : best_index;
}

// 2 x 2 windows tiling the plane with rows shorter than 16 outputs, in blocks of 16 outputs
// across the rows (one version per CPU path, kernels/cpu/isa_versions.h): `first` holds
// each output's first tap (oh * 2W + 2 ow), padded to whole blocks with 0 (a window that exists),
// so the loop has a fixed trip count and vectorizes (gathers in the AVX2 and AVX-512 versions)
// instead of paying a loop's set-up per output row of 7 or 14.
inline void maxpool_2x2_plane_body(const float* xp, const int32_t* first, int32_t W, int64_t outputs, float* yp,
                                   int32_t* ap) {
  constexpr int kBlock = 16;
  for (int64_t j0 = 0; j0 < outputs; j0 += kBlock) {
    float best[kBlock];
    int32_t best_index[kBlock];
    for (int t = 0; t < kBlock; ++t) {
      const int32_t i = first[j0 + t];
      float b = xp[i];
      int32_t bi = i;
      offer_after_first(xp[i + 1], i + 1, b, bi);
      offer_after_first(xp[i + W], i + W, b, bi);
      offer_after_first(xp[i + W + 1], i + W + 1, b, bi);
      best[t] = b;
      best_index[t] = bi;
    }
    const int64_t n = std::min<int64_t>(kBlock, outputs - j0);
    for (int64_t t = 0; t < n; ++t) {
      yp[j0 + t] = best[t];
      ap[j0 + t] = best_index[t];
    }
  }
}

DETNN_CPU_VERSIONS(maxpool_2x2_plane,
                   (const float* xp, const int32_t* first, int32_t W, int64_t outputs, float* yp, int32_t* ap),
                   (xp, first, W, outputs, yp, ap))

void maxpool_tiles_forward(const PoolParams& p, const float* xp, float* yp, int32_t* ap) {
  const int64_t W = p.width, OH = p.out_h(), OW = p.out_w(), KH = p.kernel_h, KW = p.kernel_w;
  if (KH == 2 && KW == 2) {  // rows of 16 outputs or more: taps in scan order (0,0), (0,1), (1,0), (1,1)
    for (int64_t oh = 0; oh < OH; ++oh) {
      const float* r0 = xp + 2 * oh * W;
      const float* r1 = r0 + W;
      const int32_t row = static_cast<int32_t>(2 * oh * W);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int32_t i = row + static_cast<int32_t>(2 * ow);
        float best = r0[2 * ow];
        int32_t best_index = i;
        offer_after_first(r0[2 * ow + 1], i + 1, best, best_index);
        offer_after_first(r1[2 * ow], i + static_cast<int32_t>(W), best, best_index);
        offer_after_first(r1[2 * ow + 1], i + static_cast<int32_t>(W) + 1, best, best_index);
        yp[oh * OW + ow] = best;
        ap[oh * OW + ow] = best_index;
      }
    }
    return;
  }
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      float best = 0.0f;
      int32_t best_index = -1;
      const int64_t first = oh * KH * W + ow * KW;
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          const int64_t i = first + kh * W + kw;
          max_offer(xp[i], static_cast<int32_t>(i), best, best_index);
        }
      yp[oh * OW + ow] = best;
      ap[oh * OW + ow] = best_index;
    }
}

// dx = 0.0f + dy at each window's argmax, 0.0f elsewhere (inputs past the last whole window
// included): the general gather's `acc = 0.0f; acc = acc + g` for the one covering window.
void maxpool_tiles_backward(const PoolParams& p, const float* gp, const int32_t* ap, float* dp) {
  const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
  std::fill(dp, dp + H * W, 0.0f);
  for (int64_t o = 0; o < OH * OW; ++o)
    if (ap[o] >= 0) dp[ap[o]] = 0.0f + gp[o];
}

}  // namespace

void maxpool2d_forward_cpu(const PoolParams& p, const float* x, float* y, int32_t* argmax) {
  p.validate();
  const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
  const bool tiles = windows_tile(p);
  if (tiles && p.kernel_h == 2 && p.kernel_w == 2 && OW < 16) {
    std::vector<int32_t> first(static_cast<size_t>((OH * OW + 15) / 16 * 16), 0);
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) first[oh * OW + ow] = static_cast<int32_t>(2 * oh * W + 2 * ow);
    for_each_plane(p.planes(), OH * OW * 4, [&](int64_t plane) {
      maxpool_2x2_plane(x + plane * H * W, first.data(), static_cast<int32_t>(W), OH * OW, y + plane * OH * OW,
                        argmax + plane * OH * OW);
    });
    return;
  }
  for_each_plane(p.planes(), OH * OW * p.kernel_h * p.kernel_w, [&](int64_t plane) {
    const float* xp = x + plane * H * W;
    float* yp = y + plane * OH * OW;
    int32_t* ap = argmax + plane * OH * OW;
    if (tiles) return maxpool_tiles_forward(p, xp, yp, ap);
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t h0, h1;
      window_taps(oh * p.stride_h - p.pad_h, p.kernel_h, H, h0, h1);
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t w0, w1;
        window_taps(ow * p.stride_w - p.pad_w, p.kernel_w, W, w0, w1);
        float best = 0.0f;
        int32_t best_index = -1;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw)
            max_offer(xp[ih * W + iw], static_cast<int32_t>(ih * W + iw), best, best_index);
        yp[oh * OW + ow] = best;
        ap[oh * OW + ow] = best_index;
      }
    }
  });
}

void maxpool2d_backward_cpu(const PoolParams& p, const float* dy, const int32_t* argmax, float* dx) {
  p.validate();
  const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
  if (windows_tile(p)) {
    for_each_plane(p.planes(), H * W, [&](int64_t plane) {
      maxpool_tiles_backward(p, dy + plane * OH * OW, argmax + plane * OH * OW, dx + plane * H * W);
    });
    return;
  }
  const AxisCover rows(H, p.kernel_h, p.stride_h, p.pad_h, OH), cols(W, p.kernel_w, p.stride_w, p.pad_w, OW);
  for_each_plane(p.planes(), H * W, [&](int64_t plane) {
    const float* gp = dy + plane * OH * OW;
    const int32_t* ap = argmax + plane * OH * OW;
    float* dp = dx + plane * H * W;
    for (int64_t ih = 0; ih < H; ++ih) {
      for (int64_t iw = 0; iw < W; ++iw) {
        const int32_t self = static_cast<int32_t>(ih * W + iw);
        float acc = 0.0f;
        for (int64_t oh = rows.lo[ih]; oh <= rows.hi[ih]; ++oh)
          for (int64_t ow = cols.lo[iw]; ow <= cols.hi[iw]; ++ow)
            if (ap[oh * OW + ow] == self) acc = acc + gp[oh * OW + ow];
        dp[ih * W + iw] = acc;
      }
    }
  });
}

void avgpool2d_forward_cpu(const PoolParams& p, const float* x, float* y) {
  p.validate();
  const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
  for_each_plane(p.planes(), OH * OW * p.kernel_h * p.kernel_w, [&](int64_t plane) {
    const float* xp = x + plane * H * W;
    float* yp = y + plane * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t h0, h1;
      window_taps(oh * p.stride_h - p.pad_h, p.kernel_h, H, h0, h1);
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t w0, w1;
        window_taps(ow * p.stride_w - p.pad_w, p.kernel_w, W, w0, w1);
        float sum = 0.0f;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) sum = sum + xp[ih * W + iw];
        yp[oh * OW + ow] = sum / static_cast<float>(avg_divisor(p, h0, h1, w0, w1));
      }
    }
  });
}

void avgpool2d_backward_cpu(const PoolParams& p, const float* dy, float* dx) {
  p.validate();
  const int64_t H = p.height, W = p.width, OH = p.out_h(), OW = p.out_w();
  const AxisCover rows(H, p.kernel_h, p.stride_h, p.pad_h, OH), cols(W, p.kernel_w, p.stride_w, p.pad_w, OW);
  // divisor[oh * OW + ow], the same value the forward divides by.
  std::vector<float> divisor(static_cast<size_t>(OH * OW));
  for (int64_t oh = 0; oh < OH; ++oh) {
    int64_t h0, h1;
    window_taps(oh * p.stride_h - p.pad_h, p.kernel_h, H, h0, h1);
    for (int64_t ow = 0; ow < OW; ++ow) {
      int64_t w0, w1;
      window_taps(ow * p.stride_w - p.pad_w, p.kernel_w, W, w0, w1);
      divisor[oh * OW + ow] = static_cast<float>(avg_divisor(p, h0, h1, w0, w1));
    }
  }
  for_each_plane(p.planes(), H * W, [&](int64_t plane) {
    const float* gp = dy + plane * OH * OW;
    float* dp = dx + plane * H * W;
    for (int64_t ih = 0; ih < H; ++ih) {
      for (int64_t iw = 0; iw < W; ++iw) {
        float acc = 0.0f;
        for (int64_t oh = rows.lo[ih]; oh <= rows.hi[ih]; ++oh)
          for (int64_t ow = cols.lo[iw]; ow <= cols.hi[iw]; ++ow) acc = acc + gp[oh * OW + ow] / divisor[oh * OW + ow];
        dp[ih * W + iw] = acc;
      }
    }
  });
}

void global_avgpool2d_forward_cpu(const PoolParams& p, const float* x, float* y) {
  p.validate();
  const int64_t planes = p.planes(), hw = p.height * p.width;
  if (planes == 0) return;
  canonical_sum_cpu(x, y, SumLayout::rows(planes, hw));
  const float d = static_cast<float>(hw);
  for (int64_t i = 0; i < planes; ++i) y[i] = y[i] / d;
}

void global_avgpool2d_backward_cpu(const PoolParams& p, const float* dy, float* dx) {
  p.validate();
  const int64_t hw = p.height * p.width;
  const float d = static_cast<float>(hw);
  for_each_plane(p.planes(), hw, [&](int64_t plane) {
    const float g = dy[plane] / d;
    std::fill(dx + plane * hw, dx + (plane + 1) * hw, g);
  });
}

}  // namespace detnn::kernels
