#include "torch_compare.h"

#include <sys/wait.h>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace detnn::bench {

namespace {
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::vector<TorchResult> run_torch_reference(const std::string& script, const std::string& model_file,
                                             const std::string& device, int steps, int warmup, std::string& note) {
  std::vector<TorchResult> out;
  if (std::system("python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    note = "PyTorch is not importable here (python3 -c 'import torch' failed)";
    return out;
  }
  const std::string cmd = "python3 " + quoted(script) + " --model " + quoted(model_file) + " --device " +
                          quoted(device) + " --steps " + std::to_string(steps) + " --warmup " +
                          std::to_string(warmup) + " 2>/dev/null";
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
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    note = "bench/torch_reference.py failed (run it by hand to see why)";
    return out;
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("results")) {
    note = "bench/torch_reference.py printed no JSON result";
    return out;
  }
  for (const auto& r : j["results"])
    out.push_back({r.value("mode", ""), r.value("ms_per_step", 0.0), r.value("images_per_s", 0.0)});
  note = j.value("note", "");
  return out;
}

}  // namespace detnn::bench
