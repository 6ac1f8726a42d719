// Internal to the safetensors reader and writer: the validated form of a header and the
// checks that produce it. Not part of the public API (runtime/io/safetensors.h is).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/dtype.h"

namespace detnn::safetensors_detail {

struct HeaderEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // offsets into the data buffer, end - begin == product(shape) * dtype size
  uint64_t end;
};

struct Layout {
  std::map<std::string, std::string> metadata;
  std::vector<HeaderEntry> entries;  // sorted by begin; together they tile the buffer exactly
};

// Reads the little-endian u64 at the start of a file of `file_size` (>= 8) bytes and
// checks it against the size and the header limit. Error(format) when it does not fit.
uint64_t checked_header_length(const uint8_t prefix[8], uint64_t file_size, const std::string& source);

// Validates the `header` bytes (the N bytes after the prefix) for a data buffer of
// `buffer_size` bytes. Error(format) naming `source`, the byte offset or key and the fault.
Layout parse_header(std::span<const uint8_t> header, uint64_t buffer_size, const std::string& source);

// product(shape) * dtype_size, or false when it does not fit in 64 bits.
bool byte_size_of(DType dtype, std::span<const int64_t> shape, uint64_t* bytes);

// "[2, 3]", cut short for very long shapes (error messages only).
std::string shape_text(std::span<const int64_t> shape);

}  // namespace detnn::safetensors_detail
