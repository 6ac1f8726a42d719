// From a parsed spec to the datasets and index lists the trainer uses. The checks that need
// the data itself (channels, shapes, class folders) live here and name the spec's JSON path.
#include "data/data_spec.h"
#include "data/readers.h"
#include "data/sampling.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"

namespace detnn::data {
namespace {

Dataset read_source(const DataSpec& spec, const SourceSpec& s) {
  switch (spec.format) {
    case DataFormat::idx: return read_idx(s.images, s.labels, spec.classes);
    case DataFormat::cifar10: return read_cifar10(s.files, spec.classes);
    case DataFormat::npy: return read_npy(s.images, s.labels, spec.classes);
    case DataFormat::image_folder: return read_image_folder(s.dir, spec.classes);
    case DataFormat::synthetic: {
      SyntheticSpec syn;
      syn.count = s.count;
      syn.classes = spec.classes > 0 ? spec.classes : 10;
      syn.channels = s.channels;
      syn.height = s.height;
      syn.width = s.width;
      syn.seed = s.seed;
      return make_synthetic(syn);
    }
  }
  DETNN_THROW(internal, "unknown data format");
}

std::vector<int64_t> all_indices(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

std::string shape_text(const Dataset& d) {
  return std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" + std::to_string(d.width);
}

}  // namespace

LoadedData load_data(const DataSpec& spec) {
  const std::string& at = spec.json_path;
  auto train = std::make_shared<Dataset>(read_source(spec, spec.train));
  const size_t norm = spec.augment.mean.size();
  if (norm != 0 && static_cast<int64_t>(norm) != train->channels)
    DETNN_THROW(invalid_argument, at, ".normalize.mean: ", norm, " values for the ", train->channels, " channels of ",
                train->description, " (one per channel)");
  validate_augment(spec.augment, train->channels);

  LoadedData out;
  std::string text = "detnn-data-v1\ntrain " + train->fingerprint + "\n";
  if (spec.separate_validation) {
    auto validation = std::make_shared<Dataset>(read_source(spec, spec.validation));
    if (validation->channels != train->channels || validation->height != train->height ||
        validation->width != train->width)
      DETNN_THROW(format, at, ".validation: samples are ", shape_text(*validation), " (", validation->description,
                  "), training samples are ", shape_text(*train));
    if (validation->class_names != train->class_names)
      DETNN_THROW(format, at, ".validation: class folders differ from the training set's (", validation->classes,
                  " vs ", train->classes, " classes): labels would not mean the same class");
    // Without data.classes, both sets count the classes either of them has.
    if (spec.classes == 0) train->classes = validation->classes = std::max(train->classes, validation->classes);
    out.train_indices = all_indices(train->count);
    out.validation_indices = all_indices(validation->count);
    text += "validation " + validation->fingerprint + "\n";
    out.validation = std::move(validation);
  } else {
    if (spec.validation_count >= train->count)
      DETNN_THROW(invalid_argument, at, ".validation.count: ", spec.validation_count, " leaves no training samples (",
                  train->description, " has ", train->count, ")");
    SplitIndices split = split_train_validation(*train, spec.validation_count, spec.validation_seed);
    out.train_indices = std::move(split.train);
    out.validation_indices = std::move(split.validation);
    text += "validation split " + std::to_string(spec.validation_count) + " seed " +
            std::to_string(spec.validation_seed) + "\n";
    out.validation = train;
  }
  out.train = std::move(train);
  if (!spec.separate_validation) out.validation = out.train;
  out.fingerprint = sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return out;
}

}  // namespace detnn::data
