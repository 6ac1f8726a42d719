#include "data/stb_decoder.h"

// Only the two decoders detnn uses, no HDR (it would pull in libm's pow), and the plain C paths,
// so the decoded bytes do not depend on the host's SIMD unit.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_SIMD
#define STBI_NO_STDIO
#include <stb/stb_image.h>

namespace detnn::data {

bool stb_is_16_bit(const uint8_t* bytes, int size) { return stbi_is_16_bit_from_memory(bytes, size) != 0; }

bool stb_info(const uint8_t* bytes, int size, int* width, int* height, int* channels) {
  return stbi_info_from_memory(bytes, size, width, height, channels) != 0;
}

StbPixels stb_decode(const uint8_t* bytes, int size) {
  StbPixels p;
  p.hwc = std::unique_ptr<uint8_t, void (*)(void*)>(
      stbi_load_from_memory(bytes, size, &p.width, &p.height, &p.channels, 0), stbi_image_free);
  return p;
}

const char* stb_failure_reason() { return stbi_failure_reason(); }

}  // namespace detnn::data
