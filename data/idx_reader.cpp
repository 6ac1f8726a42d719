// IDX: 0x00 0x00, a type byte (0x08 = unsigned byte, the only one MNIST uses), the number of
// dimensions, then each dimension as a big-endian uint32, then the data in C order.
#include <string>

#include "data/file_bytes.h"
#include "data/readers.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"

namespace detnn::data {
namespace {

struct IdxArray {
  std::vector<int64_t> dims;
  int64_t header_bytes = 0;
};

IdxArray parse_idx_header(const FileBytes& f, int want_dims, const char* what) {
  const std::vector<uint8_t>& b = f.bytes;
  if (b.size() < 4)
    DETNN_THROW(format, f.name, ": truncated at byte ", b.size(), f.offset_note(), ": an IDX file starts with a 4-byte magic");
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08)
    DETNN_THROW(format, f.name, ": bad magic at byte 0: expected 00 00 08 (IDX, unsigned byte), got ",
                to_hex(std::span<const uint8_t>(b.data(), 3)));
  if (b[3] != want_dims)
    DETNN_THROW(format, f.name, ": wrong dimensions at byte 3: ", what, " need ", want_dims,
                "-D IDX data, the file has ", int{b[3]}, " dimensions");
  IdxArray a;
  a.header_bytes = 4 + 4 * int64_t{want_dims};
  if (static_cast<int64_t>(b.size()) < a.header_bytes)
    DETNN_THROW(format, f.name, ": truncated at byte ", b.size(), f.offset_note(), ": the header of ",
                want_dims, " dimension sizes needs ", a.header_bytes, " bytes");
  for (int d = 0; d < want_dims; ++d) {
    const int64_t size = load_be32(b.data() + 4 + 4 * d);
    if (size == 0 && d > 0)
      DETNN_THROW(format, f.name, ": dimension ", d, " (byte ", 4 + 4 * d, ") is 0");
    a.dims.push_back(size);
  }
  return a;
}

// The data must fill the file exactly: a short file is truncated, a long one is not IDX.
void check_length(const FileBytes& f, int64_t header_bytes, int64_t items, int64_t item_bytes, const char* what) {
  const int64_t have = static_cast<int64_t>(f.bytes.size()) - header_bytes;
  const int64_t need = saturating_mul(items, item_bytes);
  if (have < need)
    DETNN_THROW(format, f.name, ": truncated at byte ", f.bytes.size(), f.offset_note(), ": expected ", items, " ",
                what, " (", need, " bytes after the ", header_bytes, "-byte header), the file has ", have);
  if (have > need)
    DETNN_THROW(format, f.name, ": ", have - need, " unexpected bytes after the end of the data at byte ",
                header_bytes + need, f.offset_note(), " (", items, " ", what, ")");
}

}  // namespace

Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, int32_t classes) {
  return parse_idx(read_file_bytes(images), read_file_bytes(labels), classes);
}

Dataset parse_idx(const FileBytes& img, const FileBytes& lab, int32_t classes) {
  const IdxArray ia = parse_idx_header(img, 3, "images");
  const int64_t n = ia.dims[0], h = ia.dims[1], w = ia.dims[2];
  check_length(img, ia.header_bytes, n, saturating_mul(h, w), "images");

  const IdxArray la = parse_idx_header(lab, 1, "labels");
  if (la.dims[0] != n)
    DETNN_THROW(format, lab.name, ": count mismatch at byte 4: ", la.dims[0], " labels for the ", n, " images of ",
                img.name);
  check_length(lab, la.header_bytes, n, 1, "labels");

  Dataset d;
  d.description = "idx: " + std::filesystem::path(img.name).filename().string() + " + " +
                  std::filesystem::path(lab.name).filename().string();
  d.count = n;
  d.channels = 1;
  d.height = h;
  d.width = w;
  d.pixels_u8.assign(img.bytes.begin() + ia.header_bytes, img.bytes.end());
  d.labels.assign(lab.bytes.begin() + la.header_bytes, lab.bytes.end());
  check_and_set_classes(d, classes, lab.name, la.header_bytes, 1);
  Sha256 sha;
  sha.update(img.bytes.data(), img.bytes.size());
  sha.update(lab.bytes.data(), lab.bytes.size());
  d.fingerprint = sha.finish_hex();
  check_consistent(d);
  return d;
}

}  // namespace detnn::data
