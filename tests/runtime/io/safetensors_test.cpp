#include "runtime/io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/io/sha256.h"

namespace detnn {
namespace {

namespace fs = std::filesystem;

template <typename T>
std::vector<uint8_t> raw_bytes(const std::vector<T>& values) {
  std::vector<uint8_t> b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

// A file with `header` written verbatim (no padding) and `buffer_size` data bytes.
std::vector<uint8_t> file_with_header(const std::string& header, size_t buffer_size) {
  std::vector<uint8_t> out(8 + header.size() + buffer_size, 0xab);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// One F32 entry as the header spells it.
std::string f32_entry(const std::string& name, const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) +
         "," + std::to_string(end) + "]}";
}

constexpr const char* kSource = "bad.safetensors";

// Parsing `bytes` must throw Error(format) whose message names the source and contains `part`.
void expect_format_error(const std::vector<uint8_t>& bytes, const std::string& part) {
  try {
    parse_safetensors(bytes, kSource);
    ADD_FAILURE() << "no throw; expected a format error containing: " << part;
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::format) << m;
    EXPECT_NE(m.find(kSource), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << "missing \"" << part << "\" in: " << m;
  }
}

void expect_header_error(const std::string& header, size_t buffer_size, const std::string& part) {
  SCOPED_TRACE(header);
  expect_format_error(file_with_header(header, buffer_size), part);
}

class SafetensorsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detnn_safetensors_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

struct Sample {
  std::vector<float> f32{1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
  std::vector<double> f64{3.141592653589793, -1e300};
  std::vector<int32_t> i32{-7};
  std::vector<int64_t> i64{1ll << 40, -1, 0, 5};
  std::vector<uint8_t> u8{0, 1, 2, 254, 255};
  std::map<std::string, std::string> metadata{{"format", "detnn"}, {"step", "42"}, {"note", "unicode: \xc3\xa9 \"q\""}};

  std::vector<SafetensorsTensorView> views() const {
    return {
        {"weights.f32", DType::f32, {2, 3}, f32.data()},
        {"f64", DType::f64, {2}, f64.data()},
        {"scalar", DType::i32, {}, i32.data()},  // 0-d: one element
        {"empty", DType::f32, {0, 3}, nullptr},  // zero-size
        {"i64", DType::i64, {2, 1, 2}, i64.data()},
        {"u8", DType::u8, {5}, u8.data()},
    };
  }
};

void expect_round_trip(const SafetensorsFile& file, const Sample& s) {
  EXPECT_EQ(file.metadata, s.metadata);
  auto views = s.views();
  ASSERT_EQ(file.tensors.size(), views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const SafetensorsTensor& t = file.tensors[i];
    SCOPED_TRACE(views[i].name);
    EXPECT_EQ(t.name, views[i].name);  // order is kept
    EXPECT_EQ(t.dtype, views[i].dtype);
    EXPECT_EQ(t.shape, views[i].shape);
    ASSERT_EQ(t.bytes.size(), static_cast<size_t>(t.element_count()) * dtype_size(t.dtype));
    if (!t.bytes.empty()) {
      EXPECT_EQ(std::memcmp(t.bytes.data(), views[i].data, t.bytes.size()), 0);
    }
  }
  EXPECT_EQ(file.find("scalar")->element_count(), 1);
  EXPECT_EQ(file.find("empty")->element_count(), 0);
  EXPECT_EQ(file.find("absent"), nullptr);
}

TEST_F(SafetensorsFileTest, RoundTripsEveryDtypeScalarAndZeroSizeTensors) {
  Sample s;
  write_safetensors(path("m.safetensors"), s.views(), s.metadata);
  expect_round_trip(read_safetensors(path("m.safetensors")), s);
  expect_round_trip(parse_safetensors(serialize_safetensors(s.views(), s.metadata), "memory"), s);
}

TEST_F(SafetensorsFileTest, ReadTensorCanBeWrittenAgainUnchanged) {
  Sample s;
  std::vector<uint8_t> first = serialize_safetensors(s.views(), s.metadata);
  SafetensorsFile file = parse_safetensors(first, "memory");
  std::vector<SafetensorsTensorView> views;
  for (const auto& t : file.tensors) views.push_back(t.view());
  EXPECT_EQ(serialize_safetensors(views, file.metadata), first);
}

TEST_F(SafetensorsFileTest, WritingIsDeterministic) {
  Sample s;
  write_safetensors(path("a.safetensors"), s.views(), s.metadata);
  write_safetensors(path("b.safetensors"), s.views(), s.metadata);
  std::string a = sha256_file_hex(path("a.safetensors"));
  EXPECT_EQ(a, sha256_file_hex(path("b.safetensors")));
  EXPECT_EQ(a, sha256_hex(serialize_safetensors(s.views(), s.metadata)));
}

TEST(Safetensors, HeaderLayoutMatchesTheSpec) {
  std::vector<float> w{1.0f, 2.0f};
  std::vector<uint8_t> b{7};
  auto bytes = serialize_safetensors({{"w", DType::f32, {2}, w.data()}, {"b", DType::u8, {1, 1}, b.data()}},
                                     {{"format", "pt"}});
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"U8","shape":[1,1],"data_offsets":[8,9]}})";
  const size_t padded = (json.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.size(), 8 + padded + 9);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  EXPECT_EQ(n, padded);  // little-endian u64, a multiple of 8
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 8 + padded), json + std::string(padded - json.size(), ' '));
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + padded, w.data(), 8), 0);
  EXPECT_EQ(bytes.back(), 7);
}

