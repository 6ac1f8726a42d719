// The trial processes of `trainer sweep`: each trial is this same program run as
// `trainer --model ... --run-dir ...` (or `--resume`), so a trial is exactly a run, its crash
// never takes the sweep down, and its output goes to the sweep's logs/. A trial process dies with
// the sweep (PR_SET_PDEATHSIG): a killed sweep leaves no orphan training on, and --resume finds
// each trial where its last checkpoint left it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace trainer {

// Starts `arguments` (argv[0] included) as this executable, stdout and stderr appended to `log`.
pid_t start_trial_process(const std::vector<std::string>& arguments, const std::filesystem::path& log);

struct ExitedProcess {
  pid_t pid = -1;  // -1: none exited within the wait
  bool ok = false;  // exit status 0
  std::string how;  // "exit status 1", "killed by signal 9"
};

// Waits up to `milliseconds` for any child to exit.
ExitedProcess wait_for_trial_process(int milliseconds);

// The last non-empty line of a text file ("" if none): a failed trial's reason.
std::string last_line_of(const std::filesystem::path& file);

}  // namespace trainer
