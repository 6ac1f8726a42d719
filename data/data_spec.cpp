// Parsing and writing the "data" section. Every rule here has its line in docs/data-format.md;
// messages start with the JSON path so a user can find the field without reading code.
#include "data/data_spec.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace detnn::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFormatNames[] = {"idx", "cifar10", "npy", "image_folder", "synthetic"};

[[noreturn]] void wrong_type(const std::string& path, const char* expected, const json& got) {
  DETNN_THROW(format, path, ": expected ", expected, ", got ", got.dump());
}
[[noreturn]] void bad_value(const std::string& path, const char* expected, const json& got) {
  DETNN_THROW(invalid_argument, path, ": expected ", expected, ", got ", got.dump());
}

// An object whose keys must all be known; get() returns nullptr for an absent or null key.
class Object {
 public:
  Object(const json& j, std::string path, std::initializer_list<const char*> keys) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) wrong_type(path_, "an object", j);
    std::string known;
    for (const char* k : keys) known += std::string(known.empty() ? "" : ", ") + k;
    for (const auto& item : j.items()) {
      bool found = false;
      for (const char* k : keys) found = found || item.key() == k;
      if (!found) DETNN_THROW(format, path_, ".", item.key(), ": unknown key (expected one of ", known, ")");
    }
  }
  const json* get(const char* key) const {
    const auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  const json& require(const char* key) const {
    const json* v = get(key);
    if (!v) DETNN_THROW(format, path(key), ": missing (required)");
    return *v;
  }
  std::string path(const char* key) const { return path_ + "." + key; }

 private:
  const json& j_;
  std::string path_;
};

int64_t get_int(const json& v, const std::string& path, int64_t lo, int64_t hi, const char* expected) {
  if (!v.is_number_integer()) wrong_type(path, expected, v);
  // nlohmann stores every non-negative literal as unsigned: compare before converting.
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) bad_value(path, expected, v);
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad_value(path, expected, v);
  return x;
}

uint64_t get_seed(const json& v, const std::string& path) {
  if (!v.is_number_integer()) wrong_type(path, "a non-negative integer seed", v);
  if (!v.is_number_unsigned() && v.get<int64_t>() < 0) bad_value(path, "a non-negative integer seed", v);
  return v.get<uint64_t>();
}

std::string get_string(const json& v, const std::string& path, const char* expected) {
  if (!v.is_string()) wrong_type(path, expected, v);
  if (v.get<std::string>().empty()) bad_value(path, expected, v);
  return v.get<std::string>();
}

fs::path get_path(const json& v, const std::string& path, const fs::path& base_dir) {
  const fs::path p = get_string(v, path, "a file or folder path");
  return (p.is_absolute() ? p : base_dir / p).lexically_normal();
}

std::vector<float> get_floats(const json& v, const std::string& path, bool positive) {
  if (!v.is_array()) wrong_type(path, "an array of numbers, one per channel", v);
  std::vector<float> out;
  for (size_t k = 0; k < v.size(); ++k) {
    const std::string p = path + "[" + std::to_string(k) + "]";
    const char* expected = positive ? "a positive number" : "a finite number";
    if (!v[k].is_number()) wrong_type(p, expected, v[k]);
    const float x = static_cast<float>(v[k].get<double>());
    if (!std::isfinite(x) || (positive && !(x > 0.0f))) bad_value(p, expected, v[k]);
    out.push_back(x);
  }
  return out;
}

SourceSpec parse_source(const json& j, const std::string& path, DataFormat format, const fs::path& base_dir) {
  SourceSpec s;
  switch (format) {
    case DataFormat::idx:
    case DataFormat::npy: {
      Object o(j, path, {"images", "labels"});
      s.images = get_path(o.require("images"), o.path("images"), base_dir);
      s.labels = get_path(o.require("labels"), o.path("labels"), base_dir);
      break;
    }
    case DataFormat::cifar10: {
      Object o(j, path, {"files"});
      const json& files = o.require("files");
      if (!files.is_array()) wrong_type(o.path("files"), "an array of file paths", files);
      if (files.empty()) bad_value(o.path("files"), "at least one file", files);
      for (size_t k = 0; k < files.size(); ++k)
        s.files.push_back(get_path(files[k], o.path("files") + "[" + std::to_string(k) + "]", base_dir));
      break;
    }
    case DataFormat::image_folder: {
      Object o(j, path, {"dir"});
      s.dir = get_path(o.require("dir"), o.path("dir"), base_dir);
      break;
    }
    case DataFormat::synthetic: {
      Object o(j, path, {"count", "seed", "shape"});
      s.count = get_int(o.require("count"), o.path("count"), 1, int64_t{1} << 31, "a positive sample count");
      if (const json* v = o.get("seed")) s.seed = get_seed(*v, o.path("seed"));
      if (const json* v = o.get("shape")) {
        if (!v->is_array() || v->size() != 3) wrong_type(o.path("shape"), "[channels, height, width]", *v);
        int64_t* dims[3] = {&s.channels, &s.height, &s.width};
        for (int k = 0; k < 3; ++k)
          *dims[k] = get_int((*v)[k], o.path("shape") + "[" + std::to_string(k) + "]", 1, 4096, "an integer in [1, 4096]");
      }
      break;
    }
  }
  return s;
}