TEST(Safetensors, NoMetadataAndNoTensors) {
  auto bytes = serialize_safetensors({});
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.end()), "{}      ");
  SafetensorsFile file = parse_safetensors(bytes, "memory");
  EXPECT_TRUE(file.metadata.empty());
  EXPECT_TRUE(file.tensors.empty());
}

TEST(Safetensors, AcceptsUnpaddedHeadersAndAnyRegionOrder) {
  // Regions listed out of order in the header are returned in data order.
  auto bytes = file_with_header("{" + f32_entry("late", "[1]", 4, 8) + "," + f32_entry("early", "[1]", 0, 4) +
                                    ",\"__metadata__\":{}}",
                                8);
  SafetensorsFile file = parse_safetensors(bytes, "memory");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "early");
  EXPECT_EQ(file.tensors[1].name, "late");
}

TEST(Safetensors, ZeroDimensionMakesEvenHugeShapesEmpty) {
  auto bytes = file_with_header("{" + f32_entry("z", "[4294967296,4294967296,0]", 0, 0) + "}", 0);
  SafetensorsFile file = parse_safetensors(bytes, "memory");
  EXPECT_EQ(file.tensors.at(0).bytes.size(), 0u);
  EXPECT_EQ(file.tensors.at(0).element_count(), 0);
}

// A file written by Python's safetensors (tests/data, PyTorch reference results): we read it,
// and what we write from it has the same data buffer and reads back to the same tensors.
TEST(Safetensors, ReadsAndRewritesAFileFromPythonSafetensors) {
  const std::string p = std::string(DETNN_TEST_DATA_DIR) + "/torch-reference/torch_reference.safetensors";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is absent";
  std::ifstream in(p, std::ios::binary);
  const std::vector<uint8_t> original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SafetensorsFile file = read_safetensors(p);
  ASSERT_FALSE(file.tensors.empty());
  std::vector<SafetensorsTensorView> views;
  for (const auto& t : file.tensors) views.push_back(t.view());
  std::vector<uint8_t> ours = serialize_safetensors(views, file.metadata);
  ASSERT_EQ(ours.size(), original.size());
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | original[i];
  EXPECT_TRUE(std::equal(ours.begin() + 8 + n, ours.end(), original.begin() + 8 + n));
  SafetensorsFile again = parse_safetensors(ours, "rewritten");
  EXPECT_EQ(again.metadata, file.metadata);
  ASSERT_EQ(again.tensors.size(), file.tensors.size());
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    EXPECT_EQ(again.tensors[i].name, file.tensors[i].name);
    EXPECT_EQ(again.tensors[i].shape, file.tensors[i].shape);
    EXPECT_EQ(again.tensors[i].bytes, file.tensors[i].bytes);
  }
}

// ---- writer arguments ----

