#include "kernels/vendor/bias_cudnn.h"

#include <limits>

#include "kernels/vendor/vendor_handles.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

// cudnnAddTensor and the tensor descriptors belong to cuDNN 9's deprecated legacy API, as in
// conv2d_cudnn.cpp.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace detnn::kernels {

namespace {

// A tensor descriptor destroyed with its scope.
class TensorDescriptor {
 public:
  TensorDescriptor(int64_t n, int64_t c) {
    DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_));
    const cudnnStatus_t set = cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                         static_cast<int>(n), static_cast<int>(c), 1, 1);
    if (set != CUDNN_STATUS_SUCCESS) cudnnDestroyTensorDescriptor(d_);
    DETNN_CUDNN_CHECK(set);
  }
  ~TensorDescriptor() { cudnnDestroyTensorDescriptor(d_); }
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

}  // namespace

void add_row_bias_cudnn(float* y, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  DETNN_CHECK(rows >= 0 && cols >= 1 && rows <= kMax && cols <= kMax && rows * cols <= kMax, invalid_argument,
              "bias add: [", rows, ", ", cols, "] is out of cuDNN's range");
  if (rows == 0) return;
  const TensorDescriptor y_desc(rows, cols), bias_desc(1, cols);
  DETNN_CUDNN_CHECK(cudnnSetStream(cudnn_handle(), stream));
  const float one = 1.0f;
  DETNN_CUDNN_CHECK(cudnnAddTensor(cudnn_handle(), &one, bias_desc.get(), bias, &one, y_desc.get(), y));
}

}  // namespace detnn::kernels