json source_to_json(const SourceSpec& s, DataFormat format) {
  switch (format) {
    case DataFormat::idx:
    case DataFormat::npy: return {{"images", s.images.string()}, {"labels", s.labels.string()}};
    case DataFormat::cifar10: {
      json files = json::array();
      for (const fs::path& f : s.files) files.push_back(f.string());
      return {{"files", files}};
    }
    case DataFormat::image_folder: return {{"dir", s.dir.string()}};
    case DataFormat::synthetic:
      return {{"count", s.count}, {"seed", s.seed}, {"shape", {s.channels, s.height, s.width}}};
  }
  return {};
}

}  // namespace

const char* data_format_name(DataFormat format) { return kFormatNames[static_cast<int>(format)]; }

DataSpec parse_data_spec(const json& j, const std::string& json_path, const fs::path& base_dir) {
  Object o(j, json_path,
           {"format", "train", "validation", "classes", "normalize", "augment", "prefetch_threads", "prefetch_depth"});
  DataSpec spec;
  spec.json_path = json_path;

  const json& format = o.require("format");
  const std::string name = format.is_string() ? format.get<std::string>() : "";
  bool known = false;
  for (int k = 0; k < 5; ++k)
    if (name == kFormatNames[k]) {
      spec.format = static_cast<DataFormat>(k);
      known = true;
    }
  if (!known) wrong_type(o.path("format"), "one of \"idx\", \"cifar10\", \"npy\", \"image_folder\", \"synthetic\"", format);

  spec.train = parse_source(o.require("train"), o.path("train"), spec.format, base_dir);

  if (const json* v = o.get("validation")) {
    // {"count": n, "seed": s} splits train; any other object is a separate set like train.
    if (v->is_object() && v->contains("count")) {
      Object split(*v, o.path("validation"), {"count", "seed"});
      spec.validation_count = get_int(split.require("count"), split.path("count"), 0, int64_t{1} << 40,
                                      "a non-negative sample count");
      if (const json* s = split.get("seed")) spec.validation_seed = get_seed(*s, split.path("seed"));
    } else {
      spec.separate_validation = true;
      spec.validation = parse_source(*v, o.path("validation"), spec.format, base_dir);
    }
  }

  if (const json* v = o.get("classes"))
    spec.classes = static_cast<int32_t>(get_int(*v, o.path("classes"), 1, INT32_MAX, "a positive integer"));

  if (const json* v = o.get("normalize")) {
    Object n(*v, o.path("normalize"), {"mean", "std"});
    spec.augment.mean = get_floats(n.require("mean"), n.path("mean"), false);
    spec.augment.std = get_floats(n.require("std"), n.path("std"), true);
    if (spec.augment.mean.size() != spec.augment.std.size())
      DETNN_THROW(invalid_argument, n.path("std"), ": expected ", spec.augment.mean.size(),
                  " values (as many as mean), got ", spec.augment.std.size());
  }

  if (const json* v = o.get("augment")) {
    Object a(*v, o.path("augment"), {"random_crop_padding", "horizontal_flip"});
    if (const json* p = a.get("random_crop_padding"))
      spec.augment.crop_padding = get_int(*p, a.path("random_crop_padding"), 0, 65535, "an integer in [0, 65535]");
    if (const json* f = a.get("horizontal_flip")) {
      if (!f->is_boolean()) wrong_type(a.path("horizontal_flip"), "true or false", *f);
      spec.augment.horizontal_flip = f->get<bool>();
    }
  }

  if (const json* v = o.get("prefetch_threads"))
    spec.prefetch_threads = static_cast<int>(get_int(*v, o.path("prefetch_threads"), 1, 256, "an integer in [1, 256]"));
  if (const json* v = o.get("prefetch_depth"))
    spec.prefetch_depth = static_cast<int>(get_int(*v, o.path("prefetch_depth"), 1, 1024, "an integer in [1, 1024]"));
  return spec;
}

json to_json(const DataSpec& spec) {
  json j;
  j["format"] = data_format_name(spec.format);
  j["train"] = source_to_json(spec.train, spec.format);
  j["validation"] = spec.separate_validation ? source_to_json(spec.validation, spec.format)
                                             : json{{"count", spec.validation_count}, {"seed", spec.validation_seed}};
  j["classes"] = spec.classes > 0 ? json(spec.classes) : json(nullptr);
  j["normalize"] = {{"mean", spec.augment.mean}, {"std", spec.augment.std}};
  j["augment"] = {{"random_crop_padding", spec.augment.crop_padding}, {"horizontal_flip", spec.augment.horizontal_flip}};
  j["prefetch_threads"] = spec.prefetch_threads;
  j["prefetch_depth"] = spec.prefetch_depth;
  return j;
}

}  // namespace detnn::data
