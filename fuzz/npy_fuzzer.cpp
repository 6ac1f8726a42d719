// The NPY reader (data/readers.h) on an images file and a labels file: preamble, the header's
// Python-literal dictionary, dtypes, shapes, non-finite floats, label ranges.
#include "data/readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // (clang 14 cannot capture structured bindings in a lambda)
  std::pair<std::vector<uint8_t>, std::vector<uint8_t>> files = detnn::fuzz::split_two_files(data, size);
  detnn::fuzz::expect_clean_refusal([&] {
    detnn::data::parse_npy(detnn::data::file_bytes_from_memory("images.npy", std::move(files.first)),
                           detnn::data::file_bytes_from_memory("labels.npy", std::move(files.second)));
  });
  return 0;
}
