// detnn::Error and the checks that throw it. Internal code throws; the C API catches
// everything and turns it into a detnn_status (DESIGN §5). Only tools exit.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace detnn {

// Mirrors detnn_status in include/detnn/detnn.h (same values), minus DETNN_OK.
enum class ErrorCode : int {
  invalid_argument = 1,  // a caller passed something impossible: shapes, sizes, options
  out_of_memory = 2,     // the allocator could not satisfy a request even after freeing its cache
  cuda = 3,              // the CUDA runtime or driver reported an error
  cublas = 4,
  cudnn = 5,
  nccl = 6,
  io = 7,                // a file could not be opened, read or written
  format = 8,            // a file or document is malformed (safetensors, JSON, IDX ...)
  unsupported = 9,       // valid request the build or the mode cannot do (e.g. no CUDA)
  internal = 10,         // a detnn bug: an invariant did not hold
  comm = 11,             // another rank of the group failed, or a collective timed out
};

const char* error_code_name(ErrorCode code);

// what() is the message a user reads: what was wrong and where in their input. location() is
// where in detnn's source it was refused ("cond at file:line" for DETNN_CHECK, "file:line" for
// DETNN_THROW): for debug logs (detnn_last_error_location, trainer --verbose), never part of a
// user's message.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string location = {})
      : std::runtime_error(message), code_(code), location_(std::move(location)) {}
  ErrorCode code() const { return code_; }
  const std::string& location() const { return location_; }

 private:
  ErrorCode code_;
  std::string location_;
};

// `text` from a user's file for a message: control characters written as \xNN (a message is one
// line), cut to `limit` bytes with the full length said (a 50 MB key must not be echoed whole).
std::string cut_for_message(const std::string& text, size_t limit = 200);

namespace detail {
// Streams every argument into one string, so checks can say what was wrong with values.
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_check_failure(ErrorCode code, const char* expr, const char* file, int line,
                                      const std::string& message);
[[noreturn]] void throw_error(ErrorCode code, const char* file, int line, const std::string& message);
}  // namespace detail

}  // namespace detnn

// DETNN_CHECK(cond, code, message parts...): throws detnn::Error with the parts as its message
// and the failed condition, file and line as its location. For user errors the message must name
// what was wrong; an internal error (a detnn bug) also carries the location in its message, so a
// bug report has it.
#define DETNN_CHECK(cond, code, ...)                                                          \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      ::detnn::detail::throw_check_failure(::detnn::ErrorCode::code, #cond, __FILE__, __LINE__, \
                                           ::detnn::detail::concat(__VA_ARGS__));             \
    }                                                                                         \
  } while (0)

// DETNN_THROW(code, message parts...): throws detnn::Error with the parts as its message and
// file:line as its location (in the message too for internal errors, as DETNN_CHECK).
#define DETNN_THROW(code, ...)                                                                      \
  ::detnn::detail::throw_error(::detnn::ErrorCode::code, __FILE__, __LINE__, ::detnn::detail::concat(__VA_ARGS__))
