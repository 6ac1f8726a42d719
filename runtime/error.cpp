#include "runtime/error.h"

namespace detnn {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::out_of_memory: return "out of memory";
    case ErrorCode::cuda: return "CUDA error";
    case ErrorCode::cublas: return "cuBLAS error";
    case ErrorCode::cudnn: return "cuDNN error";
    case ErrorCode::nccl: return "NCCL error";
    case ErrorCode::io: return "I/O error";
    case ErrorCode::format: return "format error";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::internal: return "internal error";
    case ErrorCode::comm: return "communication error";
  }
  return "unknown error";
}

namespace detail {
void throw_check_failure(ErrorCode code, const char* expr, const char* file, int line,
                         const std::string& message) {
  std::string text = message.empty() ? std::string("check failed") : message;
  text += " [";
  text += expr;
  text += " at ";
  text += file;
  text += ":";
  text += std::to_string(line);
  text += "]";
  throw Error(code, text);
}
}  // namespace detail

}  // namespace detnn
