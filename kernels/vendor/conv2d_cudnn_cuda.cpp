#include "kernels/vendor/conv2d_cudnn.h"

#include <algorithm>
#include <array>
#include <vector>

#include "kernels/vendor/vendor_handles.h"
#include "runtime/cuda_check.h"

// cuDNN 9 marks its convolution API (descriptors, cudnnGet/Find*Algorithm, cudnnConvolution*)
// deprecated in favour of the graph API; it is still supported and is what the heuristics and
// the per-algorithm determinism flags below are documented for.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace detnn::kernels {

namespace {

const char* fwd_name(int a) {
  static const std::array<const char*, 8> names{
      "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
      "WINOGRAD",      "WINOGRAD_NONFUSED"};
  return a >= 0 && a < 8 ? names[a] : "?";
}
const char* bwd_data_name(int a) {
  static const std::array<const char*, 6> names{"ALGO_0",     "ALGO_1",   "FFT",
                                                "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  return a >= 0 && a < 6 ? names[a] : "?";
}
const char* bwd_filter_name(int a) {
  static const std::array<const char*, 7> names{
      "ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  return a >= 0 && a < 7 ? names[a] : "?";
}

// cuDNN's perf records (one struct type per direction, same fields) as candidates.
template <typename Perf>
std::vector<AlgoCandidate> candidates(const Perf* perf, int count, const char* (*name)(int), bool ampere_or_newer) {
  std::vector<AlgoCandidate> out;
  for (int i = 0; i < count; ++i) {
    AlgoCandidate c;
    c.algo = static_cast<int>(perf[i].algo);
    c.name = name(c.algo);
    c.supported = perf[i].status == CUDNN_STATUS_SUCCESS;
    c.deterministic = perf[i].determinism == CUDNN_DETERMINISTIC;
    // CUDNN_DEFAULT_MATH permits TF32 for FP32 data from Ampere on; only FMA math excludes it.
    c.tensor_cores = perf[i].mathType != CUDNN_FMA_MATH && ampere_or_newer;
    c.workspace_bytes = perf[i].memory;
    c.ms = perf[i].time;
    out.push_back(c);
  }
  return out;
}

// Room for every record cuDNN may return: its own maximum (an algorithm can come once per math
// type), at least the algorithm count.
template <typename Perf>
std::vector<Perf> perf_records(cudnnStatus_t (*max_count)(cudnnHandle_t, int*), cudnnHandle_t handle,
                               int algorithms) {
  int capacity = 0;
  DETNN_CUDNN_CHECK(max_count(handle, &capacity));
  return std::vector<Perf>(static_cast<size_t>(std::max(capacity, algorithms)));
}

// What choosing one direction's algorithm needs besides its own cuDNN calls.
struct PickContext {
  cudnnHandle_t handle;
  ComputeMode mode;
  bool ampere_or_newer;  // CUDNN_DEFAULT_MATH may mean TF32 (algorithm_choice.h's tensor_cores)
};

// One direction's algorithm (DESIGN §1): `list(room, &count, records)` has cuDNN fill its
// records — timed (off) or by its heuristic (fast) —, pick_algorithm takes one, and the
// direction's descriptor `conv` gets that record's math type; `workspace(algo, &bytes)` sizes it.
template <typename Perf, typename Algo, typename List, typename Workspace>
void pick_direction(const PickContext& pc, cudnnStatus_t (*max_count)(cudnnHandle_t, int*), int algorithms,
                    const char* (*name)(int), List&& list, Workspace&& workspace, cudnnConvolutionDescriptor_t conv,
                    const std::string& call, Algo& algo, AlgoCandidate& choice) {
  std::vector<Perf> records = perf_records<Perf>(max_count, pc.handle, algorithms);
  int count = 0;
  list(static_cast<int>(records.size()), &count, records.data());
  const size_t i = pick_algorithm(candidates(records.data(), count, name, pc.ampere_or_newer), pc.mode,
                                  kVendorWorkspaceLimit, call);
  algo = records[i].algo;
  choice = candidates(records.data() + i, 1, name, pc.ampere_or_newer)[0];
  DETNN_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, records[i].mathType));
  workspace(algo, &choice.workspace_bytes);
}

}  // namespace

std::string conv2d_shape_text(const Conv2dParams& p) {
  return "N=" + std::to_string(p.batch) + " Ci=" + std::to_string(p.in_channels) + " " + std::to_string(p.in_h) +
         "x" + std::to_string(p.in_w) + " Co=" + std::to_string(p.out_channels) + " k=" + std::to_string(p.kernel_h) +
         "x" + std::to_string(p.kernel_w) + " s=" + std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) +
         " p=" + std::to_string(p.pad_h) + "x" + std::to_string(p.pad_w) + " d=" + std::to_string(p.dilation_h) +
         "x" + std::to_string(p.dilation_w) + " g=" + std::to_string(p.groups);
}