void expect_invalid_argument(const std::vector<SafetensorsTensorView>& views, const std::string& part,
                             const std::map<std::string, std::string>& metadata = {}) {
  try {
    serialize_safetensors(views, metadata);
    ADD_FAILURE() << "no throw; expected: " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Safetensors, WriterRejectsImpossibleInput) {
  float x[2] = {0, 0};
  expect_invalid_argument({{"a", DType::f32, {1}, x}, {"a", DType::f32, {1}, x}}, "appears twice");
  expect_invalid_argument({{"__metadata__", DType::f32, {1}, x}}, "reserved");
  expect_invalid_argument({{"a", DType::f32, {2, -1}, x}}, "negative");
  expect_invalid_argument({{"a", DType::f32, {2}, nullptr}}, "null data");
  expect_invalid_argument({{"a", DType::f32, {1ll << 62, 1ll << 62}, x}}, "2^64");
  expect_invalid_argument({{"bad\xff", DType::f32, {1}, x}}, "UTF-8");
  expect_invalid_argument({}, "UTF-8", {{"k", "\xc3"}});
}

TEST_F(SafetensorsFileTest, FailedWriteLeavesNothingBehind) {
  float x = 1;
  EXPECT_THROW(write_safetensors(path("x.safetensors"), {{"a", DType::f32, {2}, nullptr}}), Error);
  EXPECT_THROW(write_safetensors(path("missing/x.safetensors"), {{"a", DType::f32, {1}, &x}}), Error);
  EXPECT_TRUE(fs::is_empty(dir_));
}

// ---- reader: one test per malformed case ----

TEST(SafetensorsMalformed, ShorterThanEightBytes) {
  expect_format_error({}, "0 bytes, shorter than the 8-byte");
  expect_format_error({1, 0, 0, 0, 0}, "5 bytes, shorter than the 8-byte");
}

TEST(SafetensorsMalformed, HeaderLengthPastTheEndOfTheFile) {
  auto bytes = file_with_header("{}", 0);
  bytes[0] = 3;
  expect_format_error(bytes, "header length 3 (bytes 0..8) runs past the end of the 10-byte file");
}

TEST(SafetensorsMalformed, AbsurdHeaderLength) {
  std::vector<uint8_t> bytes(16, ' ');
  for (int i = 0; i < 8; ++i) bytes[i] = 0xff;
  expect_format_error(bytes, "header length 18446744073709551615 (bytes 0..8) is over the 104857600-byte limit");
}

TEST(SafetensorsMalformed, EmptyHeader) { expect_header_error("", 0, "header is empty"); }

TEST(SafetensorsMalformed, InvalidJsonReportsItsPosition) {
  expect_header_error(R"({"a":{"dtype":"F32",})", 0, "not valid JSON near header byte 21 (file byte 29)");
  expect_header_error("{\"a\xff\":1}", 0, "ill-formed UTF-8 byte; last read: '\"a\\xff'");  // shown escaped
  expect_header_error("{} {}", 0, "not valid JSON");
}

TEST(SafetensorsMalformed, TopLevelNotAnObject) {
  expect_header_error("[1, 2]", 0, "must be a JSON object starting with '{' (0x7b); byte 8 is 0x5b");
  expect_header_error(" {}", 0, "byte 8 is 0x20");
}

TEST(SafetensorsMalformed, PaddingThatIsNotSpaces) {
  expect_header_error("{}  \n", 0, "padding must be spaces (0x20); byte 12 is 0x0a");
}

TEST(SafetensorsMalformed, MetadataNotAnObjectOfStrings) {
  expect_header_error(R"({"__metadata__":["a"]})", 0, R"("__metadata__" is an array, expected an object of strings)");
  expect_header_error(R"({"__metadata__":{"step":3}})", 0, R"("__metadata__"."step" is the number 3, expected a string)");
  expect_header_error(R"({"__metadata__":{"k":"a","k":"b"}})", 0, R"(duplicate key "k" in "__metadata__")");
  expect_header_error(R"({"__metadata__":{},"__metadata__":{}})", 0, R"(has "__metadata__" twice)");
}

TEST(SafetensorsMalformed, EntryNotAnObject) {
  expect_header_error(R"({"w":[0,4]})", 0, R"(tensor "w" is an array, expected an object)");
  expect_header_error(R"({"w":null})", 0, R"(tensor "w" is null, expected an object)");
}

TEST(SafetensorsMalformed, EntryWithMissingOrExtraKeys) {
  expect_header_error(R"({"w":{"dtype":"F32","shape":[1]}})", 4, R"(tensor "w" has no "data_offsets")");
  expect_header_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, R"(tensor "w" has no "dtype")");
  expect_header_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offset":0}})", 4,
                      R"(tensor "w" has an unknown key "offset")");
  expect_header_error(R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4,
                      R"(duplicate key "dtype" in "w")");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_header_error(R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", 2,
                      R"(tensor "w" dtype "BF16" is not supported)");
  expect_header_error(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4, R"("f32" is not supported)");
  expect_header_error(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4,
                      R"(tensor "w" dtype is the number 4, expected a dtype name)");
}

