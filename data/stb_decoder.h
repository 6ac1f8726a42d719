// stb_image behind a few functions: data/stb_decoder.cpp is the only file that compiles it, so it
// gets compile options of its own (cmake/DetnnLibrary.cmake) and its functions stay static there
// (a program that links libdetnn.a may have its own stb_image).
#pragma once

#include <cstdint>
#include <memory>

namespace detnn::data {

struct StbPixels {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<uint8_t, void (*)(void*)> hwc{nullptr, [](void*) {}};  // null when decoding failed
};

bool stb_is_16_bit(const uint8_t* bytes, int size);
// The header's size and channel count without decoding; false when the header is not understood.
bool stb_info(const uint8_t* bytes, int size, int* width, int* height, int* channels);
// The pixels at the file's own channel count, HWC; hwc is null on failure (stb_failure_reason()).
StbPixels stb_decode(const uint8_t* bytes, int size);
const char* stb_failure_reason();

}  // namespace detnn::data
