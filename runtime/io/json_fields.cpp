#include "runtime/io/json_fields.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "runtime/error.h"

namespace detnn {

std::string json_child_path(std::string_view parent, std::string_view key) {
  // Paths are for messages: a hostile 50 MB key must not be echoed whole.
  const std::string shown = cut_for_message(std::string(key), 100);
  if (parent.empty()) return shown;
  return std::string(parent) + "." + shown;
}

std::string json_index_path(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

nlohmann::json::parser_callback_t json_depth_limit(const std::string& source) {
  // The keys of every object being read, innermost last: a key met twice in one object is an
  // error (nlohmann would keep the last silently).
  auto open_objects = std::make_shared<std::vector<std::set<std::string>>>();
  return [source, open_objects](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxJsonDepth) DETNN_THROW(format, source, ": nested deeper than ", kMaxJsonDepth, " levels");
    if (event == Event::object_start) open_objects->emplace_back();
    if (event == Event::object_end && !open_objects->empty()) open_objects->pop_back();
    if (event == Event::key && !open_objects->empty() && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects->back().insert(key).second)
        DETNN_THROW(format, source, ": the key \"", cut_for_message(key, 60), "\" appears twice in one object");
    }
    return true;
  };
}

std::string json_excerpt(const nlohmann::json& value) {
  std::string s = value.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  const char* kind = value.is_string()   ? "a string "
                     : value.is_boolean() ? "a boolean "
                     : value.is_array()   ? "an array "
                     : value.is_object()  ? "an object "
                     : value.is_null()    ? ""
                                          : "";
  return std::string(kind) + s;
}

void throw_json_type_error(std::string_view path, std::string_view expected,
                           const nlohmann::json& got) {
  DETNN_THROW(format, path, ": expected ", expected, ", got ", json_excerpt(got));
}

JsonObject::JsonObject(const nlohmann::json& value, std::string path)
    : value_(value), path_(std::move(path)) {
  if (!value_.is_object()) throw_json_type_error(path_.empty() ? "(document)" : path_, "an object", value_);
}

bool JsonObject::has(std::string_view key) const {
  if (std::find(asked_.begin(), asked_.end(), key) == asked_.end()) asked_.emplace_back(key);
  return value_.contains(std::string(key));
}

const nlohmann::json* JsonObject::optional(std::string_view key) {
  if (!has(key)) return nullptr;
  auto it = value_.find(std::string(key));
  read_.emplace_back(key);
  resolved_[std::string(key)] = *it;  // as written, until a typed getter records what it made of it
  return &*it;
}

const nlohmann::json& JsonObject::required(std::string_view key) {
  const nlohmann::json* v = optional(key);
  if (v == nullptr) DETNN_THROW(format, child_path(key), ": required but missing");
  return *v;
}

std::string JsonObject::string(std::string_view key) {
  const nlohmann::json& v = required(key);
  if (!v.is_string()) throw_json_type_error(child_path(key), "a string", v);
  return v.get<std::string>();
}

std::string JsonObject::string_or(std::string_view key, std::string_view fallback) {
  if (has(key)) return string(key);
  set_resolved(key, std::string(fallback));
  return std::string(fallback);
}

namespace {
std::string join_choices(const std::vector<std::string>& choices) {
  std::string s;
  for (const std::string& c : choices) s += (s.empty() ? "" : " | ") + c;
  return s;
}
}  // namespace

std::string JsonObject::choice(std::string_view key, const std::vector<std::string>& choices) {
  const nlohmann::json& v = required(key);
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  }
  throw_json_type_error(child_path(key), "one of " + join_choices(choices), v);
}

std::string JsonObject::choice_or(std::string_view key, const std::vector<std::string>& choices,
                                  std::string_view fallback) {
  if (has(key)) return choice(key, choices);
  set_resolved(key, std::string(fallback));
  return std::string(fallback);
}

