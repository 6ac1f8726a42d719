// CIFAR-10 binary version: each file is a run of 3073-byte records, a label byte then the
// 32x32 red, green and blue planes (already CHW). No header, so the length is the only check
// of the layout: it must be a whole number of records.
#include "data/file_bytes.h"
#include "data/readers.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"

namespace detnn::data {
namespace {
constexpr int64_t kChannels = 3, kSide = 32, kPixels = kChannels * kSide * kSide, kRecord = 1 + kPixels;
}

Dataset read_cifar10(const std::vector<std::filesystem::path>& paths, int32_t classes) {
  if (paths.empty()) DETNN_THROW(invalid_argument, "cifar10: no files given");
  std::vector<FileBytes> files;
  for (const std::filesystem::path& path : paths) files.push_back(read_file_bytes(path));
  return parse_cifar10(files, classes);
}

Dataset parse_cifar10(const std::vector<FileBytes>& files, int32_t classes) {
  if (files.empty()) DETNN_THROW(invalid_argument, "cifar10: no files given");
  const int32_t limit = classes > 0 ? classes : 10;  // the format's own ten classes
  Dataset d;
  d.description = "cifar10:";
  d.channels = kChannels;
  d.height = d.width = kSide;
  Sha256 sha;
  for (const FileBytes& f : files) {
    const int64_t size = static_cast<int64_t>(f.bytes.size());
    if (size == 0) DETNN_THROW(format, f.name, ": empty file, expected 3073-byte CIFAR-10 records");
    if (size % kRecord != 0)
      DETNN_THROW(format, f.name, ": truncated at byte ", size, f.offset_note(), ": record ", size / kRecord,
                  " has ", size % kRecord, " of its 3073 bytes (1 label + 3072 pixels)");
    for (int64_t r = 0; r < size / kRecord; ++r) {
      const uint8_t* rec = f.bytes.data() + r * kRecord;
      if (rec[0] >= limit)
        DETNN_THROW(format, f.name, ": label of record ", r, " (byte ", r * kRecord, ") is ", int{rec[0]},
                    ", not below classes = ", limit);
      d.labels.push_back(rec[0]);
      d.pixels_u8.insert(d.pixels_u8.end(), rec + 1, rec + kRecord);
    }
    sha.update(f.bytes.data(), f.bytes.size());
    d.description.append(" ").append(std::filesystem::path(f.name).filename().string());
  }
  d.count = static_cast<int64_t>(d.labels.size());
  d.classes = limit;
  d.fingerprint = sha.finish_hex();
  check_consistent(d);
  return d;
}

}  // namespace detnn::data
