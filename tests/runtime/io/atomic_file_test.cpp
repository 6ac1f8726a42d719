#include "runtime/io/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace detnn {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards, so leftovers are easy to see.
class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detnn_atomic_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST_F(AtomicFileTest, WritesNewFileAndReplacesOldOne) {
  const std::string path = (dir_ / "model.bin").string();
  write_file_atomically(path, bytes_of("old content"));
  EXPECT_EQ(read(path), "old content");
  write_file_atomically(path, bytes_of("new"));
  EXPECT_EQ(read(path), "new");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.bin"});  // no temporary left behind
}

TEST_F(AtomicFileTest, TargetKeepsOldContentUntilCommit) {
  const std::string path = (dir_ / "model.bin").string();
  write_file_atomically(path, bytes_of("old content"));
  {
    AtomicFileWriter writer(path);
    EXPECT_EQ(fs::path(writer.temporary_path()).parent_path(), fs::path(path).parent_path());
    writer.write(bytes_of("new content, first half"));
    EXPECT_EQ(read(path), "old content");
    EXPECT_EQ(entries().size(), 2u);
    writer.write(bytes_of(" and second half"));
    EXPECT_EQ(read(path), "old content");
    writer.commit();
    EXPECT_TRUE(writer.committed());
  }
  EXPECT_EQ(read(path), "new content, first half and second half");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.bin"});
}

TEST_F(AtomicFileTest, AbandonedWriterLeavesOldContentAndNoTemporary) {
  const std::string path = (dir_ / "model.bin").string();
  write_file_atomically(path, bytes_of("old content"));
  {
    AtomicFileWriter writer(path);
    writer.write(bytes_of("half of the new"));
  }  // destroyed without commit, as when an exception unwinds through it
  EXPECT_EQ(read(path), "old content");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.bin"});
}

TEST_F(AtomicFileTest, EmptyContentIsAFile) {
  const std::string path = (dir_ / "empty").string();
  write_file_atomically(path, {});
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST_F(AtomicFileTest, TwoWritersToOnePathUseDistinctTemporaries) {
  const std::string path = (dir_ / "model.bin").string();
  AtomicFileWriter a(path);
  AtomicFileWriter b(path);
  EXPECT_NE(a.temporary_path(), b.temporary_path());
  a.write(bytes_of("a"));
  b.write(bytes_of("b"));
  a.commit();
  b.commit();
  EXPECT_EQ(read(path), "b");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.bin"});
}

TEST_F(AtomicFileTest, MissingDirectoryThrowsIoErrorNamingPathAndReason) {
  const std::string path = (dir_ / "no_such_dir" / "model.bin").string();
  try {
    write_file_atomically(path, bytes_of("x"));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find("No such file or directory"), std::string::npos) << m;
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, FailedRenameRemovesTheTemporary) {
  // A directory in the way: everything succeeds up to the rename, which fails.
  const fs::path target = dir_ / "occupied";
  fs::create_directories(target / "child");
  try {
    write_file_atomically(target.string(), bytes_of("x"));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    std::string m = e.what();
    EXPECT_NE(m.find(target.string()), std::string::npos) << m;
    EXPECT_NE(m.find("renaming"), std::string::npos) << m;
  }
  EXPECT_EQ(entries(), std::vector<std::string>{"occupied"});
  EXPECT_TRUE(fs::is_directory(target / "child"));
}

TEST_F(AtomicFileTest, WriterRefusesUseAfterCommit) {
  AtomicFileWriter writer((dir_ / "f").string());
  writer.commit();
  try {
    writer.write(bytes_of("late"));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("committed"), std::string::npos) << e.what();
  }
  EXPECT_THROW(writer.commit(), Error);
}

TEST_F(AtomicFileTest, PathWithoutDirectoryUsesTheCurrentOne) {
  auto previous = fs::current_path();
  fs::current_path(dir_);
  write_file_atomically("plain_name", bytes_of("here"));
  fs::current_path(previous);
  EXPECT_EQ(read(dir_ / "plain_name"), "here");
}

}  // namespace
}  // namespace detnn
