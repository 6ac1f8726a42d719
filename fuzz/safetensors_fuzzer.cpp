// The safetensors reader (runtime/io/safetensors.h) on arbitrary bytes: the length prefix, the
// JSON header, dtypes, shapes, offsets that must tile the buffer.
#include <span>

#include "fuzz/fuzz_support.h"
#include "runtime/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  detnn::fuzz::expect_clean_refusal(
      [&] { detnn::parse_safetensors(std::span<const uint8_t>(data, size), "fuzz.safetensors"); });
  return 0;
}
