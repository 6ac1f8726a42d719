// NPY (numpy.save): "\x93NUMPY", major and minor version, the header length (uint16 for v1,
// uint32 for v2/v3, little-endian), then a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (10, 1, 28, 28), }
// and the data. Only what numpy.save writes for plain arrays is accepted; anything else is an
// error that says what the file has, rather than a guess.
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>

#include "data/file_bytes.h"
#include "data/readers.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"

namespace detnn::data {
namespace {

struct NpyArray {
  std::string descr;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};

// A cursor over the header dict, with errors that point at the byte where parsing stopped.
class HeaderParser {
 public:
  HeaderParser(const FileBytes& f, int64_t begin, int64_t end) : f_(f), at_(begin), end_(end) {}

  NpyArray parse() {
    NpyArray a;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (skip_space() != '}') {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        a.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        const bool fortran = word() == "True";
        if (fortran) fail("'fortran_order' is True: only C-order arrays are supported (use numpy.ascontiguousarray)");
        have_order = true;
      } else if (key == "shape") {
        a.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + cut_for_message(key, 60) + "' in the NPY header");
      }
      if (skip_space() == ',') ++at_;
    }
    if (!have_descr || !have_order || !have_shape) fail("the NPY header lacks 'descr', 'fortran_order' or 'shape'");
    return a;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    DETNN_THROW(format, f_.name, ": bad NPY header at byte ", at_, ": ", what);
  }
  char skip_space() {
    while (at_ < end_ && std::isspace(f_.bytes[at_])) ++at_;
    if (at_ >= end_) fail("the header dict ends early");
    return static_cast<char>(f_.bytes[at_]);
  }
  void expect(char c) {
    if (skip_space() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string string_literal() {
    const char quote = skip_space();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    std::string s;
    for (++at_; at_ < end_ && f_.bytes[at_] != static_cast<uint8_t>(quote); ++at_) s += static_cast<char>(f_.bytes[at_]);
    if (at_ >= end_) fail("unterminated string");
    ++at_;
    return s;
  }
  std::string word() {
    skip_space();
    std::string s;
    while (at_ < end_ && std::isalpha(f_.bytes[at_])) s += static_cast<char>(f_.bytes[at_++]);
    if (s != "True" && s != "False") fail("expected True or False");
    return s;
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (skip_space() != ')') {
      if (!std::isdigit(f_.bytes[at_])) fail("expected a dimension size");
      int64_t v = 0;
      while (at_ < end_ && std::isdigit(f_.bytes[at_])) {
        const int digit = f_.bytes[at_] - '0';
        if (v > (INT64_MAX - digit) / 10) fail("a dimension size exceeds 2^63 - 1");
        v = v * 10 + digit;
        ++at_;
      }
      dims.push_back(v);
      if (skip_space() == ',') ++at_;
    }
    ++at_;
    return dims;
  }

  const FileBytes& f_;
  int64_t at_, end_;
};

NpyArray parse_npy_header(const FileBytes& f) {
  const std::vector<uint8_t>& b = f.bytes;
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (b.size() < 10) DETNN_THROW(format, f.name, ": truncated at byte ", b.size(), f.offset_note(), ": an NPY file starts with a 10-byte preamble");
  if (std::memcmp(b.data(), kMagic, 6) != 0)
    DETNN_THROW(format, f.name, ": bad magic at byte 0: expected \\x93NUMPY, got ", to_hex(std::span<const uint8_t>(b.data(), 6)));
  const int major = b[6];
  if (major < 1 || major > 3)
    DETNN_THROW(format, f.name, ": unsupported NPY version ", major, ".", int{b[7]}, " at byte 6 (expected 1, 2 or 3)");
  const int64_t length_bytes = major == 1 ? 2 : 4;
  if (static_cast<int64_t>(b.size()) < 8 + length_bytes)
    DETNN_THROW(format, f.name, ": truncated at byte ", b.size(), f.offset_note(), ": the NPY header length is cut off");
  const int64_t begin = 8 + length_bytes;
  const int64_t end = begin + static_cast<int64_t>(load_le(b.data() + 8, static_cast<int>(length_bytes)));
  if (static_cast<int64_t>(b.size()) < end)
    DETNN_THROW(format, f.name, ": truncated at byte ", b.size(), f.offset_note(), ": the NPY header runs to byte ", end);
  NpyArray a = HeaderParser(f, begin, end).parse();
  a.data_offset = end;
  return a;
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n = saturating_mul(n, d);
  return n;
}

void check_length(const FileBytes& f, const NpyArray& a, int64_t item_bytes) {
  const int64_t have = static_cast<int64_t>(f.bytes.size()) - a.data_offset;
  const int64_t need = saturating_mul(element_count(a.shape), item_bytes);
  if (have < need)
    DETNN_THROW(format, f.name, ": truncated at byte ", f.bytes.size(), f.offset_note(), ": the shape needs ", need,
                " data bytes after the ", a.data_offset, "-byte header, the file has ", have);
  if (have > need)
    DETNN_THROW(format, f.name, ": ", have - need, " unexpected bytes after the end of the data at byte ",
                a.data_offset + need, f.offset_note());
}

}  // namespace

Dataset read_npy(const std::filesystem::path& images, const std::filesystem::path& labels, int32_t classes) {
  return parse_npy(read_file_bytes(images), read_file_bytes(labels), classes);
}

Dataset parse_npy(const FileBytes& img, const FileBytes& lab, int32_t classes) {
  const NpyArray ia = parse_npy_header(img);
  const bool u8 = ia.descr == "|u1" || ia.descr == "<u1" || ia.descr == "u1";
  if (!u8 && ia.descr != "<f4")
    DETNN_THROW(format, img.name, ": images have dtype '", cut_for_message(ia.descr, 60), "', expected '|u1' (uint8) or '<f4' (float32 little-endian)");
  if (ia.shape.size() != 3 && ia.shape.size() != 4)
    DETNN_THROW(format, img.name, ": wrong dimensions: images need shape (N, C, H, W) or (N, H, W), the file has ",
                ia.shape.size(), " dimensions");
  check_length(img, ia, u8 ? 1 : 4);

  const NpyArray la = parse_npy_header(lab);
  static const std::map<std::string, int> kLabelBytes = {{"|u1", 1}, {"<u1", 1}, {"u1", 1}, {"<i4", 4}, {"<i8", 8}};
  const auto it = kLabelBytes.find(la.descr);
  if (it == kLabelBytes.end())
    DETNN_THROW(format, lab.name, ": labels have dtype '", cut_for_message(la.descr, 60), "', expected '|u1', '<i4' or '<i8'");
  const int label_bytes = it->second;
  if (la.shape.size() != 1)
    DETNN_THROW(format, lab.name, ": wrong dimensions: labels need shape (N,), the file has ", la.shape.size(), " dimensions");
  if (la.shape[0] != ia.shape[0])
    DETNN_THROW(format, lab.name, ": count mismatch: ", la.shape[0], " labels for the ", ia.shape[0], " images of ", img.name);
  check_length(lab, la, label_bytes);

  Dataset d;
  d.description = "npy: " + std::filesystem::path(img.name).filename().string() + " + " +
                  std::filesystem::path(lab.name).filename().string();
  d.count = ia.shape[0];
  d.channels = ia.shape.size() == 4 ? ia.shape[1] : 1;
  d.height = ia.shape[ia.shape.size() - 2];
  d.width = ia.shape[ia.shape.size() - 1];
  const uint8_t* data = img.bytes.data() + ia.data_offset;
  const int64_t elements = element_count(ia.shape);
  if (u8) {
    d.pixels_u8.assign(data, data + elements);
  } else {
    d.pixels_f32.resize(static_cast<size_t>(elements));
    for (int64_t k = 0; k < elements; ++k) {
      const uint32_t bits = static_cast<uint32_t>(load_le(data + 4 * k, 4));
      std::memcpy(&d.pixels_f32[k], &bits, 4);
      // A NaN or infinity would poison every loss it touches; say where it is instead.
      if (!std::isfinite(d.pixels_f32[k]))
        DETNN_THROW(format, img.name, ": sample ", k / (d.channels * d.height * d.width), " has a non-finite value at byte ",
                    ia.data_offset + 4 * k);
    }
  }
  const uint8_t* lp = lab.bytes.data() + la.data_offset;
  d.labels.resize(static_cast<size_t>(d.count));
  for (int64_t i = 0; i < d.count; ++i) {
    const uint64_t raw = load_le(lp + label_bytes * i, label_bytes);
    // Sign-extend the signed types; anything outside int32 is reported as it is in the file.
    int64_t v = label_bytes == 1 ? static_cast<int64_t>(raw)
                : label_bytes == 4 ? static_cast<int64_t>(static_cast<int32_t>(raw)) : static_cast<int64_t>(raw);
    if (v > INT32_MAX || v < INT32_MIN)
      DETNN_THROW(format, lab.name, ": label of sample ", i, " (byte ", la.data_offset + label_bytes * i, ") is ", v,
                  ", outside the int32 range");
    d.labels[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  check_and_set_classes(d, classes, lab.name, la.data_offset, label_bytes);
  Sha256 sha;
  sha.update(img.bytes.data(), img.bytes.size());
  sha.update(lab.bytes.data(), lab.bytes.size());
  d.fingerprint = sha.finish_hex();
  check_consistent(d);
  return d;
}

}  // namespace detnn::data