bool JsonObject::boolean_or(std::string_view key, bool fallback) {
  const nlohmann::json* v = optional(key);
  if (v == nullptr) {
    set_resolved(key, fallback);
    return fallback;
  }
  if (!v->is_boolean()) throw_json_type_error(child_path(key), "true or false", *v);
  return v->get<bool>();
}

int64_t json_integer(const nlohmann::json& v, std::string_view path, int64_t min_value) {
  const char* what = min_value == 1 ? "a positive integer"
                     : min_value == 0 ? "a non-negative integer"
                                      : "an integer";
  bool ok = v.is_number_integer();
  if (!ok && v.is_number_float()) {  // 3.0 is fine, 3.5 is not
    const double d = v.get<double>();
    ok = std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15;
  }
  if (!ok) throw_json_type_error(path, what, v);
  const int64_t i = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw_json_type_error(path, what, v);
  if (i < min_value) {
    if (min_value == 1 || min_value == 0) throw_json_type_error(path, what, v);
    throw_json_type_error(path, "an integer >= " + std::to_string(min_value), v);
  }
  return i;
}

double json_number(const nlohmann::json& v, std::string_view path, double min_value,
                   double max_value) {
  if (!v.is_number()) throw_json_type_error(path, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min_value || d > max_value) {
    std::string range = "a number";
    if (min_value > -1e308 && max_value < 1e308)
      range += " in [" + nlohmann::json(min_value).dump() + ", " + nlohmann::json(max_value).dump() + "]";
    else if (min_value > -1e308)
      range += " >= " + nlohmann::json(min_value).dump();
    else if (max_value < 1e308)
      range += " <= " + nlohmann::json(max_value).dump();
    throw_json_type_error(path, range, v);
  }
  return d;
}

const nlohmann::json& json_array(const nlohmann::json& v, std::string_view path) {
  if (!v.is_array()) throw_json_type_error(path, "an array", v);
  return v;
}

int64_t JsonObject::integer(std::string_view key, int64_t min_value) {
  const int64_t i = json_integer(required(key), child_path(key), min_value);
  set_resolved(key, i);  // 3.0 is read as 3
  return i;
}

int64_t JsonObject::integer_or(std::string_view key, int64_t fallback, int64_t min_value) {
  if (has(key)) return integer(key, min_value);
  set_resolved(key, fallback);
  return fallback;
}

double JsonObject::number(std::string_view key, double min_value, double max_value) {
  return json_number(required(key), child_path(key), min_value, max_value);
}

double JsonObject::number_or(std::string_view key, double fallback, double min_value,
                             double max_value) {
  if (has(key)) return number(key, min_value, max_value);
  set_resolved(key, fallback);
  return fallback;
}

JsonObject JsonObject::object(std::string_view key) {
  return JsonObject(required(key), child_path(key));
}

std::pair<int64_t, int64_t> JsonObject::integer_pair_or(std::string_view key, int64_t fallback,
                                                        int64_t min_value) {
  const nlohmann::json* v = optional(key);
  if (v == nullptr) {
    set_resolved(key, fallback);
    return {fallback, fallback};
  }
  const std::string path = child_path(key);
  if (v->is_array()) {
    if (v->size() != 2) throw_json_type_error(path, "an integer or a pair [height, width]", *v);
    return {json_integer((*v)[0], json_index_path(path, 0), min_value),
            json_integer((*v)[1], json_index_path(path, 1), min_value)};
  }
  const int64_t i = json_integer(*v, path, min_value);
  return {i, i};
}

void JsonObject::finish() const {
  for (auto it = value_.begin(); it != value_.end(); ++it) {
    if (std::find(read_.begin(), read_.end(), it.key()) != read_.end()) continue;
    std::string known;
    for (const std::string& k : asked_) known += (known.empty() ? "" : ", ") + k;
    DETNN_THROW(format, json_child_path(path_, it.key()), ": unknown key",
                known.empty() ? std::string() : " (this object takes: " + known + ")");
  }
}

}  // namespace detnn
