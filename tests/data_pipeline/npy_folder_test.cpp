// NPY, image-folder and synthetic readers: exact values, orders, fingerprints and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "data/readers.h"
#include "runtime/io/sha256.h"
#include "support/data_test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace detnn::data {
namespace {

using test::Bytes;

std::string contains_msg(const std::string& m, const std::string& part) {
  return m.find(part) == std::string::npos ? "'" + part + "' not in: " + m : "";
}
#define EXPECT_CONTAINS(m, part) EXPECT_EQ(contains_msg((m), (part)), "")

TEST(DataNpy, Uint8NchwAndFloatNhw) {
  test::TempDir dir;
  Bytes pix(2 * 3 * 2 * 2);
  for (size_t k = 0; k < pix.size(); ++k) pix[k] = static_cast<uint8_t>(250 - k);
  const Bytes img = test::npy_bytes("|u1", "(2, 3, 2, 2)", pix);
  const Bytes lab = test::npy_bytes("<i8", "(2,)", test::le_bytes<int64_t>({1, 4}));
  test::write_file(dir / "x.npy", img);
  test::write_file(dir / "y.npy", lab);
  Dataset d = read_npy(dir / "x.npy", dir / "y.npy");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.classes, 5);
  EXPECT_EQ(d.pixels_u8, pix);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{1, 4}));
  Bytes both = img;
  both.insert(both.end(), lab.begin(), lab.end());
  EXPECT_EQ(d.fingerprint, sha256_hex(both));

  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 1e-30f, 7.0f, 0.1f};
  test::write_file(dir / "f.npy", test::npy_bytes("<f4", "(3, 1, 2)", test::le_bytes(values), 2));
  test::write_file(dir / "l.npy", test::npy_bytes("<i4", "(3,)", test::le_bytes<int32_t>({0, 2, 1}), 3));
  d = read_npy(dir / "f.npy", dir / "l.npy", 4);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.height, 1);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.classes, 4);
  EXPECT_TRUE(d.pixels_u8.empty());
  EXPECT_EQ(d.pixels_f32, values);
  float s[2];
  d.sample_to_float(2, s);
  EXPECT_EQ(s[0], 7.0f);
  EXPECT_EQ(s[1], 0.1f);
}

