#include "runtime/io/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace detnn {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// FIPS 180-2, appendix B, plus the empty message.
TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(sha256_hex(bytes_of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(bytes_of("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(bytes_of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string message(1000000, 'a');
  Sha256 hash;
  // Uneven pieces, including empty ones, cross every block boundary.
  size_t sizes[] = {0, 1, 63, 64, 65, 0, 1000, 4097};
  size_t at = 0;
  for (size_t i = 0; at < message.size(); ++i) {
    size_t n = std::min(sizes[i % 8], message.size() - at);
    hash.update(message.data() + at, n);
    at += n;
  }
  EXPECT_EQ(hash.finish_hex(), sha256_hex(bytes_of(message)));
}

TEST(Sha256, FinishResetsForTheNextMessage) {
  Sha256 hash;
  hash.update(bytes_of("abc"));
  Sha256Digest first = hash.finish();
  EXPECT_EQ(to_hex(first), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash.finish_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 moved = std::move(hash);
  moved.update(bytes_of("abc"));
  EXPECT_EQ(moved.finish(), first);
}

TEST(Sha256, FloatsHashTheirLittleEndianBytes) {
  const float values[] = {1.0f, -2.5f, 0.1f};
  // struct.pack('<3f', 1.0, -2.5, 0.1) through Python's hashlib.
  EXPECT_EQ(sha256_of_floats(values, 3), "2f9cc761bc2594fa578868daeedc59b0fc115513fae3e5dc09c4e86e50b8aaf6");
  EXPECT_EQ(sha256_of_floats(nullptr, 0), sha256_hex({}));
  EXPECT_THROW(sha256_of_floats(nullptr, 3), Error);
}

TEST(Sha256, FileHashMatchesMemoryHash) {
  auto path = std::filesystem::temp_directory_path() /
              ("detnn_sha256_test_" + std::to_string(::getpid()) + ".bin");
  std::string content;
  for (int i = 0; i < 3 * 1024 * 1024 + 17; ++i) content += static_cast<char>(i * 31 % 251);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  EXPECT_EQ(sha256_file_hex(path.string()), sha256_hex(bytes_of(content)));
  std::filesystem::remove(path);
}

TEST(Sha256, MissingFileIsAnIoErrorNamingIt) {
  const std::string path = "/nonexistent/detnn/weights.bin";
  try {
    sha256_file_hex(path);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST(Sha256, DirectoryIsAnIoError) {
  try {
    sha256_file_hex(std::filesystem::temp_directory_path().string());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
  }
}

}  // namespace
}  // namespace detnn
