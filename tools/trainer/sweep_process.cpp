#include "sweep_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "errors.h"

namespace trainer {

namespace fs = std::filesystem;

pid_t start_trial_process(const std::vector<std::string>& arguments, const fs::path& log) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw TrainerError("sweep: cannot find this program's path (/proc/self/exe): " + ec.message());
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw TrainerError("sweep: cannot open " + log.string() + ": " + std::strerror(errno));
  std::vector<char*> argv;
  for (const std::string& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw TrainerError(std::string("sweep: cannot start a trial process: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The child: die with the sweep (and if it is already gone, do not start).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
    ::execv(self.c_str(), argv.data());
    const std::string msg = std::string("trainer: sweep: cannot run ") + self.string() + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

ExitedProcess wait_for_trial_process(int milliseconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      ExitedProcess e;
      e.pid = pid;
      if (WIFEXITED(status)) {
        e.ok = WEXITSTATUS(status) == 0;
        e.how = "exit status " + std::to_string(WEXITSTATUS(status));
      } else if (WIFSIGNALED(status)) {
        e.how = "killed by signal " + std::to_string(WTERMSIG(status));
      }
      return e;
    }
    if (std::chrono::steady_clock::now() >= until) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string last_line_of(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

}  // namespace trainer
