// Element types. Training is FP32 (DESIGN §2); u8/i32/i64 carry data and labels; f64 is for
// references and checkpoint metadata tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace detnn {

enum class DType : uint8_t { f32, f64, i32, i64, u8 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

// The names safetensors uses ("F32", "F64", "I32", "I64", "U8").
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
  }
  return "?";
}

constexpr std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

}  // namespace detnn
