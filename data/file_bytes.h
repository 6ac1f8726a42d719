// Whole-file reads for the readers. A file that starts with the gzip magic (1f 8b) is
// inflated with zlib, whatever its name says, so `x.gz` and a decompressed copy load alike;
// offsets in the readers' messages are then offsets in the decompressed bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace detnn::data {

struct FileBytes {
  std::string name;            // the path as given, for messages
  std::vector<uint8_t> bytes;  // decompressed when gzipped
  bool gzipped = false;
  // " (decompressed)" for gzip files, so "byte 8008" is never read as a compressed offset.
  std::string offset_note() const { return gzipped ? " (decompressed)" : ""; }
};

// Error(io) when the file cannot be opened or read; Error(format) when a gzip stream is corrupt
// or ends early (naming how many bytes it gave).
FileBytes read_file_bytes(const std::filesystem::path& path);
// The same for bytes already in memory (the fuzz targets, tests): inflated when gzipped.
FileBytes file_bytes_from_memory(std::string name, std::vector<uint8_t> bytes);

// a * b for sizes read from files, saturating at INT64_MAX so a hostile header cannot wrap
// around into a small "expected size" (it then reads as truncated).
int64_t saturating_mul(int64_t a, int64_t b);

// Big-endian and little-endian integer loads; the caller has checked the bounds.
uint32_t load_be32(const uint8_t* p);
uint64_t load_le(const uint8_t* p, int bytes);

}  // namespace detnn::data
