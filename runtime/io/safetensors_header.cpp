#include "runtime/io/safetensors_header.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "runtime/error.h"
#include "runtime/io/safetensors.h"

namespace detnn::safetensors_detail {
namespace {

using nlohmann::json;

constexpr uint64_t kPrefixBytes = 8;
constexpr size_t kMaxNesting = 3;  // header object > tensor entry > shape / data_offsets

// A JSON-quoted, length-limited rendering of a name from the file: names may be huge or
// hold control characters, and an error message must stay readable.
std::string shown_name(const std::string& s) {
  constexpr size_t kMax = 64;
  std::string shown = json(s.size() > kMax ? s.substr(0, kMax) : s)
                          .dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kMax) shown += "...";
  return shown;
}

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

// nlohmann quotes the token it stopped at, which can be huge or not UTF-8: keep messages
// short and ASCII.
std::string printable(const std::string& text) {
  constexpr size_t kMax = 240;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += "\\x" + hex_byte(c).substr(2);
  }
  if (text.size() > kMax) out += "...";
  return out;
}

// What a JSON value is, for "expected X, found Y" messages.
std::string describe(const json& v) {
  if (v.is_number()) return "the number " + v.dump();
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

// Finds duplicate keys (nlohmann keeps one silently), limits nesting and records the
// top-level keys in header order; syntax errors come back with their byte position.
class HeaderScanner : public nlohmann::json_sax<json> {
 public:
  std::vector<std::string> top_level_keys;
  std::string error;  // set whenever a callback returns false

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Level& level = levels_.back();
    if (!level.keys.insert(k).second) {
      if (levels_.size() > 1)
        error = "has a duplicate key " + shown_name(k) + " in " + path(levels_.size() - 1);
      else if (k == "__metadata__")
        error = "has \"__metadata__\" twice";
      else
        error = "has a duplicate tensor name " + shown_name(k);
      return false;
    }
    level.current_key = k;
    if (levels_.size() == 1) top_level_keys.push_back(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error = "is not valid JSON near header byte " + std::to_string(position) + " (file byte " +
            std::to_string(kPrefixBytes + position) + "): " + printable(ex.what());
    return false;
  }

 private:
  struct Level {
    bool is_object;
    std::unordered_set<std::string> keys;
    std::string current_key;
  };

  bool open(bool is_object) {
    if (levels_.size() >= kMaxNesting) {
      error = "nests JSON deeper than the format allows (" + std::to_string(kMaxNesting) +
              " levels) in " + path(levels_.size());
      return false;
    }
    levels_.push_back({is_object, {}, {}});
    return true;
  }
  bool close() {
    levels_.pop_back();
    return true;
  }
  // The keys chosen in the outermost `depth` open objects, e.g. "w"."shape".
  std::string path(size_t depth) const {
    std::string p;
    for (size_t i = 0; i < depth; ++i)
      if (levels_[i].is_object) {
        if (!p.empty()) p += '.';
        p += shown_name(levels_[i].current_key);
      }
    return p.empty() ? "the header" : p;
  }

  std::vector<Level> levels_;
};

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  DETNN_THROW(format, source, ": safetensors ", what);
}

// The spec asks for '{' first and only spaces after the closing brace.
void check_framing(std::span<const uint8_t> header, const std::string& source) {
  if (header.empty()) fail(source, "header is empty (length 0 at byte 0); it must be a JSON object");
  if (header[0] != '{')
    fail(source, "header must be a JSON object starting with '{' (0x7b); byte " +
                     std::to_string(kPrefixBytes) + " is " + hex_byte(header[0]));
}

void check_padding(std::span<const uint8_t> header, const std::string& source) {
  size_t close = header.size();
  while (close > 0 && header[close - 1] != '}') --close;
  for (size_t i = close; i < header.size(); ++i)
    if (header[i] != ' ')
      fail(source, "header padding must be spaces (0x20); byte " + std::to_string(kPrefixBytes + i) +
                       " is " + hex_byte(header[i]));
}

uint64_t non_negative_integer(const json& v, const std::string& where, const std::string& source) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  fail(source, where + " is " + describe(v) + ", expected a non-negative integer");
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object()) fail(source, "\"__metadata__\" is " + describe(value) + ", expected an object of strings");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      fail(source, "\"__metadata__\"." + shown_name(key) + " is " + describe(v) + ", expected a string");
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

DType parse_dtype(const json& v, const std::string& where, const std::string& source) {
  if (!v.is_string()) fail(source, where + " is " + describe(v) + ", expected a dtype name");
  const std::string& name = v.get_ref<const std::string&>();
  if (auto dtype = dtype_from_name(name)) return *dtype;
  fail(source, where + " " + shown_name(name) + " is not supported (supported: F32, F64, I32, I64, U8)");
}

