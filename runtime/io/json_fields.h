// Reading JSON documents (model files, data specs, run configs) with errors that name the
// JSON path and what was expected: `layers[4].kernel: expected a positive integer, got -3`.
//
// JsonObject wraps one object at a path and remembers which keys were read; finish() rejects
// every key nobody asked for, so a misspelt option is an error rather than silently ignored. It
// also records the value each typed getter returned, defaults included: resolved() is the object
// as the reader understood it, every default written out (what a run's config.json records).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace detnn {

// "layers[4].kernel"-style paths.
std::string json_child_path(std::string_view parent, std::string_view key);
std::string json_index_path(std::string_view parent, size_t index);

// The deepest nesting a document read from a user's file may have: far beyond any model file,
// and shallow enough that no recursive walk of the value (printing one in an error message, or
// destroying it) can exhaust the stack.
inline constexpr int kMaxJsonDepth = 256;

// A parser callback (nlohmann::json::parse) that refuses documents nested deeper than
// kMaxJsonDepth ("<source>: nested deeper than 256 levels") and objects with a key twice
// ("<source>: the key "lr" appears twice in one object"). One callback per parse.
nlohmann::json::parser_callback_t json_depth_limit(const std::string& source);

// A short rendering of a value for error messages (strings quoted, long values cut).
std::string json_excerpt(const nlohmann::json& value);

// Throws Error(format) "<path>: expected <what>, got <excerpt>".
[[noreturn]] void throw_json_type_error(std::string_view path, std::string_view expected,
                                        const nlohmann::json& got);

class JsonObject {
 public:
  // Throws unless `value` is an object.
  JsonObject(const nlohmann::json& value, std::string path);

  const std::string& path() const { return path_; }
  const nlohmann::json& raw() const { return value_; }
  bool has(std::string_view key) const;
  std::string child_path(std::string_view key) const { return json_child_path(path_, key); }

  // The value under `key`; marks it read. Throws when missing ("<path>.<key>: required").
  const nlohmann::json& required(std::string_view key);
  // nullptr when missing; marks it read when present.
  const nlohmann::json* optional(std::string_view key);

  // Typed getters. The `_or` forms return the default when the key is missing.
  std::string string(std::string_view key);
  std::string string_or(std::string_view key, std::string_view fallback);
  // One of `choices`, else "expected one of a | b | c".
  std::string choice(std::string_view key, const std::vector<std::string>& choices);
  std::string choice_or(std::string_view key, const std::vector<std::string>& choices,
                        std::string_view fallback);
  bool boolean_or(std::string_view key, bool fallback);
  int64_t integer(std::string_view key, int64_t min_value = INT64_MIN);
  int64_t integer_or(std::string_view key, int64_t fallback, int64_t min_value = INT64_MIN);
  // A finite number (integers accepted) within [min_value, max_value].
  double number(std::string_view key, double min_value = -1e308, double max_value = 1e308);
  double number_or(std::string_view key, double fallback, double min_value = -1e308,
                   double max_value = 1e308);
  JsonObject object(std::string_view key);
  // Either one integer (both entries) or a two-element array [h, w]; each >= min_value.
  std::pair<int64_t, int64_t> integer_pair_or(std::string_view key, int64_t fallback,
                                              int64_t min_value);

  // Throws on the first key that was never read: "<path>.<key>: unknown key (known: a, b, c)".
  void finish() const;

  // Every key read, with the value used (the default when it was absent); set_resolved records a
  // value the caller resolved itself (a nested list of layers, a default it chose).
  const nlohmann::json& resolved() const { return resolved_; }
  void set_resolved(std::string_view key, nlohmann::json value) { resolved_[std::string(key)] = std::move(value); }

 private:
  const nlohmann::json& value_;
  std::string path_;
  mutable std::vector<std::string> read_;   // present keys that were read
  mutable std::vector<std::string> asked_;  // every key asked for, present or not (for messages)
  nlohmann::json resolved_ = nlohmann::json::object();
};

// Element checks for arrays and bare values, with the same wording.
int64_t json_integer(const nlohmann::json& v, std::string_view path, int64_t min_value = INT64_MIN);
double json_number(const nlohmann::json& v, std::string_view path, double min_value = -1e308,
                   double max_value = 1e308);
const nlohmann::json& json_array(const nlohmann::json& v, std::string_view path);

}  // namespace detnn