TEST(SafetensorsMalformed, ShapeNotAListOfNonNegativeIntegers) {
  expect_header_error("{" + f32_entry("w", "4", 0, 16) + "}", 16, R"(tensor "w" shape is the number 4, expected a list)");
  expect_header_error("{" + f32_entry("w", "[2,-2]", 0, 16) + "}", 16,
                      R"(tensor "w" shape[1] is the number -2, expected a non-negative integer)");
  expect_header_error("{" + f32_entry("w", "[1.0]", 0, 4) + "}", 4, R"(shape[0] is the number 1.0, expected)");
  expect_header_error("{" + f32_entry("w", "[\"4\"]", 0, 16) + "}", 16, R"(shape[0] is a string)");
  expect_header_error("{" + f32_entry("w", "[[4]]", 0, 16) + "}", 16, R"(nests JSON deeper than the format allows (3 levels) in "w"."shape")");
  expect_header_error("{" + f32_entry("w", "[9223372036854775808]", 0, 0) + "}", 0, "larger than 2^63 - 1");
  expect_header_error("{" + f32_entry("w", "[18446744073709551616]", 0, 0) + "}", 0, "expected a non-negative");
}

TEST(SafetensorsMalformed, DataOffsetsNotTwoOrderedIntegers) {
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[1]}})", 1,
                      R"(tensor "w" data_offsets is an array of 1 items, expected [begin, end])");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":{"begin":0}}})", 1, "expected [begin, end]");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,"1"]}})", 1,
                      R"(data_offsets[1] is a string, expected a non-negative integer)");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1, "data_offsets[0] is the number -1");
  expect_header_error(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", 2, "[2, 1] has begin > end");
}

TEST(SafetensorsMalformed, SizeDisagreesWithShape) {
  expect_header_error("{" + f32_entry("w", "[2,3]", 0, 20) + "}", 20,
                      R"(tensor "w" data_offsets [0, 20] span 20 bytes but shape [2, 3] of F32 needs 24)");
  expect_header_error("{" + f32_entry("w", "[]", 0, 0) + "}", 0, "shape [] of F32 needs 4");
}

TEST(SafetensorsMalformed, ShapeWhoseSizeOverflows) {
  expect_header_error("{" + f32_entry("w", "[4294967296,4294967296]", 0, 0) + "}", 0,
                      "shape [4294967296, 4294967296] of F32 needs more than 2^64 bytes");
  // 2^62 elements of 4 bytes wrap to exactly 0 in 64-bit arithmetic.
  expect_header_error("{" + f32_entry("w", "[4611686018427387904]", 0, 0) + "}", 0, "needs more than 2^64 bytes");
}

TEST(SafetensorsMalformed, OffsetsOutsideTheBuffer) {
  expect_header_error("{" + f32_entry("w", "[2]", 0, 8) + "}", 4,
                      R"(tensor "w" data_offsets [0, 8] run past the end of the 4-byte data buffer)");
  expect_header_error("{" + f32_entry("w", "[1]", 18446744073709551612ull, 18446744073709551615ull) + "}", 4,
                      "span 3 bytes");
  expect_header_error("{" + f32_entry("w", "[1]", 18446744073709551611ull, 18446744073709551615ull) + "}", 4,
                      "run past the end");
}

TEST(SafetensorsMalformed, OverlappingRegions) {
  expect_header_error("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 4, 12) + "}", 12,
                      R"(tensor "b" at buffer offset 4 (file byte )");
  expect_header_error("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 0, 8) + "}", 8,
                      R"(overlaps tensor "a" which ends at 8)");
  expect_header_error("{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("z", "[0]", 4, 4) + "}", 8, "overlaps");
}

TEST(SafetensorsMalformed, GapsBetweenRegions) {
  expect_header_error("{" + f32_entry("a", "[1]", 0, 4) + "," + f32_entry("b", "[1]", 8, 12) + "}", 12,
                      R"(gap: bytes 4..8)");
  expect_header_error("{" + f32_entry("a", "[1]", 4, 8) + "}", 8, R"(gap: bytes 0..4)");
}

