// Checks of image files before stb_image decodes them: Debian's stb_image (2022-09) misbehaves on
// two kinds of hostile file that fuzz/image_fuzzer found, refused here first with a message
// naming the byte. Anything else malformed is left to the decoder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace detnn::data {

// A JPEG DHT segment that declares more than 256 codes in one table makes stb write past its
// 257-byte table (fixed upstream later): Error(format) "<name>: bad JPEG Huffman table at byte N:
// ...". The walk over the marker segments follows stb's, resynchronising on the next 0xFF where a
// marker should be, so that every DHT segment stb reads is one this checks.
void check_jpeg_huffman_tables(const std::vector<uint8_t>& bytes, const std::string& name);

// A PNG IDAT chunk whose length runs past the end of the file makes stb allocate that length
// (up to 4 GiB) before it finds the data missing: Error(format) "<name>: truncated PNG: ...".
void check_png_chunk_lengths(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace detnn::data
