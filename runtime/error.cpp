#include "runtime/error.h"

#include <algorithm>

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

std::string cut_for_message(const std::string& text, size_t limit) {
  size_t end = std::min(limit, text.size());
  while (end > 0 && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;  // not inside a UTF-8 character
  std::string out;
  for (size_t i = 0; i < end; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (end < text.size()) out += "… (" + std::to_string(text.size()) + " bytes)";
  return out;
}

namespace detail {
void throw_error(ErrorCode code, const char* file, int line, const std::string& message) {
  std::string location = std::string(file) + ":" + std::to_string(line);
  if (code == ErrorCode::internal) throw Error(code, message + " [" + location + "]", std::move(location));
  throw Error(code, message, std::move(location));
}

void throw_check_failure(ErrorCode code, const char* expr, const char* file, int line,
                         const std::string& message) {
  std::string location = std::string(expr) + " at " + file + ":" + std::to_string(line);
  std::string text = message.empty() ? std::string("check failed") : message;
  if (code == ErrorCode::internal || message.empty()) text += " [" + location + "]";
  throw Error(code, text, std::move(location));
}
}  // namespace detail

}  // namespace detnn
