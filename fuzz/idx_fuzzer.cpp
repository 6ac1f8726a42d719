// The IDX reader (data/readers.h) on an images file and a labels file, either gzipped or not.
#include "data/readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [images, labels] = detnn::fuzz::split_two_files(data, size);
  detnn::fuzz::expect_clean_refusal([&] {
    detnn::data::parse_idx(detnn::data::file_bytes_from_memory("images.idx", std::move(images)),
                           detnn::data::file_bytes_from_memory("labels.idx", std::move(labels)));
  });
  return 0;
}