TEST(DataNpy, Errors) {
  test::TempDir dir;
  const Bytes img = test::npy_bytes("|u1", "(2, 2, 2)", Bytes(8, 1));
  const Bytes lab = test::npy_bytes("|u1", "(2,)", {0, 1});
  auto message = [&](const Bytes& x, const Bytes& y, ErrorCode code = ErrorCode::format) {
    test::write_file(dir / "x.npy", x);
    test::write_file(dir / "y.npy", y);
    return test::error_message([&] { read_npy(dir / "x.npy", dir / "y.npy"); }, code);
  };
  Bytes magic = img;
  magic[1] = 'n';
  EXPECT_CONTAINS(message(magic, lab), "x.npy: bad magic at byte 0");
  EXPECT_CONTAINS(message(test::npy_bytes(">f4", "(2, 2, 2)", Bytes(32)), lab),
                  "x.npy: images have dtype '>f4', expected '|u1' (uint8) or '<f4'");
  Bytes fortran = img;
  const std::string f = "False";
  auto it = std::search(fortran.begin(), fortran.end(), f.begin(), f.end());
  std::copy_n("True ", 5, it);
  EXPECT_CONTAINS(message(fortran, lab), "x.npy: bad NPY header at byte");
  EXPECT_CONTAINS(message(fortran, lab), "only C-order");
  EXPECT_CONTAINS(message(test::npy_bytes("|u1", "(2, 4)", Bytes(8)), lab), "x.npy: wrong dimensions");
  EXPECT_CONTAINS(message(img, test::npy_bytes("|u1", "(3,)", {0, 1, 1})), "y.npy: count mismatch: 3 labels for the 2 images");
  EXPECT_CONTAINS(message(test::npy_bytes("|u1", "(2, 2, 2)", Bytes(5)), lab),
                  "x.npy: truncated at byte 133: the shape needs 8 data bytes after the 128-byte header, the file has 5");
  EXPECT_CONTAINS(message(img, test::npy_bytes("<i4", "(2,)", test::le_bytes<int32_t>({0, -3}))),
                  "y.npy: label of sample 1 (byte 132) is -3, negative");
  EXPECT_CONTAINS(message(img, test::npy_bytes("<f8", "(2,)", Bytes(16))), "y.npy: labels have dtype '<f8'");
  const std::vector<float> nan = {0, 0, 0, 0, 0, 0, 0, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_CONTAINS(message(test::npy_bytes("<f4", "(2, 2, 2)", test::le_bytes(nan)), lab),
                  "x.npy: sample 1 has a non-finite value at byte 156");
  // A dimension of 2^63 or more once looped forever in the header parser (issue 20, item 3).
  for (const char* huge : {"(9223372036854775808, 2, 2)", "(2, 99999999999999999999999, 2)"})
    EXPECT_CONTAINS(message(test::npy_bytes("|u1", huge, Bytes(8)), lab), "a dimension size exceeds 2^63 - 1");
  // Found by fuzz/npy_fuzzer: a key holding a newline was echoed raw, and the message spanned
  // lines. Bytes from the file are escaped (and cut) in messages.
  const std::string key_message = message(test::npy_bytes("|u1', 'de\nk': 'v", "(2, 2, 2)", Bytes(8, 1)), lab);
  EXPECT_CONTAINS(key_message, "x.npy: bad NPY header at byte ");
  EXPECT_CONTAINS(key_message, ": unexpected key 'de\\x0ak' in the NPY header");
  EXPECT_EQ(key_message.find('\n'), std::string::npos) << key_message;
}

// A tiny RGB PNG whose pixel (x, y) channel c is `base + 10 * (y * w + x) + c`.
void write_png(const std::filesystem::path& path, int w, int h, int channels, int base) {
  std::vector<uint8_t> px(static_cast<size_t>(w * h * channels));
  for (int p = 0; p < w * h; ++p)
    for (int c = 0; c < channels; ++c) px[static_cast<size_t>(p * channels + c)] = static_cast<uint8_t>(base + 10 * p + c);
  std::filesystem::create_directories(path.parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, channels, px.data(), w * channels), 0);
}

TEST(DataImageFolder, BytewiseOrderAndExactPixels) {
  test::TempDir dir;
  write_png(dir / "zebra/a.png", 3, 2, 3, 100);
  write_png(dir / "Cat/b.png", 3, 2, 3, 40);
  write_png(dir / "Cat/B.PNG", 3, 2, 3, 20);  // 'B' < 'b' bytewise
  test::write_file(dir / "Cat/notes.txt", {'h', 'i'});
  test::write_file(dir / "README", {'x'});
  const Dataset d = read_image_folder(dir.path());
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"Cat", "zebra"}));
  EXPECT_EQ(d.count, 3);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 3);
  EXPECT_EQ(d.classes, 2);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 0, 1}));
  const int bases[3] = {20, 40, 100};
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 6; ++p)
        EXPECT_EQ(d.pixels_u8[static_cast<size_t>(i * 18 + c * 6 + p)], bases[i] + 10 * p + c) << i << c << p;
  // Fingerprint: per file, "<class>/<file>" NUL, its size as 8 little-endian bytes, its bytes.
  Sha256 sha;
  for (const char* rel : {"Cat/B.PNG", "Cat/b.png", "zebra/a.png"}) {
    const Bytes file = test::read_file(dir / rel);
    sha.update(rel, std::strlen(rel) + 1);
    uint64_t size = file.size();
    sha.update(&size, 8);
    sha.update(file.data(), file.size());
  }
  EXPECT_EQ(d.fingerprint, sha.finish_hex());
  EXPECT_EQ(read_image_folder(dir.path(), 5).classes, 5);
}

