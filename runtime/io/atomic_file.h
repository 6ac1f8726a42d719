// Crash-safe file replacement: a reader of `path` sees either the old content or the
// complete new content, never a partial file (checkpoints, safetensors, reports).
//
// How: write to a temporary file with a unique name in the same directory (so rename
// stays within one filesystem and is atomic), fsync it, rename it over `path`, then
// fsync the directory so the rename itself survives a power loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace detnn {

// Streams bytes into a temporary file and publishes them with commit(). Any failure
// removes the temporary file and throws Error(io) naming the path and the system's
// reason; the writer is then closed and further calls throw Error(invalid_argument).
// Destroying an uncommitted writer removes the temporary file and leaves `path` as it was.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);  // creates the temporary file
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::span<const uint8_t> bytes) { write(bytes.data(), bytes.size()); }
  void commit();  // fsync, close, rename over path, fsync the directory

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_path_; }
  bool committed() const { return committed_; }

 private:
  [[noreturn]] void fail(const std::string& step, int err);
  void discard() noexcept;  // closes and unlinks the temporary file
  void require_open(const char* operation) const;

  std::string path_;
  std::string temporary_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// One-shot form: replaces `path` with `bytes` atomically.
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace detnn
