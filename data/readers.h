// The dataset readers (docs/data-format.md lists each format, its checks and its fingerprint
// order). `classes` is the model file's data.classes: 0 means "not given" (then classes =
// 1 + the largest label); given, a label >= classes is an error naming file and sample.
// Every reader throws Error(io) when a file cannot be opened or read and Error(format) when its
// content is malformed, with a one-line message naming the file and the byte offset or sample.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/dataset.h"
#include "data/file_bytes.h"

namespace detnn::data {

// IDX (LeCun's MNIST format), plain or gzip: images ubyte 3-D (N, H, W) -> C = 1, labels
// ubyte 1-D. Fingerprint: the images file's decompressed bytes, then the labels file's.
Dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, int32_t classes = 0);

// CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (3 x 32 x 32, CHW).
// Files in the order given; classes defaults to 10. Fingerprint: the files' bytes in order.
Dataset read_cifar10(const std::vector<std::filesystem::path>& files, int32_t classes = 0);

// NPY v1/v2/v3, C order: images |u1 or <f4 shaped (N, C, H, W) or (N, H, W) -> C = 1;
// labels 1-D |u1, <i4 or <i8. Fingerprint: the images file's bytes, then the labels file's.
Dataset read_npy(const std::filesystem::path& images, const std::filesystem::path& labels, int32_t classes = 0);

// One subfolder per class (class = position in the bytewise-sorted subfolder names), the
// .png/.jpg/.jpeg files of each in bytewise-sorted order, decoded with stb_image at their own
// channel count; all images must share size and channel count. Fingerprint: per file, in
// order, "<class>/<file>" NUL, the file's size as 8 little-endian bytes, then its bytes.
Dataset read_image_folder(const std::filesystem::path& dir, int32_t classes = 0);

// The same readers over files already in memory (FileBytes names them in messages): what the
// path-taking readers above call, and what the fuzz targets (fuzz/) drive.
Dataset parse_idx(const FileBytes& images, const FileBytes& labels, int32_t classes = 0);
Dataset parse_cifar10(const std::vector<FileBytes>& files, int32_t classes = 0);
Dataset parse_npy(const FileBytes& images, const FileBytes& labels, int32_t classes = 0);

// One PNG or JPEG decoded as the image-folder reader decodes it, in CHW order.
struct DecodedImage {
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels_chw;
};
DecodedImage decode_image(const FileBytes& file);

// Deterministic 8-bit data from Philox (RandomPurpose::synthetic_data): each class has a
// random blocky template; a sample is uniform noise plus its class's template, so a small
// CNN learns it. Fingerprint: the pixel bytes, then the labels as int32 little-endian.
struct SyntheticSpec {
  int64_t count = 0;
  int32_t classes = 10;
  int64_t channels = 1, height = 28, width = 28;
  uint64_t seed = 0;
};
Dataset make_synthetic(const SyntheticSpec& spec);

}  // namespace detnn::data
