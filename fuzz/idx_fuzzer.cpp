// The IDX reader (data/readers.h) on an images file and a labels file, either gzipped or not.
#include "data/readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // (clang 14 cannot capture structured bindings in a lambda)
  std::pair<std::vector<uint8_t>, std::vector<uint8_t>> files = detnn::fuzz::split_two_files(data, size);
  detnn::fuzz::expect_clean_refusal([&] {
    detnn::data::parse_idx(detnn::data::file_bytes_from_memory("images.idx", std::move(files.first)),
                           detnn::data::file_bytes_from_memory("labels.idx", std::move(files.second)));
  });
  return 0;
}
