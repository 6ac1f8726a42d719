// The in-memory dataset every reader produces (docs/data-format.md). Samples are NCHW; pixels
// stay in the source's own type (8-bit or float32) so the fingerprint and the float values
// are fixed by the file, and the conversion to float happens once, in one place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace detnn::data {

struct Dataset {
  std::string description;  // e.g. "idx: images-idx3-ubyte.gz + labels-idx1-ubyte.gz"
  int64_t count = 0, channels = 0, height = 0, width = 0;
  int32_t classes = 0;                   // 1 + max label, or as given
  std::vector<uint8_t> pixels_u8;        // N*C*H*W when the source is 8-bit (float = u / 255.0f)
  std::vector<float> pixels_f32;         // N*C*H*W when the source is float32 (exactly one is non-empty)
  std::vector<int32_t> labels;           // N
  std::vector<std::string> class_names;  // image folders only: the class subfolder names, in label order
  std::string fingerprint;               // hex SHA-256 of every byte read, in the documented order

  int64_t sample_size() const { return channels * height * width; }
  // Writes sample_size() floats: u8 / 255.0f (IEEE division, so exact everywhere) or the f32 values.
  void sample_to_float(int64_t i, float* out) const;
};

// Checks every label against [0, classes) -- or, with classes == 0 ("not given"), only against
// negatives -- and sets dataset.classes (given, or 1 + the largest label). `source` names the
// label file in the message, `first_label_offset`/`label_stride` give each label's byte offset
// in it (a negative offset leaves the offset out). Error(format) naming sample and offset.
void check_and_set_classes(Dataset& dataset, int32_t classes, const std::string& source,
                           int64_t first_label_offset, int64_t label_stride);

// Error(format) unless the dataset has samples and a positive shape; Error(internal) when a
// reader filled buffers that disagree with the shape.
void check_consistent(const Dataset& dataset);

}  // namespace detnn::data
