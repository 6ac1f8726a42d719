// IDX and CIFAR-10 readers: exact decoding, fingerprints, the bundled MNIST digits, and every
// malformed-file error naming the file and the byte.
#include <gtest/gtest.h>

#include "data/readers.h"
#include "runtime/io/sha256.h"
#include "support/data_test_util.h"

namespace detnn::data {
namespace {

using test::Bytes;

std::string sha_of(const Bytes& a, const Bytes& b) {
  Bytes all = a;
  all.insert(all.end(), b.begin(), b.end());
  return sha256_hex(all);
}

TEST(DataIdx, PlainAndGzipDecodeExactly) {
  test::TempDir dir;
  Bytes pixels(3 * 2 * 3);
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>(k * 15);
  const Bytes img = test::idx_bytes({3, 2, 3}, pixels), lab = test::idx_bytes({3}, {2, 0, 1});
  test::write_file(dir / "img", img);
  test::write_file(dir / "lab", lab);
  test::write_file(dir / "img.gz", test::gzip(img));
  test::write_file(dir / "lab.gz", test::gzip(lab));

  for (const char* suffix : {"", ".gz"}) {
    const Dataset d = read_idx(dir / (std::string("img") + suffix), dir / (std::string("lab") + suffix));
    EXPECT_EQ(d.count, 3);
    EXPECT_EQ(d.channels, 1);
    EXPECT_EQ(d.height, 2);
    EXPECT_EQ(d.width, 3);
    EXPECT_EQ(d.classes, 3);
    EXPECT_EQ(d.pixels_u8, pixels);
    EXPECT_TRUE(d.pixels_f32.empty());
    EXPECT_EQ(d.labels, (std::vector<int32_t>{2, 0, 1}));
    // The fingerprint is over the decompressed bytes, so both files give the same one.
    EXPECT_EQ(d.fingerprint, sha_of(img, lab));
    float sample[6];
    d.sample_to_float(1, sample);
    for (int k = 0; k < 6; ++k) EXPECT_EQ(sample[k], static_cast<float>(pixels[6 + k]) / 255.0f);
  }
  EXPECT_EQ(read_idx(dir / "img", dir / "lab", 10).classes, 10);
}

TEST(DataIdx, BundledMnist) {
  const std::string base = DETNN_SOURCE_DIR "/data/mnist-10k/";
  const Dataset d = read_idx(base + "images-idx3-ubyte.gz", base + "labels-idx1-ubyte.gz");
  EXPECT_EQ(d.count, 10000);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.height, 28);
  EXPECT_EQ(d.width, 28);
  EXPECT_EQ(d.classes, 10);
  std::vector<int> per_class(10, 0);
  for (int32_t l : d.labels) {
    ASSERT_TRUE(l >= 0 && l < 10);
    ++per_class[static_cast<size_t>(l)];
  }
  EXPECT_EQ(per_class[0], 1001);
  EXPECT_EQ(per_class[5], 863);
  // Fingerprint = SHA-256 of the decompressed images file, then the decompressed labels file.
  const Bytes img = test::gunzip(test::read_file(base + "images-idx3-ubyte.gz"));
  const Bytes lab = test::gunzip(test::read_file(base + "labels-idx1-ubyte.gz"));
  EXPECT_EQ(d.fingerprint, sha_of(img, lab));
  EXPECT_EQ(d.fingerprint, "168851764686d3872cfe40115767814cb012d6129723489f5a2c9d8b70e6a80f");
  EXPECT_EQ(d.description, "idx: images-idx3-ubyte.gz + labels-idx1-ubyte.gz");
}

TEST(DataIdx, Errors) {
  test::TempDir dir;
  const Bytes good_img = test::idx_bytes({4, 2, 2}, Bytes(16, 7));
  const Bytes good_lab = test::idx_bytes({4}, {0, 1, 2, 3});
  test::write_file(dir / "img", good_img);
  test::write_file(dir / "lab", good_lab);
  auto expect = [&](const Bytes& img, const Bytes& lab, std::initializer_list<std::string> parts, int32_t classes = 0,
                    ErrorCode code = ErrorCode::format) {
    test::write_file(dir / "bad_img", img);
    test::write_file(dir / "bad_lab.gz", test::gzip(lab));
    const std::string m = test::error_message([&] { read_idx(dir / "bad_img", dir / "bad_lab.gz", classes); }, code);
    for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
  };
  EXPECT_NE(test::error_message([&] { read_idx(dir / "nope", dir / "lab"); }, ErrorCode::io).find("nope: cannot open"),
            std::string::npos);
  expect(test::idx_bytes({4, 2, 2}, Bytes(13, 7)), good_lab,
         {"bad_img: truncated at byte 29: expected 4 images (16 bytes after the 16-byte header), the file has 13"});
  expect(good_img, test::idx_bytes({4}, {0, 1}),
         {"bad_lab.gz: truncated at byte 10 (decompressed): expected 4 labels (4 bytes after the 8-byte header), the file has 2"});
  expect(Bytes{0, 0, 8}, good_lab, {"bad_img: truncated at byte 3"});
  expect(good_img, Bytes{0, 0, 8, 1, 0, 0}, {"bad_lab.gz: truncated at byte 6 (decompressed)", "8 bytes"});
  Bytes magic = good_img;
  magic[2] = 0x0d;  // float data
  expect(magic, good_lab, {"bad_img: bad magic at byte 0: expected 00 00 08", "got 00000d"});
  expect(test::idx_bytes({4, 4}, Bytes(16, 7)), good_lab, {"bad_img: wrong dimensions at byte 3", "has 2 dimensions"});
  expect(good_img, test::idx_bytes({2, 2}, Bytes(4, 0)), {"bad_lab.gz: wrong dimensions at byte 3"});
  expect(good_img, test::idx_bytes({3}, {0, 1, 2}), {"bad_lab.gz: count mismatch at byte 4: 3 labels for the 4 images of", "bad_img"});
  expect(test::idx_bytes({4, 2, 2}, Bytes(17, 7)), good_lab, {"bad_img: 1 unexpected bytes after the end of the data at byte 32"});
  expect(good_img, test::idx_bytes({4}, {0, 1, 7, 3}), {"bad_lab.gz: label of sample 2 (byte 10) is 7, not below classes = 5"}, 5);
  expect(test::idx_bytes({0, 2, 2}, {}), test::idx_bytes({0}, {}), {"contains no samples"});

  // A gzip file cut short: the stream ends early, and the message says so.
  Bytes gz = test::gzip(good_img);
  gz.resize(gz.size() - 10);
  test::write_file(dir / "cut.gz", gz);
  EXPECT_NE(test::error_message([&] { read_idx(dir / "cut.gz", dir / "lab"); }, ErrorCode::format)
                .find("cut.gz: gzip stream is truncated"),
            std::string::npos);
}

TEST(DataCifar10, DecodesRecordsAcrossFiles) {
  test::TempDir dir;
  Bytes f1, f2;
  for (int r = 0; r < 3; ++r) {
    Bytes& f = r < 2 ? f1 : f2;
    f.push_back(static_cast<uint8_t>(r * 3 + 1));  // labels 1, 4, 7
    for (int k = 0; k < 3072; ++k) f.push_back(static_cast<uint8_t>((k * 7 + r) & 0xff));
  }
  test::write_file(dir / "data_batch_1.bin", f1);
  test::write_file(dir / "data_batch_2.bin", f2);
  const Dataset d = read_cifar10({dir / "data_batch_1.bin", dir / "data_batch_2.bin"});
  EXPECT_EQ(d.count, 3);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{1, 4, 7}));
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3072; k += 97) EXPECT_EQ(d.pixels_u8[static_cast<size_t>(r * 3072 + k)], (k * 7 + r) & 0xff);
  EXPECT_EQ(d.fingerprint, sha_of(f1, f2));
  EXPECT_EQ(d.description, "cifar10: data_batch_1.bin data_batch_2.bin");
}

TEST(DataCifar10, Errors) {
  test::TempDir dir;
  Bytes f(3073 * 2, 0);
  f[3073] = 10;
  test::write_file(dir / "labels.bin", f);
  EXPECT_NE(test::error_message([&] { read_cifar10({dir / "labels.bin"}); }, ErrorCode::format)
                .find("labels.bin: label of record 1 (byte 3073) is 10, not below classes = 10"),
            std::string::npos);
  f.resize(3073 + 100);
  test::write_file(dir / "short.bin", f);
  EXPECT_NE(test::error_message([&] { read_cifar10({dir / "short.bin"}); }, ErrorCode::format)
                .find("short.bin: truncated at byte 3173: record 1 has 100 of its 3073 bytes"),
            std::string::npos);
  EXPECT_NE(test::error_message([&] { read_cifar10({dir / "missing.bin"}); }, ErrorCode::io).find("missing.bin"),
            std::string::npos);
}

}  // namespace
}  // namespace detnn::data