std::vector<int64_t> parse_shape(const json& v, const std::string& where, const std::string& source) {
  if (!v.is_array()) fail(source, where + " is " + describe(v) + ", expected a list of non-negative integers");
  std::vector<int64_t> shape;
  shape.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    std::string item = where + "[" + std::to_string(i) + "]";
    uint64_t d = non_negative_integer(v[i], item, source);
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(source, item + " is " + std::to_string(d) + ", larger than 2^63 - 1");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

HeaderEntry parse_entry(const std::string& name, const json& value, const std::string& source) {
  const std::string where = "tensor " + shown_name(name);
  if (!value.is_object()) fail(source, where + " is " + describe(value) + ", expected an object");
  for (const auto& [key, v] : value.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(source, where + " has an unknown key " + shown_name(key) + " (expected dtype, shape, data_offsets)");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) fail(source, where + " has no \"" + key + "\"");

  HeaderEntry entry{name, parse_dtype(value["dtype"], where + " dtype", source),
                    parse_shape(value["shape"], where + " shape", source), 0, 0};

  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(source, where + " data_offsets is " + describe(offsets) +
                     (offsets.is_array() ? " of " + std::to_string(offsets.size()) + " items" : "") +
                     ", expected [begin, end]");
  entry.begin = non_negative_integer(offsets[0], where + " data_offsets[0]", source);
  entry.end = non_negative_integer(offsets[1], where + " data_offsets[1]", source);
  if (entry.begin > entry.end)
    fail(source, where + " data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                     "] has begin > end");

  uint64_t needed = 0;
  if (!byte_size_of(entry.dtype, entry.shape, &needed))
    fail(source, where + " shape " + shape_text(entry.shape) + " of " + std::string(dtype_name(entry.dtype)) +
                     " needs more than 2^64 bytes");
  if (entry.end - entry.begin != needed)
    fail(source, where + " data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                     "] span " + std::to_string(entry.end - entry.begin) + " bytes but shape " +
                     shape_text(entry.shape) + " of " + std::string(dtype_name(entry.dtype)) + " needs " +
                     std::to_string(needed));
  return entry;
}

// The spec requires the regions, sorted by offset, to cover the buffer with no gap,
// overlap or trailing bytes: every byte of the file belongs to exactly one tensor.
void check_regions_tile_buffer(std::vector<HeaderEntry>& entries, uint64_t buffer_size, uint64_t data_start,
                               const std::string& source) {
  for (const HeaderEntry& e : entries)
    if (e.end > buffer_size)
      fail(source, "tensor " + shown_name(e.name) + " data_offsets [" + std::to_string(e.begin) + ", " +
                       std::to_string(e.end) + "] run past the end of the " + std::to_string(buffer_size) +
                       "-byte data buffer (file bytes " + std::to_string(data_start) + ".." +
                       std::to_string(data_start + buffer_size) + ")");
  std::stable_sort(entries.begin(), entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;  // every byte before this belongs to a tensor already seen
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& e : entries) {
    if (e.begin < covered)
      fail(source, "tensor " + shown_name(e.name) + " at buffer offset " + std::to_string(e.begin) + " (file byte " +
                       std::to_string(data_start + e.begin) + ") overlaps tensor " + shown_name(previous->name) +
                       " which ends at " + std::to_string(covered));
    if (e.begin > covered)
      fail(source, "data buffer has a gap: bytes " + std::to_string(covered) + ".." + std::to_string(e.begin) +
                       " (file bytes " + std::to_string(data_start + covered) + ".." +
                       std::to_string(data_start + e.begin) + ") belong to no tensor, before " +
                       shown_name(e.name));
    covered = e.end;
    previous = &e;
  }
  if (covered != buffer_size)
    fail(source, "data buffer has " + std::to_string(buffer_size - covered) + " trailing bytes after the last tensor (file bytes " +
                     std::to_string(data_start + covered) + ".." + std::to_string(data_start + buffer_size) +
                     " belong to no tensor)");
}

}  // namespace

bool byte_size_of(DType dtype, std::span<const int64_t> shape, uint64_t* bytes) {
  // A zero dimension makes the product zero even when the others would overflow.
  for (int64_t d : shape)
    if (d == 0) {
      *bytes = 0;
      return true;
    }
  uint64_t product = dtype_size(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(product, static_cast<uint64_t>(d), &product)) return false;
  *bytes = product;
  return true;
}

std::string shape_text(std::span<const int64_t> shape) {
  constexpr size_t kShown = 8;
  std::string s = "[";
  for (size_t i = 0; i < shape.size() && i < kShown; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() > kShown) s += ", ... (" + std::to_string(shape.size()) + " dims)";
  return s + "]";
}

uint64_t checked_header_length(const uint8_t prefix[8], uint64_t file_size, const std::string& source) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kSafetensorsMaxHeaderBytes)
    fail(source, "header length " + std::to_string(n) + " (bytes 0..8) is over the " +
                     std::to_string(kSafetensorsMaxHeaderBytes) + "-byte limit; the file is corrupt or not safetensors");
  if (n > file_size - kPrefixBytes)
    fail(source, "header length " + std::to_string(n) + " (bytes 0..8) runs past the end of the " +
                     std::to_string(file_size) + "-byte file");
  return n;
}

Layout parse_header(std::span<const uint8_t> header, uint64_t buffer_size, const std::string& source) {
  check_framing(header, source);
  const char* first = reinterpret_cast<const char*>(header.data());
  const char* last = first + header.size();

  HeaderScanner scanner;
  if (!json::sax_parse(first, last, &scanner)) fail(source, "header " + scanner.error);
  check_padding(header, source);

  json doc;  // duplicate-free now, so nlohmann's map loses nothing
  try {
    doc = json::parse(first, last);
  } catch (const json::exception& e) {  // the scan accepted it, so this is our bug
    DETNN_THROW(internal, source, ": safetensors header passed the scan but not the parser: ", e.what());
  }
  if (!doc.is_object()) fail(source, "header is " + describe(doc) + ", expected a JSON object");

  Layout layout;
  for (const std::string& key : scanner.top_level_keys) {
    const json& value = *doc.find(key);
    if (key == "__metadata__")
      layout.metadata = parse_metadata(value, source);
    else
      layout.entries.push_back(parse_entry(key, value, source));
  }
  check_regions_tile_buffer(layout.entries, buffer_size, kPrefixBytes + header.size(), source);
  return layout;
}

}  // namespace detnn::safetensors_detail
