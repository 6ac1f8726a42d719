// The thrower behind DETNN_CUDA_CHECK, DETNN_CUDNN_CHECK and DETNN_NCCL_CHECK (runtime/cuda_check.h):
// one message naming the library, its status and text, the expression and where it failed.
#include <string>

#include "runtime/cuda_check.h"

namespace detnn::detail {

void throw_library_error(ErrorCode code, const char* library, long status, const char* status_text,
                         const char* expr, const char* file, int line) {
  throw Error(code, concat(library, " error ", status, " (", status_text ? status_text : "?",
                           ") in ", expr, " at ", file, ":", line));
}

const char* cublas_status_text(cublasStatus_t status) {
  // cublasGetStatusString exists since CUDA 11.4; the name is more useful than the number.
  return cublasGetStatusString(status);
}

}  // namespace detnn::detail