TEST(DataImageFolder, GrayscaleJpegAndErrors) {
  test::TempDir dir;
  // stb's JPEG writer always stores three components: the reader keeps what the file has.
  std::vector<uint8_t> rgb(8 * 8 * 3, 128);
  std::filesystem::create_directories(dir / "jpeg/a");
  ASSERT_NE(stbi_write_jpg((dir / "jpeg/a/x.JPEG").c_str(), 8, 8, 3, rgb.data(), 95), 0);
  Dataset d = read_image_folder(dir / "jpeg");
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 8);
  EXPECT_NEAR(d.pixels_u8[0], 128, 2);
  std::filesystem::remove_all(dir / "jpeg");

  write_png(dir / "a/x.png", 8, 8, 1, 0);
  d = read_image_folder(dir.path());
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.pixels_u8[5], 50);

  write_png(dir / "b/y.png", 8, 8, 3, 0);
  EXPECT_CONTAINS(test::error_message([&] { read_image_folder(dir.path()); }, ErrorCode::format),
                  "y.png: image is 8x8 with 3 channels, but");
  std::filesystem::remove(dir / "b/y.png");
  test::write_file(dir / "b/y.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
  EXPECT_CONTAINS(test::error_message([&] { read_image_folder(dir.path()); }, ErrorCode::format),
                  "y.png: cannot decode the image");
  std::filesystem::remove(dir / "b/y.png");
  EXPECT_CONTAINS(test::error_message([&] { read_image_folder(dir.path()); }, ErrorCode::format),
                  "b: class folder has no .png/.jpg/.jpeg images");
  EXPECT_CONTAINS(test::error_message([&] { read_image_folder(dir / "none"); }, ErrorCode::io), "none: cannot list");
  std::filesystem::remove_all(dir / "b");
  std::filesystem::create_directories(dir / "c");
  ASSERT_NE(stbi_write_jpg((dir / "c/z.jpg").c_str(), 8, 8, 3, rgb.data(), 95), 0);
  EXPECT_CONTAINS(test::error_message([&] { read_image_folder(dir.path(), 1); }, ErrorCode::format),
                  ": 2 class subfolders, more than classes = 1 (the last is 'c')");
}

// A decoder's refusal always says why (a truncated PNG once gave an empty reason), and a header
// that claims a huge image is refused before the decoder allocates it.
TEST(DataImageFolder, DecodeErrorsSayWhyAndHugeHeadersAreRefusedFirst) {
  test::TempDir dir;
  write_png(dir / "a/x.png", 8, 8, 3, 0);
  const Bytes png = test::read_file(dir / "a/x.png");
  // Cut inside the IDAT chunk: refused before stb allocates what the chunk claims.
  EXPECT_CONTAINS(test::error_message([&] {
                    decode_image(file_bytes_from_memory("cut.png", Bytes(png.begin(), png.begin() + 51)));
                  }, ErrorCode::format),
                  "cut.png: truncated PNG: the IDAT chunk at byte 33 declares ");
  for (size_t keep : {size_t{40}, size_t{12}}) {
    const std::string m = test::error_message(
        [&] { decode_image(file_bytes_from_memory("cut.png", Bytes(png.begin(), png.begin() + static_cast<long>(keep)))); },
        ErrorCode::format);
    EXPECT_CONTAINS(m, "cut.png: cannot decode the image (" + std::to_string(keep) + " bytes): ");
    EXPECT_GT(m.size(), m.find("bytes): ") + 8) << m;  // a reason follows
  }
  // An unknown critical chunk: stb's reason holds the chunk type's raw bytes (here a newline).
  Bytes odd = png;
  const Bytes chunk = {0, 0, 0, 0, '\n', 'X', 'Y', 'Z', 0, 0, 0, 0};  // length 0, type, CRC
  odd.insert(odd.begin() + 33, chunk.begin(), chunk.end());  // after the signature and IHDR
  const std::string odd_message =
      test::error_message([&] { decode_image(file_bytes_from_memory("odd.png", odd)); }, ErrorCode::format);
  EXPECT_CONTAINS(odd_message, "odd.png: cannot decode the image (");
  EXPECT_CONTAINS(odd_message, "\\x0aXYZ");
  EXPECT_EQ(odd_message.find('\n'), std::string::npos) << odd_message;
  Bytes huge = png;  // IHDR: width and height, big-endian, at bytes 16 and 20: 12000 x 12000
  for (int k : {16, 20}) huge[static_cast<size_t>(k) + 2] = 0x2E, huge[static_cast<size_t>(k) + 3] = 0xE0;
  EXPECT_CONTAINS(test::error_message([&] { decode_image(file_bytes_from_memory("huge.png", huge)); }, ErrorCode::format),
                  "huge.png: the image is 12000x12000 with 3 channels, more than the 256 MiB");
}

