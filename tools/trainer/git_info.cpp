#include "git_info.h"

#include <cstdio>
#include <string>

namespace trainer {

namespace {
// Runs a git command in `dir`; the trimmed output, or false when it fails.
bool git(const std::filesystem::path& dir, const std::string& args, std::string& out) {
  std::string quoted = "'";
  for (char c : dir.string()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string cmd = "git -C " + quoted + " " + args + " 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return false;
  out.clear();
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return rc == 0;
}
}  // namespace

nlohmann::json git_info_for(const std::filesystem::path& file) {
  const std::filesystem::path dir = std::filesystem::absolute(file).parent_path();
  std::string commit, status, root;
  if (!git(dir, "rev-parse HEAD", commit) || !git(dir, "rev-parse --show-toplevel", root)) return nullptr;
  git(dir, "status --porcelain --untracked-files=no", status);
  return {{"commit", commit}, {"dirty", !status.empty()}, {"root", root}};
}

}  // namespace trainer
