#include "run_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "errors.h"
#include "tensorboard_writer.h"

namespace trainer {

namespace {
[[noreturn]] void io_fail(const std::filesystem::path& path, const std::string& what) {
  throw IoError(path.string() + ": " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail(path, "cannot write");
    }
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail(tmp, "cannot create");
  try {
    write_all(fd, contents, tmp);
    if (::fsync(fd) != 0) io_fail(tmp, "cannot sync");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    io_fail(path, "cannot rename the temporary file into place");
  }
  // The rename itself is durable once the directory is synced.
  const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_json_atomically(const std::filesystem::path& path, const nlohmann::json& value) {
  write_file_atomically(path, value.dump(2) + "\n");
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's text, less its "[json.exception.parse_error.101] " prefix: the byte is what helps.
    const std::string what = e.what();
    const size_t at = what.find("] ");
    throw IoError(path.string() + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                  (at == std::string::npos ? what : what.substr(at + 2)));
  } catch (const nlohmann::json::exception&) {
    throw IoError(path.string() + ": not valid JSON (a number out of range or a nesting too deep)");
  }
}

MetricsLog::MetricsLog(const std::filesystem::path& path, long long keep_until_step) : path_(path) {
  if (keep_until_step >= 0 && std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) break;  // a torn last line from a killed run
      if (j.value("step", 0LL) > keep_until_step) break;
      kept += line + "\n";
    }
    write_file_atomically(path, kept);
  }
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) io_fail(path, "cannot open for appending");
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& line) {
  const std::string s = line.dump() + "\n";
  if (std::fwrite(s.data(), 1, s.size(), file_) != s.size()) io_fail(path_, "cannot write");
  std::fflush(file_);
  if (tensorboard_ != nullptr) tensorboard_->metrics_line(line);
}

void MetricsLog::sync() {
  std::fflush(file_);
  if (::fsync(::fileno(file_)) != 0) io_fail(path_, "cannot sync");
  if (tensorboard_ != nullptr) tensorboard_->flush();
}

ConsoleLog::ConsoleLog(const std::filesystem::path& path) {
  if (!path.empty()) {
    file_ = std::fopen(path.c_str(), "a");
    if (file_ == nullptr) io_fail(path, "cannot open");
  }
  tty_ = ::isatty(STDOUT_FILENO) == 1;
}

ConsoleLog::~ConsoleLog() {
  if (progress_shown_) std::fputs("\n", stdout);
  if (file_ != nullptr) std::fclose(file_);
}

void ConsoleLog::line(const std::string& text) {
  if (progress_shown_) std::fputs("\r\033[K", stdout), progress_shown_ = false;
  std::fputs((text + "\n").c_str(), stdout);
  std::fflush(stdout);
  if (file_ != nullptr) {
    std::fputs((text + "\n").c_str(), file_);
    std::fflush(file_);
  }
}

void ConsoleLog::progress(const std::string& text) {
  if (!tty_) return;
  std::fputs(("\r\033[K" + text).c_str(), stdout);
  std::fflush(stdout);
  progress_shown_ = true;
}

void ConsoleLog::error(const std::string& text) {
  if (progress_shown_) std::fputs("\n", stdout), progress_shown_ = false;
  std::fputs((text + "\n").c_str(), stderr);
  if (file_ != nullptr) {
    std::fputs((text + "\n").c_str(), file_);
    std::fflush(file_);
  }
}

namespace {
std::string format_utc(const char* fmt) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
}  // namespace

std::string utc_timestamp() { return format_utc("%Y-%m-%dT%H:%M:%SZ"); }
std::string compact_timestamp() { return format_utc("%Y%m%d-%H%M%S"); }

RunLock::RunLock(const std::filesystem::path& run_dir) {
  const std::filesystem::path path = run_dir / "lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) io_fail(path, "cannot open the run's lock file");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[256] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    throw TrainerError("refusing to train " + run_dir.string() + ": it is being trained by " + who + " (lock " +
                       path.string() + ")");
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string me = "pid " + std::to_string(::getpid()) + " on host " + host + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size()))
    io_fail(path, "cannot write the run's lock file");
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::filesystem::path make_scratch_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) io_fail(pattern, "cannot create a scratch folder");
  return pattern;
}

}  // namespace trainer