struct CudnnConv2d::Impl {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  // One convolution descriptor per direction: each carries its algorithm's math type.
  cudnnConvolutionDescriptor_t fwd = nullptr, bwd_data = nullptr, bwd_filter = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo{};
  AlgoCandidate fwd_choice, bwd_data_choice, bwd_filter_choice;

  // The descriptors of one call shape; cuDNN's output shape must be detnn's.
  void set_descriptors(const Conv2dParams& p, cudnnMathType_t requested, const std::string& layer);
  // The three directions' algorithms, pinned now (fast: the heuristic's order; off: timed).
  void pick_algorithms(const PickContext& pc, const std::string& layer, const std::string& shape);

  ~Impl() {
    // Destroying a null descriptor is harmless; errors here cannot be reported.
    cudnnDestroyConvolutionDescriptor(bwd_filter);
    cudnnDestroyConvolutionDescriptor(bwd_data);
    cudnnDestroyConvolutionDescriptor(fwd);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
};

void CudnnConv2d::Impl::set_descriptors(const Conv2dParams& p, cudnnMathType_t requested, const std::string& layer) {
  Impl& d = *this;
  auto i32 = [](int64_t v) { return static_cast<int>(v); };
  DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d.x));
  DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d.y));
  DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d.bias));
  DETNN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d.w));
  DETNN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i32(p.batch),
                                               i32(p.in_channels), i32(p.in_h), i32(p.in_w)));
  DETNN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i32(p.batch),
                                               i32(p.out_channels), i32(p.out_h()), i32(p.out_w())));
  DETNN_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(d.bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, i32(p.out_channels), 1, 1));
  DETNN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i32(p.out_channels),
                                               i32(p.in_channels_per_group()), i32(p.kernel_h), i32(p.kernel_w)));
  for (cudnnConvolutionDescriptor_t* c : {&d.fwd, &d.bwd_data, &d.bwd_filter}) {
    DETNN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(c));
    DETNN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(*c, i32(p.pad_h), i32(p.pad_w), i32(p.stride_h),
                                                      i32(p.stride_w), i32(p.dilation_h), i32(p.dilation_w),
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DETNN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(*c, i32(p.groups)));
    DETNN_CUDNN_CHECK(cudnnSetConvolutionMathType(*c, requested));
  }
  int n = 0, c = 0, h = 0, w = 0;
  DETNN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(d.fwd, d.x, d.w, &n, &c, &h, &w));
  DETNN_CHECK(n == p.batch && c == p.out_channels && h == p.out_h() && w == p.out_w(), internal, layer,
              ": cuDNN's output shape ", n, "x", c, "x", h, "x", w, " differs from detnn's for ",
              conv2d_shape_text(p));

}

void CudnnConv2d::Impl::pick_algorithms(const PickContext& pc, const std::string& layer, const std::string& shape) {
  Impl& d = *this;
  cudnnHandle_t handle = pc.handle;
  const bool timed = pc.mode.determinism == Determinism::off;
  pick_direction<cudnnConvolutionFwdAlgoPerf_t>(
      pc, cudnnGetConvolutionForwardAlgorithmMaxCount, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, fwd_name,
      [&](int room, int* count, cudnnConvolutionFwdAlgoPerf_t* perf) {
        if (timed)
          DETNN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(handle, d.x, d.w, d.fwd, d.y, room, count, perf));
        else
          DETNN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x, d.w, d.fwd, d.y, room, count, perf));
      },
      [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
        DETNN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, d.x, d.w, d.fwd, d.y, algo, bytes));
      },
      d.fwd, layer + " conv2d forward " + shape, d.fwd_algo, d.fwd_choice);
  pick_direction<cudnnConvolutionBwdDataAlgoPerf_t>(
      pc, cudnnGetConvolutionBackwardDataAlgorithmMaxCount, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, bwd_data_name,
      [&](int room, int* count, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
        if (timed)
          DETNN_CUDNN_CHECK(
              cudnnFindConvolutionBackwardDataAlgorithm(handle, d.w, d.y, d.bwd_data, d.x, room, count, perf));
        else
          DETNN_CUDNN_CHECK(
              cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.w, d.y, d.bwd_data, d.x, room, count, perf));
      },
      [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
        DETNN_CUDNN_CHECK(
            cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w, d.y, d.bwd_data, d.x, algo, bytes));
      },
      d.bwd_data, layer + " conv2d backward-data " + shape, d.bwd_data_algo, d.bwd_data_choice);
  pick_direction<cudnnConvolutionBwdFilterAlgoPerf_t>(
      pc, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
      bwd_filter_name,
      [&](int room, int* count, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
        if (timed)
          DETNN_CUDNN_CHECK(
              cudnnFindConvolutionBackwardFilterAlgorithm(handle, d.x, d.y, d.bwd_filter, d.w, room, count, perf));
        else
          DETNN_CUDNN_CHECK(
              cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.x, d.y, d.bwd_filter, d.w, room, count, perf));
      },
      [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
        DETNN_CUDNN_CHECK(
            cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.x, d.y, d.bwd_filter, d.w, algo, bytes));
      },
      d.bwd_filter, layer + " conv2d backward-filter " + shape, d.bwd_filter_algo, d.bwd_filter_choice);
}