TEST(SafetensorsMalformed, DuplicateTensorNames) {
  expect_header_error("{" + f32_entry("w", "[1]", 0, 4) + "," + f32_entry("w", "[1]", 4, 8) + "}", 8,
                      R"(header has a duplicate tensor name "w")");
}

TEST(SafetensorsMalformed, TrailingBytesAfterTheLastRegion) {
  const std::string header = "{" + f32_entry("w", "[1]", 0, 4) + "}";
  expect_header_error(header, 7, "has 3 trailing bytes after the last tensor (file bytes " +
                                     std::to_string(8 + header.size() + 4) + "..");
  expect_header_error("{}", 1, "has 1 trailing bytes");
}

TEST(SafetensorsMalformed, NamesInMessagesAreEscapedAndShortened) {
  std::string name(200, 'n');
  name[0] = '\n';
  expect_header_error("{" + f32_entry("\\n" + name.substr(1), "[1]", 0, 8) + "}", 8, R"(tensor "\nnnn)");
  expect_header_error("{" + f32_entry("\\n" + name.substr(1), "[1]", 0, 8) + "}", 8, R"(nnn"... data_offsets)");
}

// ---- reading files ----

TEST_F(SafetensorsFileTest, UnreadableFilesAreIoErrorsNamingThePath) {
  for (const std::string& p : {path("absent.safetensors"), dir_.string()}) {
    try {
      read_safetensors(p);
      ADD_FAILURE() << "no throw for " << p;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
}

TEST_F(SafetensorsFileTest, MalformedFilesAreFormatErrorsNamingThePath) {
  const std::string p = path("short.safetensors");
  std::ofstream(p, std::ios::binary) << "abc";
  try {
    read_safetensors(p);
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    EXPECT_NE(std::string(e.what()).find(p + ": safetensors file is 3 bytes"), std::string::npos) << e.what();
  }
  Sample s;
  auto bytes = serialize_safetensors(s.views(), s.metadata);
  bytes.push_back(0);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    read_safetensors(p);
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    EXPECT_NE(std::string(e.what()).find("1 trailing bytes"), std::string::npos) << e.what();
  }
}

// ---- robustness: every damaged file parses or throws Error(format), nothing else ----

TEST_F(SafetensorsFileTest, TruncatedAndCorruptedFilesNeverCrash) {
  Sample s;
  const std::vector<uint8_t> good = serialize_safetensors(s.views(), s.metadata);
  int parsed = 0, rejected = 0;
  auto check = [&](const std::vector<uint8_t>& bytes, const std::string& what) {
    try {
      parse_safetensors(bytes, "fuzz");
      ++parsed;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format) << what << ": " << e.what();
      ++rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": not a detnn::Error: " << e.what();
    }
  };
  for (size_t len = 0; len < good.size(); ++len)
    check(std::vector<uint8_t>(good.begin(), good.begin() + len), "truncated to " + std::to_string(len));
  EXPECT_EQ(parsed, 0);  // every cut loses bytes the header accounts for

  std::mt19937 gen(20240611);
  const size_t header_end = 8 + (good[0] | (good[1] << 8));
  for (int round = 0; round < 4000; ++round) {
    std::vector<uint8_t> bytes = good;
    int flips = 1 + static_cast<int>(gen() % 4);
    for (int f = 0; f < flips; ++f) {
      // Mostly damage the prefix and header, where the parser does its work.
      size_t at = (gen() % 4 != 0) ? gen() % header_end : gen() % bytes.size();
      bytes[at] = (gen() % 2) ? static_cast<uint8_t>(gen()) : static_cast<uint8_t>(bytes[at] ^ (1u << (gen() % 8)));
    }
    check(bytes, "round " + std::to_string(round));
  }
  EXPECT_GT(rejected, 4000);

  // The same through a file on disk, for a sample of cuts.
  for (size_t len : {size_t{0}, size_t{7}, size_t{8}, size_t{9}, header_end - 1, header_end, good.size() - 1}) {
    const std::string p = path("cut.safetensors");
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(good.data()), len);
    try {
      read_safetensors(p);
      ADD_FAILURE() << "cut at " << len << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    }
  }
}

}  // namespace
}  // namespace detnn
