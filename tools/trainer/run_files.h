// Files of a run directory, written so that a crash never leaves a torn file: whole files go
// through a temporary file, fsync and rename; metrics.jsonl is appended line by line and synced
// at every epoch end.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace trainer {

// Thrown for I/O failures; main prints it as the one-line reason and exits non-zero.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void write_file_atomically(const std::filesystem::path& path, const std::string& contents);
void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& value);
nlohmann::json read_json_file(const std::filesystem::path& path);
// The whole file as bytes; IoError "<path>: cannot open" when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

class TensorBoardWriter;

// metrics.jsonl: one JSON object per line.
class MetricsLog {
 public:
  // Opens for appending; with `keep_until_step` >= 0 (a resume) first drops the lines written
  // after that step (they are redone by the resumed run, with the same values).
  MetricsLog(const std::filesystem::path& path, long long keep_until_step = -1);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& line);
  void sync();  // flush and fsync
  // Every line written also goes to TensorBoard's event file as scalars (nullptr: none).
  void mirror_to(TensorBoardWriter* tensorboard) { tensorboard_ = tensorboard; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  TensorBoardWriter* tensorboard_ = nullptr;
};

// Everything the console shows also goes to console.log in the run directory.
class ConsoleLog {
 public:
  // An empty path: the terminal only (ranks that write no run directory).
  explicit ConsoleLog(const std::filesystem::path& path);
  ~ConsoleLog();
  void line(const std::string& text);          // stdout + file
  void progress(const std::string& text);      // terminal only: redraws one status line
  void error(const std::string& text);         // stderr + file
  bool is_terminal() const { return tty_; }

 private:
  std::FILE* file_ = nullptr;
  bool tty_ = false;
  bool progress_shown_ = false;
};

// UTC time as "2026-11-27T16:03:23Z" and as "20261127-160323" (for directory names).
std::string utc_timestamp();
// The lock a training process holds on its run directory (an flock on RUN/lock, released by the
// OS when the process ends, however it ends): a second trainer on the same directory is refused
// naming the holder's pid and host.
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// A new, empty, uniquely named folder under the system's temp folder ("<prefix>-XXXXXX"): two
// processes started in the same second never share one.
std::filesystem::path make_scratch_dir(const std::string& prefix);
std::string compact_timestamp();

}  // namespace trainer
