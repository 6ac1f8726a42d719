#include "run_compare.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "errors.h"
#include "run_files.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

RunOnDisk read_run(const fs::path& dir) {
  RunOnDisk run;
  run.dir = dir;
  for (const char* file : {"config.json", "manifest.json", "metrics.jsonl"})
    if (!fs::exists(dir / file))
      throw TrainerError(dir.string() + ": not a run directory (no " + file + ")");
  run.config = read_json_file(dir / "config.json");
  run.manifest = read_json_file(dir / "manifest.json");
  std::ifstream in(dir / "metrics.jsonl");
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      if (in.peek() == EOF) break;  // a torn last line of a killed run
      throw TrainerError((dir / "metrics.jsonl").string() + ":" + std::to_string(number) + ": not JSON");
    }
    const std::string type = j.value("type", "");
    if (type == "digest")
      run.digests[j.at("step").get<int64_t>()] = {j.at("loss").get<double>(), j.at("weights_digest").get<std::string>()};
    else if (type == "epoch" && j.contains("state_sha256"))
      run.epoch_states[j.at("step").get<int64_t>()] = j.at("state_sha256").get<std::string>();
  }
  return run;
}

std::vector<JsonDifference> json_differences(const json& a, const json& b, const std::string& path) {
  std::vector<JsonDifference> out;
  auto append = [&](std::vector<JsonDifference> more) { out.insert(out.end(), more.begin(), more.end()); };
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const std::string p = path.empty() ? key : path + "." + key;
      if (b.contains(key))
        append(json_differences(value, b.at(key), p));
      else
        out.push_back({p, value, nullptr});
    }
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) out.push_back({path.empty() ? key : path + "." + key, nullptr, value});
    return out;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) append(json_differences(a[i], b[i], path + "[" + std::to_string(i) + "]"));
    return out;
  }
  if (a != b) out.push_back({path, a, b});
  return out;
}

Divergence first_divergence(const std::map<int64_t, StepDigest>& a, const std::map<int64_t, StepDigest>& b) {
  Divergence d;
  for (const auto& [step, da] : a) {
    const auto it = b.find(step);
    if (it == b.end()) continue;
    ++d.common_steps;
    // The loss is compared as the float it was (JSON keeps it exactly).
    if (d.first_step < 0 && (da.weights_digest != it->second.weights_digest || da.loss != it->second.loss)) {
      d.first_step = step;
      d.a = da;
      d.b = it->second;
    }
  }
  return d;
}

namespace {

// Floats as integers in the order of their values, so |difference| counts ulps.
int64_t ordered(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : i;
}

}  // namespace

TensorDifference compare_values(const std::string& name, const float* a, const float* b, int64_t count) {
  TensorDifference d{name, count};
  for (int64_t i = 0; i < count; ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) == 0) continue;
    ++d.differing;
    d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(a[i]) - b[i]));
    const int64_t u = ordered(a[i]) - ordered(b[i]);
    d.max_ulps = std::max(d.max_ulps, static_cast<uint64_t>(u < 0 ? -u : u));
  }
  return d;
}

std::vector<TensorDifference> checkpoint_differences(const fs::path& a_path, const fs::path& b_path) {
  const api::CheckpointFile a(a_path.string()), b(b_path.string());
  std::map<std::string, api::CheckpointFile::Tensor> in_b;
  for (const auto& t : b.tensors()) in_b.emplace(t.name, t);
  std::vector<TensorDifference> out;
  for (const auto& ta : a.tensors()) {
    const auto it = in_b.find(ta.name);
    if (it == in_b.end()) {
      out.push_back({ta.name, ta.count, ta.count, 0, 0, "only in " + a_path.string()});
      continue;
    }
    const api::CheckpointFile::Tensor tb = it->second;  // a copy: the entry is erased next
    in_b.erase(it);
    if (ta.count != tb.count) {
      out.push_back({ta.name, ta.count, ta.count, 0, 0, "sizes differ"});
      continue;
    }
    const TensorDifference d = compare_values(ta.name, ta.values, tb.values, ta.count);
    if (d.differing > 0) out.push_back(d);
  }
  for (const auto& [name, t] : in_b) out.push_back({name, t.count, t.count, 0, 0, "only in " + b_path.string()});
  return out;
}

std::optional<fs::path> checkpoint_at_step(const fs::path& run, int64_t step) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run / "checkpoints", ec)) {
    if (entry.path().extension() != ".safetensors") continue;
    try {
      const auto saved = api::CheckpointFile(entry.path().string()).metadata("step");
      if (saved && std::stoll(*saved) == step) return entry.path();
    } catch (const std::exception&) {
      // An unreadable checkpoint is not the one asked for; the comparison says what it has.
    }
  }
  return std::nullopt;
}

std::string describe(const JsonDifference& d) { return d.path + ": " + d.a.dump() + " vs " + d.b.dump(); }

std::string describe(const TensorDifference& d) {
  if (!d.note.empty()) return d.name + ": " + d.note;
  char text[256];
  std::snprintf(text, sizeof text, "%s: %lld of %lld elements differ, max |diff| %.3g, max %llu ulps", d.name.c_str(),
                static_cast<long long>(d.differing), static_cast<long long>(d.elements), d.max_abs,
                static_cast<unsigned long long>(d.max_ulps));
  return text;
}

}  // namespace trainer
