// The model-file parser (session/model_file.h) on arbitrary bytes: JSON syntax, nesting, numbers,
// duplicate keys, every field's type and range, layer shapes and sizes. Parsing allocates no
// weights, so a hostile shape must be refused by its checks, not by running out of memory.
#include <string>

#include "fuzz/fuzz_support.h"
#include "session/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  detnn::fuzz::expect_clean_refusal([&] { detnn::parse_model_text(text, "fuzz.json", "/nonexistent"); });
  return 0;
}
