#include "runtime/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "runtime/error.h"

namespace detnn {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? std::string(".") : dir;
}

// pid + a process-wide counter + clock bits: unique across threads and processes, and
// O_EXCL turns any remaining collision into a retry rather than a shared file.
std::string temporary_name_for(const std::string& path, unsigned attempt) {
  static std::atomic<uint64_t> counter{0};
  uint64_t ticks = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string((ticks ^ (attempt * 0x9e3779b97f4a7c15ull)) % 1000000007ull);
}

// Makes a completed rename durable. Some filesystems cannot fsync a directory and say
// EINVAL; the rename has still happened, so that one answer is not an error.
int fsync_directory(const std::string& dir) {
  int fd;
  do fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  int err = 0;
  if (::fsync(fd) != 0 && errno != EINVAL) err = errno;
  ::close(fd);
  return err;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  DETNN_CHECK(!path_.empty(), invalid_argument, "AtomicFileWriter: empty path");
  for (unsigned attempt = 0; attempt < 100; ++attempt) {
    temporary_path_ = temporary_name_for(path_, attempt);
    fd_ = ::open(temporary_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST && errno != EINTR) break;
  }
  int err = errno;
  DETNN_THROW(io, "cannot write '", path_, "': creating temporary file '", temporary_path_,
              "' failed: ", errno_text(err));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) discard();
}

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(temporary_path_.c_str());
  }
}

void AtomicFileWriter::fail(const std::string& step, int err) {
  discard();
  DETNN_THROW(io, "cannot write '", path_, "': ", step, " failed: ", errno_text(err));
}

void AtomicFileWriter::require_open(const char* operation) const {
  DETNN_CHECK(fd_ >= 0, invalid_argument, "AtomicFileWriter::", operation, " for '", path_,
              "': the writer is already ", committed_ ? "committed" : "closed after an error");
}

void AtomicFileWriter::write(const void* data, size_t size) {
  require_open("write");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t put = ::write(fd_, p, size);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      int err = put < 0 ? errno : EIO;  // read errno before building the message
      fail("writing temporary file '" + temporary_path_ + "'", err);
    }
    p += put;
    size -= static_cast<size_t>(put);
  }
}

void AtomicFileWriter::commit() {
  require_open("commit");
  if (::fsync(fd_) != 0) {
    int err = errno;
    fail("fsync of temporary file '" + temporary_path_ + "'", err);
  }
  // close() can report a deferred write error (NFS, quotas); the file is unusable then.
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temporary_path_.c_str());
    DETNN_THROW(io, "cannot write '", path_, "': closing temporary file '", temporary_path_,
                "' failed: ", errno_text(err));
  }
  if (::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary_path_.c_str());
    DETNN_THROW(io, "cannot write '", path_, "': renaming '", temporary_path_, "' over it failed: ",
                errno_text(err));
  }
  committed_ = true;
  std::string dir = directory_of(path_);
  if (int err = fsync_directory(dir))
    DETNN_THROW(io, "wrote '", path_, "' but could not fsync its directory '", dir, "': ", errno_text(err));
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

}  // namespace detnn
