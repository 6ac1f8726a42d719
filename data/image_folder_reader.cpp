// Image folders (torchvision's ImageFolder layout): <dir>/<class>/<image>. Order is bytewise on
// the names (std::string comparison, not the locale, not the directory's own order), so the
// same tree gives the same labels and sample order on every machine.
#include <algorithm>
#include <cctype>

#include "data/file_bytes.h"
#include "data/image_guards.h"
#include "data/stb_decoder.h"
#include "data/readers.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"


namespace detnn::data {
namespace {

namespace fs = std::filesystem;

// One decoded image at most (a 8192 x 8192 RGBA photo): far above any training image.
constexpr int64_t kMaxImageBytes = int64_t{256} << 20;

bool is_image_name(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* ext : {".png", ".jpg", ".jpeg"}) {
    const std::string e = ext;
    if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// Names of the entries of `dir` that pass `keep`, sorted bytewise. Hidden entries (".x") are
// never data: editors and file managers leave them behind.
template <typename Keep>
std::vector<std::string> sorted_entries(const fs::path& dir, Keep keep) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) DETNN_THROW(io, dir.string(), ": cannot list the folder: ", ec.message());
  std::vector<std::string> names;
  for (const fs::directory_entry& e : it) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.' && keep(e)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

DecodedImage decode_image(const FileBytes& f) {
  if (f.gzipped) DETNN_THROW(format, f.name, ": is gzip-compressed, not an image");
  if (f.bytes.size() > static_cast<size_t>(INT32_MAX))
    DETNN_THROW(format, f.name, ": ", f.bytes.size(), " bytes, more than an image file may have (2 GiB)");
  const int size = static_cast<int>(f.bytes.size());
  check_jpeg_huffman_tables(f.bytes, f.name);
  check_png_chunk_lengths(f.bytes, f.name);
  if (stb_is_16_bit(f.bytes.data(), size))
    DETNN_THROW(format, f.name, ": 16-bit images are not supported (convert to 8 bits per channel)");
  int width = 0, height = 0, channels = 0;
  // The header's size before the decoder allocates: a few hostile bytes can claim 2^24 x 2^24.
  if (stb_info(f.bytes.data(), size, &width, &height, &channels) &&
      int64_t{width} * height * channels > kMaxImageBytes)
    DETNN_THROW(format, f.name, ": the image is ", width, "x", height, " with ", channels,
                " channels, more than the ", kMaxImageBytes >> 20, " MiB one decoded image may have");
  const StbPixels decoded = stb_decode(f.bytes.data(), size);
  if (!decoded.hwc) {
    // stb's reasons are terse ("bad png", "outofdata") and may be missing: say it plainly. An
    // unknown PNG chunk's reason holds its four raw bytes: escaped, as any bytes from a file.
    const char* why = stb_failure_reason();
    DETNN_THROW(format, f.name, ": cannot decode the image (", f.bytes.size(), " bytes): ",
                why != nullptr && *why != '\0' ? cut_for_message(why, 80) : "truncated or corrupt");
  }
  // stb gives HWC; the dataset is CHW.
  DecodedImage img;
  img.channels = decoded.channels;
  img.height = decoded.height;
  img.width = decoded.width;
  const int64_t plane = img.height * img.width;
  img.pixels_chw.resize(static_cast<size_t>(plane * img.channels));
  for (int64_t p = 0; p < plane; ++p)
    for (int64_t ch = 0; ch < img.channels; ++ch)
      img.pixels_chw[static_cast<size_t>(ch * plane + p)] = decoded.hwc.get()[p * img.channels + ch];
  return img;
}

Dataset read_image_folder(const std::filesystem::path& dir, int32_t classes) {
  const std::vector<std::string> class_names =
      sorted_entries(dir, [](const fs::directory_entry& e) { return e.is_directory(); });
  if (class_names.empty()) DETNN_THROW(format, dir.string(), ": no class subfolders");
  if (classes > 0 && class_names.size() > static_cast<size_t>(classes))
    DETNN_THROW(format, dir.string(), ": ", class_names.size(), " class subfolders, more than classes = ", classes,
                " (the last is '", class_names.back(), "')");
  Dataset d;
  d.description = "image_folder: " + dir.string();
  d.class_names = class_names;
  Sha256 sha;
  std::string first_file;
  for (size_t c = 0; c < class_names.size(); ++c) {
    const fs::path class_dir = dir / class_names[c];
    const std::vector<std::string> files = sorted_entries(class_dir, [](const fs::directory_entry& e) {
      return e.is_regular_file() && is_image_name(e.path().filename().string());
    });
    if (files.empty()) DETNN_THROW(format, class_dir.string(), ": class folder has no .png/.jpg/.jpeg images");
    for (const std::string& file : files) {
      const FileBytes f = read_file_bytes(class_dir / file);
      const DecodedImage img = decode_image(f);
      if (d.count == 0) {
        d.channels = img.channels;
        d.height = img.height;
        d.width = img.width;
        first_file = f.name;
      } else if (img.channels != d.channels || img.height != d.height || img.width != d.width) {
        DETNN_THROW(format, f.name, ": image is ", img.width, "x", img.height, " with ", img.channels, " channels, but ",
                    first_file, " (the first image) is ", d.width, "x", d.height, " with ", d.channels, " channels");
      }
      d.pixels_u8.insert(d.pixels_u8.end(), img.pixels_chw.begin(), img.pixels_chw.end());
      d.labels.push_back(static_cast<int32_t>(c));
      ++d.count;

      const std::string rel = class_names[c] + "/" + file;
      uint8_t size_le[8];
      for (int k = 0; k < 8; ++k) size_le[k] = static_cast<uint8_t>(static_cast<uint64_t>(f.bytes.size()) >> (8 * k));
      sha.update(rel.data(), rel.size() + 1);  // with its NUL terminator
      sha.update(size_le, 8);
      sha.update(f.bytes.data(), f.bytes.size());
    }
  }
  d.classes = classes > 0 ? classes : static_cast<int32_t>(class_names.size());
  d.fingerprint = sha.finish_hex();
  check_consistent(d);
  return d;
}

}  // namespace detnn::data
