#include "data/image_guards.h"

#include <algorithm>

#include "runtime/error.h"

namespace detnn::data {
namespace {

constexpr uint8_t kDht = 0xC4, kSos = 0xDA, kEoi = 0xD9;

// One DHT segment's tables, read as stb reads them: [class/id][16 counts][codes...] while the
// segment's length is not used up. A table may run past the segment's end (stb then reads on into
// what follows) or past the file's end (stb reads zeros there).
void check_dht(const std::vector<uint8_t>& b, size_t begin, int64_t length, const std::string& name) {
  size_t at = begin;
  for (int64_t left = length - 2; left > 0;) {
    int codes = 0;
    for (size_t i = at + 1; i < at + 17 && i < b.size(); ++i) codes += b[i];
    if (codes > 256)
      DETNN_THROW(format, name, ": bad JPEG Huffman table at byte ", at, ": it declares ", codes,
                  " codes, a table has at most 256");
    at += 17 + static_cast<size_t>(codes);
    left -= 17 + codes;
  }
}

}  // namespace

void check_jpeg_huffman_tables(const std::vector<uint8_t>& b, const std::string& name) {
  // The start of image, FF D8, after any number of FF fill bytes (stb accepts FF FF D8).
  size_t at = 0;
  if (b.empty() || b[0] != 0xFF) return;  // not a JPEG
  while (at < b.size() && b[at] == 0xFF) ++at;
  if (at >= b.size() || b[at] != 0xD8) return;
  ++at;
  bool in_scan = false;  // after SOS: entropy-coded bytes until the next marker
  while (at + 1 < b.size()) {
    if (in_scan) {
      // Inside a scan 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; anything
      // else is the next marker.
      if (b[at] != 0xFF || b[at + 1] == 0x00 || (b[at + 1] >= 0xD0 && b[at + 1] <= 0xD7) || b[at + 1] == 0xFF) {
        ++at;
        continue;
      }
      in_scan = false;
    }
    if (b[at] != 0xFF) {  // not where a marker should be: stb scans on byte by byte, and so do we
      ++at;
      continue;
    }
    const uint8_t marker = b[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == kEoi) return;
    if (at + 4 > b.size()) return;
    const size_t length = (size_t{b[at + 2]} << 8) | b[at + 3];
    const size_t end = at + 2 + length;
    if (marker == kDht) check_dht(b, at + 4, static_cast<int64_t>(length), name);
    if (length < 2 || end > b.size()) return;  // stb skips to the end of the file
    if (marker == kSos) in_scan = true;
    at = end;
  }
}

void check_png_chunk_lengths(const std::vector<uint8_t>& b, const std::string& name) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() < 8 || !std::equal(kSignature, kSignature + 8, b.begin())) return;  // not a PNG
  // Chunks: a 4-byte big-endian length, a 4-byte type, the data, a 4-byte CRC; IEND ends them.
  for (size_t at = 8; at + 8 <= b.size();) {
    const uint64_t length = (uint64_t{b[at]} << 24) | (uint64_t{b[at + 1]} << 16) | (uint64_t{b[at + 2]} << 8) | b[at + 3];
    const std::string type(b.begin() + static_cast<long>(at) + 4, b.begin() + static_cast<long>(at) + 8);
    if (type == "IEND") return;
    const uint64_t left = b.size() - at - 8;
    if (type == "IDAT" && length > left)
      DETNN_THROW(format, name, ": truncated PNG: the IDAT chunk at byte ", at, " declares ", length, " bytes, ", left,
                  " follow");
    at += 12 + length;
  }
}

}  // namespace detnn::data
