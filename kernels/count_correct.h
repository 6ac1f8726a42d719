// Top-1 correct count of a call: the samples whose first maximum score is their label. Scores
// are compared with `>` from class 0 up, so the first of equal maxima wins and a NaN score never
// replaces the best so far (a NaN in class 0 stays the prediction). Integer counts are exact in
// any order, so the CUDA kernel may add per-warp counts atomically (DESIGN §8: integer counts).
//
// The count is ADDED to *count, so the passes of a step accumulate into one counter that stays
// on the device until the step is over (no host round trip per pass: CUDA Graphs).
// Labels must be in [0, classes) (checked on the host before the upload).
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace detnn::kernels {

// logits [n, classes], labels [n]; *count += the correct samples.
void count_correct_cpu(const float* logits, const int32_t* labels, int64_t n, int64_t classes, int64_t* count);

#ifdef DETNN_HAVE_CUDA
// The same on the device (count in device memory); one thread per sample.
void count_correct_cuda(const float* logits, const int32_t* labels, int64_t n, int64_t classes, int64_t* count,
                        cudaStream_t stream);
#endif

}  // namespace detnn::kernels
