#include "torch_compare.h"

#include <sys/wait.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

namespace detnn::bench {

namespace {
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The last non-empty line of a file ("" when there is none).
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}
}  // namespace

std::vector<TorchResult> run_torch_reference(const std::string& script, const std::string& model_file,
                                             const std::string& device, int steps, int warmup, std::string& note) {
  std::vector<TorchResult> out;
  if (std::system("python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    note = "PyTorch is not importable here (python3 -c 'import torch' failed)";
    return out;
  }
  // Its stderr goes to a file: the last line says why it failed (a traceback's last line).
  char errors[] = "/tmp/detnn-torch-reference-XXXXXX";
  const int fd = ::mkstemp(errors);
  if (fd >= 0) ::close(fd);
  const std::string cmd = "python3 " + quoted(script) + " --model " + quoted(model_file) + " --device " +
                          quoted(device) + " --steps " + std::to_string(steps) + " --warmup " +
                          std::to_string(warmup) + " 2>" + (fd >= 0 ? quoted(errors) : std::string("/dev/null"));
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    note = "could not start python3";
    return out;
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  const std::string why = fd >= 0 ? last_line(errors) : "";
  if (fd >= 0) ::unlink(errors);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    note = "bench/torch_reference.py failed" + (why.empty() ? std::string(" (run it by hand to see why)") : ": " + why);
    return out;
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("results")) {
    note = "bench/torch_reference.py printed no JSON result";
    return out;
  }
  for (const auto& r : j["results"]) {
    TorchResult t{r.value("mode", ""), r.value("ms_per_step", 0.0), r.value("images_per_s", 0.0),
                  r.value("error", ""), {}};
    if (r.contains("nondeterministic_ops") && r["nondeterministic_ops"].is_array())
      for (const auto& op : r["nondeterministic_ops"])
        if (op.is_string()) t.nondeterministic_ops.push_back(op.get<std::string>());
    out.push_back(t);
  }
  note = j.value("note", "");
  return out;
}

}  // namespace detnn::bench
