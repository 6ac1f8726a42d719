// Image decoding as the image-folder reader does it (data/readers.h: stb_image's PNG and JPEG
// decoders behind detnn's size checks).
//
// DETNN_FUZZ_WRITE_SEEDS=DIR writes the seed images (PNG with 1 to 4 channels, JPEG) to DIR and
// exits (fuzz/run-fuzzer does this first).
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/readers.h"
#include "fuzz/fuzz_support.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace {

void write_seeds(const std::filesystem::path& dir) {
  const int w = 8, h = 6;
  for (int channels = 1; channels <= 4; ++channels) {
    std::vector<uint8_t> pixels(static_cast<size_t>(w * h * channels));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 251);
    const std::string stem = (dir / ("c" + std::to_string(channels))).string();
    if (!stbi_write_png((stem + ".png").c_str(), w, h, channels, pixels.data(), w * channels) ||
        !stbi_write_jpg((stem + ".jpg").c_str(), w, h, channels, pixels.data(), 90)) {
      std::fprintf(stderr, "image_fuzzer: cannot write the seeds to %s\n", dir.c_str());
      std::exit(1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  detnn::fuzz::write_seeds_if_asked(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  detnn::fuzz::expect_clean_refusal([&] {
    detnn::data::decode_image(
        detnn::data::file_bytes_from_memory("image.png", std::vector<uint8_t>(data, data + size)));
  });
  return 0;
}
