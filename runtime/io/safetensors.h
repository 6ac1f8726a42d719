// safetensors files: the checkpoint and tensor-exchange format (DESIGN §5, §9).
//
// Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON, then the data buffer.
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
// Offsets are relative to the buffer start; the regions tile the buffer exactly. The JSON
// starts with '{' and may be padded with trailing spaces; the writer pads it so N is a
// multiple of 8. Supported dtypes: F32, F64, I32, I64, U8. See docs/safetensors.md.
//
// Reading validates the whole file and throws Error(format) naming the source, the byte
// offset or JSON key and what was wrong; Error(io) when the file cannot be read. Writing
// is atomic (runtime/io/atomic_file.h) and deterministic: same inputs, same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/dtype.h"
#include "runtime/error.h"  // what the functions below throw

namespace detnn {

// Readers refuse headers longer than this (a corrupt length must not allocate gigabytes);
// the writer refuses to produce them.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100ull << 20;

// A tensor to write, borrowing its data: `data` holds product(shape) * dtype_size(dtype)
// bytes in the host's order (little-endian on every supported host). A 0-d scalar has
// shape {}; a tensor with a zero dimension has no bytes and may have data == nullptr.
struct SafetensorsTensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

// A tensor read from a file, owning its bytes.
struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t element_count() const;
  SafetensorsTensorView view() const { return {name, dtype, shape, bytes.data()}; }
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsTensor> tensors;  // in data order (by begin offset)

  const SafetensorsTensor* find(const std::string& name) const;  // nullptr when absent
};

// The whole file in memory: header (with padding) followed by the data buffer. Throws
// Error(invalid_argument) for impossible input: a duplicate or reserved ("__metadata__")
// name, a negative dimension, null data for a non-empty tensor, strings that are not
// UTF-8, a header over kSafetensorsMaxHeaderBytes.
std::vector<uint8_t> serialize_safetensors(const std::vector<SafetensorsTensorView>& tensors,
                                           const std::map<std::string, std::string>& metadata = {});

// Writes the same bytes to `path` atomically, streaming tensor data without copying it.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Parses an in-memory file; `source_name` is what error messages call it.
SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& source_name);

// Reads and validates `path`, reading each tensor straight into its own buffer.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace detnn