CudnnConv2d::CudnnConv2d(const Conv2dParams& p, ComputeMode mode, const std::string& layer, cudaStream_t stream)
    : p_(p), impl_(std::make_unique<Impl>()) {
  p.validate();
  DETNN_CHECK(mode.vendor(), internal, layer, ": a cuDNN convolution plan in the strict mode");
  Impl& d = *impl_;
  d.set_descriptors(p, mode.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, layer);
  int device = 0, major = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&device));
  DETNN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  cudnnHandle_t handle = cudnn_handle();
  DETNN_CUDNN_CHECK(cudnnSetStream(handle, stream));
  d.pick_algorithms(PickContext{handle, mode, major >= 8}, layer, conv2d_shape_text(p));
  reserve_vendor_workspace(std::max({d.fwd_choice.workspace_bytes, d.bwd_data_choice.workspace_bytes,
                                     d.bwd_filter_choice.workspace_bytes}),
                           stream);
}

CudnnConv2d::~CudnnConv2d() = default;

void CudnnConv2d::forward(const float* x, const float* w, const float* bias, float* y, cudaStream_t stream) {
  Impl& d = *impl_;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = cudnn_handle();
  DETNN_CUDNN_CHECK(cudnnSetStream(handle, stream));
  const size_t bytes = d.fwd_choice.workspace_bytes;
  DETNN_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, d.x, x, d.w, w, d.fwd, d.fwd_algo,
                                            vendor_workspace(bytes, stream), bytes, &zero, d.y, y));
  // y = 1 * bias + 1 * y: one rounding per element, like the strict kernels' separate addition.
  if (bias != nullptr) DETNN_CUDNN_CHECK(cudnnAddTensor(handle, &one, d.bias, bias, &one, d.y, y));
}

void CudnnConv2d::backward_data(const float* dy, const float* w, float* dx, cudaStream_t stream) {
  Impl& d = *impl_;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = cudnn_handle();
  DETNN_CUDNN_CHECK(cudnnSetStream(handle, stream));
  const size_t bytes = d.bwd_data_choice.workspace_bytes;
  DETNN_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, &one, d.w, w, d.y, dy, d.bwd_data, d.bwd_data_algo,
                                                 vendor_workspace(bytes, stream), bytes, &zero, d.x, dx));
}

void CudnnConv2d::backward_filter(const float* x, const float* dy, float* dw, cudaStream_t stream) {
  Impl& d = *impl_;
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = cudnn_handle();
  DETNN_CUDNN_CHECK(cudnnSetStream(handle, stream));
  const size_t bytes = d.bwd_filter_choice.workspace_bytes;
  DETNN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, d.x, x, d.y, dy, d.bwd_filter, d.bwd_filter_algo,
                                                   vendor_workspace(bytes, stream), bytes, &zero, d.w, dw));
}

void CudnnConv2d::backward_bias(const float* dy, float* db, cudaStream_t stream) {
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t handle = cudnn_handle();
  DETNN_CUDNN_CHECK(cudnnSetStream(handle, stream));
  DETNN_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &one, impl_->y, dy, &zero, impl_->bias, db));
}

void CudnnConv2d::collect_choices(const std::string& layer, std::vector<KernelChoice>& out) const {
  const std::string shape = conv2d_shape_text(p_), library = cudnn_library_name();
  out.push_back({layer, "conv2d forward", shape, library, impl_->fwd_choice});
  out.push_back({layer, "conv2d backward-data", shape, library, impl_->bwd_data_choice});
  out.push_back({layer, "conv2d backward-filter", shape, library, impl_->bwd_filter_choice});
}

}  // namespace detnn::kernels
