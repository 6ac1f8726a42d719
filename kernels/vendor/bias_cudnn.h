// y[r, c] += bias[c] for a row-major [rows, cols] on the device, through cuDNN's cudnnAddTensor
// (an elementwise add: one rounding per element, the same bits on every run). The fast and off
// linear plans use it when the bias cannot go into cuBLASLt's epilogue: the epilogue wants a
// 16-byte-aligned bias, and a bias sits wherever the parameter buffer puts it.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <cstdint>

namespace detnn::kernels {

void add_row_bias_cudnn(float* y, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace detnn::kernels
#endif
