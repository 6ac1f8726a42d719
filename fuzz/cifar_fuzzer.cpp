// The CIFAR-10 binary reader (data/readers.h) on one file, plain or gzipped.
#include "data/readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  detnn::fuzz::expect_clean_refusal([&] {
    std::vector<detnn::data::FileBytes> files;
    files.push_back(detnn::data::file_bytes_from_memory("data_batch_1.bin", std::vector<uint8_t>(data, data + size)));
    detnn::data::parse_cifar10(files);
  });
  return 0;
}
