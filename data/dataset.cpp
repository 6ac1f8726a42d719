#include "data/dataset.h"

#include <algorithm>

#include "runtime/error.h"

namespace detnn::data {

void Dataset::sample_to_float(int64_t i, float* out) const {
  if (i < 0 || i >= count) DETNN_THROW(invalid_argument, "sample_to_float: sample ", i, " is outside [0, ", count, ")");
  const int64_t n = sample_size();
  const size_t first = static_cast<size_t>(i * n);
  if (!pixels_u8.empty()) {
    for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(pixels_u8[first + k]) / 255.0f;
  } else {
    std::copy_n(pixels_f32.begin() + static_cast<std::ptrdiff_t>(first), n, out);
  }
}

void check_and_set_classes(Dataset& dataset, int32_t classes, const std::string& source,
                           int64_t first_label_offset, int64_t label_stride) {
  int32_t largest = -1;
  for (size_t i = 0; i < dataset.labels.size(); ++i) {
    const int32_t label = dataset.labels[i];
    const bool bad = label < 0 || (classes > 0 && label >= classes);
    if (bad) {
      std::string where = "sample " + std::to_string(i);
      if (first_label_offset >= 0)
        where += " (byte " + std::to_string(first_label_offset + static_cast<int64_t>(i) * label_stride) + ")";
      if (label < 0) DETNN_THROW(format, source, ": label of ", where, " is ", label, ", negative");
      DETNN_THROW(format, source, ": label of ", where, " is ", label, ", not below classes = ", classes);
    }
    largest = std::max(largest, label);
  }
  dataset.classes = classes > 0 ? classes : largest + 1;
}

void check_consistent(const Dataset& d) {
  if (d.count <= 0) DETNN_THROW(format, d.description, ": contains no samples");
  if (d.channels <= 0 || d.height <= 0 || d.width <= 0)
    DETNN_THROW(format, d.description, ": impossible sample shape ", d.channels, "x", d.height, "x", d.width);
  const size_t pixels = static_cast<size_t>(d.count * d.sample_size());
  const bool u8 = !d.pixels_u8.empty(), f32 = !d.pixels_f32.empty();
  if (u8 == f32 || (u8 ? d.pixels_u8.size() : d.pixels_f32.size()) != pixels || d.labels.size() != static_cast<size_t>(d.count))
    DETNN_THROW(internal, d.description, ": pixel or label buffer does not match ", d.count, " samples of ",
                d.channels, "x", d.height, "x", d.width);
}

}  // namespace detnn::data