// Found by fuzz/image_fuzzer: a JPEG whose Huffman table declares more than 256 codes made
// Debian's stb_image write past its table (UBSan: index 257 out of bounds). Refused first now,
// also when the segment is cut short by the end of the file.
TEST(DataImageFolder, AJpegHuffmanTableOfMoreThan256CodesIsRefused) {
  test::TempDir dir;
  std::vector<uint8_t> rgb(8 * 8 * 3, 128);
  const std::string path = (dir / "x.jpg").string();
  ASSERT_NE(stbi_write_jpg(path.c_str(), 8, 8, 3, rgb.data(), 95), 0);
  Bytes jpeg = test::read_file(path);
  EXPECT_NO_THROW(decode_image(file_bytes_from_memory("x.jpg", jpeg)));
  size_t dht = 2;  // walk the marker segments to the first DHT (FF C4)
  while (dht + 4 < jpeg.size() && !(jpeg[dht] == 0xFF && jpeg[dht + 1] == 0xC4))
    dht += 2 + ((size_t{jpeg[dht + 2]} << 8) | jpeg[dht + 3]);
  ASSERT_LT(dht + 21, jpeg.size());
  for (size_t i = 0; i < 16; ++i) jpeg[dht + 5 + i] = 0xFF;  // 16 x 255 codes in the first table
  EXPECT_CONTAINS(test::error_message([&] { decode_image(file_bytes_from_memory("x.jpg", jpeg)); }, ErrorCode::format),
                  "x.jpg: bad JPEG Huffman table at byte " + std::to_string(dht + 4) + ": it declares 4080 codes");
  jpeg.resize(dht + 21);  // the segment cut short: its counts are still what stb reads
  EXPECT_CONTAINS(test::error_message([&] { decode_image(file_bytes_from_memory("x.jpg", jpeg)); }, ErrorCode::format),
                  "it declares 4080 codes, a table has at most 256");
}

TEST(DataSynthetic, DeterministicAndLearnable) {
  SyntheticSpec spec;
  spec.count = 400;
  spec.classes = 4;
  spec.channels = 2;
  spec.height = 8;
  spec.width = 12;
  spec.seed = 7;
  const Dataset a = make_synthetic(spec), b = make_synthetic(spec);
  EXPECT_EQ(a.pixels_u8, b.pixels_u8);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.sample_size(), 2 * 8 * 12);
  spec.seed = 8;
  EXPECT_NE(make_synthetic(spec).fingerprint, a.fingerprint);
  Bytes bytes = a.pixels_u8;
  for (int32_t l : a.labels) {
    ASSERT_TRUE(l >= 0 && l < 4);
    const Bytes le = test::le_bytes<int32_t>({l});
    bytes.insert(bytes.end(), le.begin(), le.end());
  }
  EXPECT_EQ(a.fingerprint, sha256_hex(bytes));

  // Learnable: class means from the first half classify the second half by nearest mean.
  const int64_t n = a.sample_size();
  std::vector<double> mean(static_cast<size_t>(4 * n), 0.0);
  std::vector<int> seen(4, 0);
  for (int64_t i = 0; i < 200; ++i) {
    ++seen[static_cast<size_t>(a.labels[i])];
    for (int64_t e = 0; e < n; ++e) mean[static_cast<size_t>(a.labels[i] * n + e)] += a.pixels_u8[static_cast<size_t>(i * n + e)];
  }
  int correct = 0;
  for (int64_t i = 200; i < 400; ++i) {
    int best = -1;
    double best_d = 1e300;
    for (int k = 0; k < 4; ++k) {
      ASSERT_GT(seen[static_cast<size_t>(k)], 10);
      double dist = 0;
      for (int64_t e = 0; e < n; ++e) {
        const double diff = a.pixels_u8[static_cast<size_t>(i * n + e)] - mean[static_cast<size_t>(k * n + e)] / seen[static_cast<size_t>(k)];
        dist += diff * diff;
      }
      if (dist < best_d) best_d = dist, best = k;
    }
    correct += best == a.labels[i];
  }
  EXPECT_GE(correct, 190);
}

}  // namespace
}  // namespace detnn::data
