#include "model_paths.h"

#include <charconv>

#include "sweep_config.h"

namespace trainer::sweep {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<PathStep> parse_model_path(const std::string& path) {
  std::vector<PathStep> steps;
  size_t i = 0;
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("\"" + shown_text(path, 120) + "\" is no model-file path (" + what + " at character " +
                                std::to_string(i + 1) + "; write e.g. optimizer.lr or layers[0].out_channels)");
  };
  if (path.empty()) fail("empty");
  while (i < path.size()) {
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) fail("an unclosed [");
      int64_t index = -1;
      const char* first = path.data() + i + 1;
      const char* last = path.data() + close;
      const auto [end, ec] = std::from_chars(first, last, index);
      if (first == last || ec != std::errc() || end != last || index < 0) fail("an index that is no non-negative integer");
      if (steps.empty()) fail("an index before any key");
      steps.push_back({"", index});
      i = close + 1;
      if (i < path.size() && path[i] != '.' && path[i] != '[') fail("no '.' after ]");
      if (i < path.size() && path[i] == '.') ++i;
      if (i == path.size() && path.back() == '.') fail("a trailing '.'");
      continue;
    }
    size_t end = i;
    while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
    if (end == i) fail("an empty key");
    steps.push_back({path.substr(i, end - i), -1});
    i = end;
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) fail("a trailing '.'");
    }
  }
  return steps;
}

void set_model_value(json& model, const std::string& path, const json& value) {
  const std::vector<PathStep> steps = parse_model_path(path);
  json* at = &model;
  std::string walked;
  for (size_t k = 0; k < steps.size(); ++k) {
    const PathStep& s = steps[k];
    if (s.index < 0) {
      if (at->is_null()) *at = json::object();
      if (!at->is_object())
        throw std::invalid_argument(path + ": the model file's \"" + walked + "\" is a " + at->type_name() +
                                    ", not an object with key \"" + s.key + "\"");
      walked += (walked.empty() ? "" : ".") + s.key;
      at = &(*at)[s.key];
    } else {
      if (!at->is_array())
        throw std::invalid_argument(path + ": the model file's \"" + walked + "\" is " +
                                    (at->is_null() ? std::string("missing") : std::string("a ") + at->type_name()) +
                                    ", not an array");
      if (static_cast<size_t>(s.index) >= at->size())
        throw std::invalid_argument(path + ": the model file's \"" + walked + "\" has " + std::to_string(at->size()) +
                                    " entries, no [" + std::to_string(s.index) + "]");
      walked += "[" + std::to_string(s.index) + "]";
      at = &(*at)[static_cast<size_t>(s.index)];
    }
  }
  *at = value;
}

namespace {

void absolute_at(json& object, const char* key, const fs::path& base_dir) {
  if (!object.is_object() || !object.contains(key)) return;
  json& v = object[key];
  const auto fix = [&](json& s) {
    if (s.is_string() && !s.get<std::string>().empty() && fs::path(s.get<std::string>()).is_relative())
      s = (base_dir / s.get<std::string>()).lexically_normal().string();
  };
  if (v.is_array())
    for (json& e : v) fix(e);
  else
    fix(v);
}

}  // namespace

void make_paths_absolute(json& model, const fs::path& base_dir) {
  if (!model.is_object()) return;
  absolute_at(model, "init_weights", base_dir);
  if (!model.contains("data") || !model["data"].is_object()) return;
  for (const char* source : {"train", "validation"}) {
    json& d = model["data"];
    if (!d.contains(source)) continue;
    for (const char* key : {"images", "labels", "files", "dir"}) absolute_at(d[source], key, base_dir);
  }
}

}  // namespace trainer::sweep
